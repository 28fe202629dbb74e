import NIOConcurrencyHelpers
import NIOCore

/// Counts open client connections, per client address and in all, so that one device cannot
/// take every socket and shutdown knows what it is waiting for.
final class ConnectionTracker: Sendable {
    private struct State {
        var perClient: [String: Int] = [:]
        var open: [ObjectIdentifier: Channel] = [:]
    }

    private let state = NIOLockedValueBox(State())
    let limitPerClient: Int

    init(limitPerClient: Int) { self.limitPerClient = limitPerClient }

    /// Registers a new connection; false when its client already has as many as allowed.
    private func admit(_ channel: Channel) -> Bool {
        let client = channel.remoteAddress?.ipAddress ?? "?"
        return state.withLockedValue { state in
            guard state.perClient[client, default: 0] < limitPerClient else { return false }
            state.perClient[client, default: 0] += 1
            state.open[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    private func release(_ channel: Channel) {
        let client = channel.remoteAddress?.ipAddress ?? "?"
        state.withLockedValue { state in
            guard state.open.removeValue(forKey: ObjectIdentifier(channel)) != nil else { return }
            let remaining = state.perClient[client, default: 1] - 1
            state.perClient[client] = remaining > 0 ? remaining : nil
        }
    }

    /// Admits a connection as its pipeline is built, or throws (and the channel is closed);
    /// the connection is released when it closes. Done without a handler in the pipeline, where
    /// every read and write of the connection would pass through it.
    func admitUntilClosed(_ channel: Channel) throws {
        guard admit(channel) else { throw ConnectionLimitReached() }
        channel.closeFuture.whenComplete { [self] _ in release(channel) }
    }

    struct ConnectionLimitReached: Error {}

    var openConnections: [Channel] { state.withLockedValue { Array($0.open.values) } }
    public var openCount: Int { state.withLockedValue { $0.open.count } }
}
