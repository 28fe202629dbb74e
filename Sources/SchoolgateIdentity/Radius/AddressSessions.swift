import Foundation
import SchoolgatePolicy
import Synchronization

/// Who is signed in at which address: Wi-Fi logins learnt from RADIUS accounting, and fixed
/// assignments from the config for devices that cannot sign in at all.
public final class AddressSessions: Sendable {
    public struct Session: Sendable, Equatable {
        public var user: String
        public var device: String?
        public var expires: Date
    }

    private struct State {
        var sessions: [String: Session] = [:]
        /// Most specific first.
        var fixed: [(range: AddressRange, user: String)] = []
    }

    private let state = Mutex(State())
    /// How long a session lasts without an Interim-Update or Stop (a controller that died).
    private let defaultLifetime: TimeInterval

    public init(defaultLifetime: TimeInterval = 8 * 3_600) {
        self.defaultLifetime = defaultLifetime
    }

    public func replaceFixed(_ fixed: [(range: AddressRange, user: String)]) {
        let sorted = fixed.sorted { $0.range.prefixLength > $1.range.prefixLength }
        state.withLock { $0.fixed = sorted }
    }

    /// Applies one accounting message; returns what changed, for the log.
    @discardableResult
    public func apply(_ packet: RadiusAccountingPacket, at now: Date) -> String {
        switch packet.status {
        case .start?, .interimUpdate?:
            guard let address = packet.framedIPAddress, let user = packet.userName, !user.isEmpty else { return "ignored: no address or user" }
            // Twice the interim interval, so one lost update does not end a session.
            let lifetime = packet.interimInterval.map { max(TimeInterval($0) * 2, 120) } ?? defaultLifetime
            state.withLock { $0.sessions[address] = Session(user: user.lowercased(), device: packet.callingStationID, expires: now + lifetime) }
            return "session at an address"
        case .stop?:
            guard let address = packet.framedIPAddress else { return "ignored: no address" }
            state.withLock { state in
                if let user = packet.userName?.lowercased(), state.sessions[address]?.user != user { return }
                state.sessions[address] = nil
            }
            return "session ended"
        case .accountingOn?, .accountingOff?:
            // The controller restarted: every session it knew is over.
            state.withLock { $0.sessions.removeAll() }
            return "all sessions ended (controller restart)"
        case nil:
            return "ignored: no status type"
        }
    }

    /// The user at `address` now: a live Wi-Fi session first, then a fixed assignment.
    public func user(at address: String, now: Date) -> String? {
        state.withLock { state in
            if let session = state.sessions[address] {
                if session.expires > now { return session.user }
                state.sessions[address] = nil
            }
            guard !state.fixed.isEmpty, let bytes = AddressRange.parseAddress(address) else { return nil }
            return state.fixed.first { $0.range.contains(bytes) }?.user
        }
    }

    public var sessionCount: Int { state.withLock { $0.sessions.count } }
}
