import Crypto
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// What a password check found.
public enum CredentialCheck: Sendable, Equatable {
    case valid(user: String, directoryGroups: [String])
    case invalid
    /// The account exists but may not sign in (disabled in the directory).
    case locked
}

/// Checks one user's password. Blocking (a slow hash, a directory bind): the verifier runs it on
/// a thread pool. Throws when it cannot answer at all (the directory is down).
public protocol CredentialChecker: Sendable {
    func check(user: String, password: String) throws -> CredentialCheck
}

/// The local users file as a checker.
public struct LocalUsersChecker: CredentialChecker {
    public let users: UsersFile
    /// Checked for names not in the file, so a guesser cannot tell them apart by timing.
    private let decoy: PasswordHash?

    public init(users: UsersFile) {
        self.users = users
        self.decoy = users.users.first?.hash
    }

    public func check(user: String, password: String) throws -> CredentialCheck {
        guard let hash = users.hash(for: user) else {
            _ = decoy?.verify(password)
            return .invalid
        }
        return hash.verify(password) ? .valid(user: user.lowercased(), directoryGroups: []) : .invalid
    }
}

/// `Proxy-Authorization: Basic …` decoded (RFC 7617). The password is never logged or kept.
public struct BasicCredentials: Sendable, Equatable {
    public var user: String
    public var password: String

    public init?(header: String) {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let data = Data(base64Encoded: parts[1].trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        user = String(text[..<colon])
        password = String(text[text.index(after: colon)...])
        guard !user.isEmpty else { return nil }
    }
}

/// Verifies proxy credentials off the event loop, remembers good ones for a while (browsers send
/// them with every request), and slows down guessing by refusing a client address that has
/// failed too often lately.
public final class CredentialVerifier: Sendable {
    public enum Outcome: Sendable, Equatable {
        case verified(user: String, directoryGroups: [String])
        case rejected
        /// Too many failures from this address lately: refused without checking.
        case rateLimited
        /// The checker could not answer (directory down).
        case unavailable
    }

    public struct Settings: Sendable {
        public var cacheFor: TimeInterval = 15 * 60
        public var maxFailures = 10
        public var failureWindow: TimeInterval = 5 * 60

        public init() {}
    }

    private struct Cached {
        var user: String
        var directoryGroups: [String]
        var expires: Date
    }

    private struct State {
        var checker: any CredentialChecker
        var cache: [SHA256Digest: Cached] = [:]
        var failures: [String: [Date]] = [:]
    }

    private let state: Mutex<State>
    private let settings: Settings
    private let pool: NIOThreadPool
    private let now: @Sendable () -> Date

    public init(checker: any CredentialChecker, settings: Settings = Settings(), pool: NIOThreadPool, now: @escaping @Sendable () -> Date = Date.init) {
        self.state = Mutex(State(checker: checker))
        self.settings = settings
        self.pool = pool
        self.now = now
    }

    /// A new users file or directory (a reload): cached verdicts from the old one are forgotten.
    public func replaceChecker(_ checker: any CredentialChecker) {
        state.withLock {
            $0.checker = checker
            $0.cache = [:]
        }
    }

    /// The answer for a header seen and verified recently, without touching the thread pool.
    public func cached(header: String) -> Outcome? {
        cached(key: SHA256.hash(data: Data(header.utf8)))
    }

    private func cached(key: SHA256Digest) -> Outcome? {
        let instant = now()
        return state.withLock { state in
            guard let hit = state.cache[key] else { return nil }
            if hit.expires <= instant {
                state.cache[key] = nil
                return nil
            }
            return .verified(user: hit.user, directoryGroups: hit.directoryGroups)
        }
    }

    /// A header verified recently answers at once (an already-completed future, so the caller
    /// goes on in the same turn of the event loop); otherwise the checker runs on the pool.
    public func verify(header: String, client: String, on eventLoop: EventLoop) -> EventLoopFuture<Outcome> {
        let key = SHA256.hash(data: Data(header.utf8))
        if let hit = cached(key: key) { return eventLoop.makeSucceededFuture(hit) }
        let instant = now()
        let (limited, checker) = state.withLock { state -> (Bool, any CredentialChecker) in
            let recent = (state.failures[client] ?? []).filter { instant.timeIntervalSince($0) < settings.failureWindow }
            state.failures[client] = recent.isEmpty ? nil : recent
            return (recent.count >= settings.maxFailures, state.checker)
        }
        if limited { return eventLoop.makeSucceededFuture(.rateLimited) }
        guard let credentials = BasicCredentials(header: header) else {
            noteFailure(client)
            return eventLoop.makeSucceededFuture(.rejected)
        }
        return pool.runIfActive(eventLoop: eventLoop) { () -> Outcome in
            do {
                switch try checker.check(user: credentials.user, password: credentials.password) {
                case .valid(let user, let groups):
                    let expires = self.now().addingTimeInterval(self.settings.cacheFor)
                    self.state.withLock { $0.cache[key] = Cached(user: user, directoryGroups: groups, expires: expires) }
                    return .verified(user: user, directoryGroups: groups)
                case .invalid, .locked:
                    self.noteFailure(client)
                    return .rejected
                }
            } catch {
                return .unavailable
            }
        }
    }

    private func noteFailure(_ client: String) {
        let instant = now()
        state.withLock { $0.failures[client, default: []].append(instant) }
    }
}
