import Foundation
import NIOPosix
import Synchronization
import Testing
@testable import SchoolgateIdentity
@testable import SchoolgatePolicy

struct CredentialVerifierTests {
    /// Counts checks, so the cache can be seen working.
    final class CountingChecker: CredentialChecker {
        let calls = Mutex(0)
        func check(user: String, password: String) throws -> CredentialCheck {
            calls.withLock { $0 += 1 }
            return user == "ada" && password == "right" ? .valid(user: "ada", directoryGroups: ["Staff"]) : user == "old" ? .locked : .invalid
        }
    }

    func header(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test func verifiesOnThePoolAndThenAnswersFromTheCacheUntilItExpires() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }
        let clock = Mutex(Date(timeIntervalSince1970: 1_000_000))
        let checker = CountingChecker()
        var settings = CredentialVerifier.Settings()
        settings.cacheFor = 60
        let verifier = CredentialVerifier(checker: checker, settings: settings, pool: pool, now: { clock.withLock { $0 } })
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        #expect(verifier.cached(header: header("ada", "right")) == nil)
        #expect(try await verifier.verify(header: header("ada", "right"), client: "10.0.0.1", on: loop).get() == .verified(user: "ada", directoryGroups: ["Staff"]))
        #expect(verifier.cached(header: header("ada", "right")) == .verified(user: "ada", directoryGroups: ["Staff"]))
        #expect(try await verifier.verify(header: header("ada", "right"), client: "10.0.0.1", on: loop).get() == .verified(user: "ada", directoryGroups: ["Staff"]))
        #expect(checker.calls.withLock { $0 } == 1)
        clock.withLock { $0 += 61 }
        #expect(verifier.cached(header: header("ada", "right")) == nil)
        #expect(try await verifier.verify(header: header("old", "x"), client: "10.0.0.1", on: loop).get() == .rejected, "a locked account is refused")
        #expect(try await verifier.verify(header: "Basic !!!", client: "10.0.0.1", on: loop).get() == .rejected)
        #expect(try await verifier.verify(header: "Negotiate abc", client: "10.0.0.1", on: loop).get() == .rejected)
    }

    @Test func limitsFailuresPerAddressWithinTheWindow() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }
        let clock = Mutex(Date(timeIntervalSince1970: 1_000_000))
        var settings = CredentialVerifier.Settings()
        settings.maxFailures = 2
        settings.failureWindow = 300
        let verifier = CredentialVerifier(checker: CountingChecker(), settings: settings, pool: pool, now: { clock.withLock { $0 } })
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        func attempt(_ password: String, from client: String = "10.0.0.9") async throws -> CredentialVerifier.Outcome {
            try await verifier.verify(header: header("ada", password), client: client, on: loop).get()
        }
        #expect(try await attempt("a") == .rejected)
        #expect(try await attempt("b") == .rejected)
        #expect(try await attempt("right") == .rateLimited)
        #expect(try await attempt("right", from: "10.0.0.10") == .verified(user: "ada", directoryGroups: ["Staff"]), "other devices are unaffected")
        clock.withLock { $0 += 301 }
        #expect(try await attempt("right") == .verified(user: "ada", directoryGroups: ["Staff"]), "the window passes")
    }

    @Test func decodesBasicCredentialsWithColonsInThePassword() {
        let credentials = BasicCredentials(header: header("ada", "pa:ss word"))
        #expect(credentials?.user == "ada" && credentials?.password == "pa:ss word")
        #expect(BasicCredentials(header: header("", "x")) == nil)
    }
}
