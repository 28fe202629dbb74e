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
    func admit(_ channel: Channel) -> Bool {
        let client = channel.remoteAddress?.ipAddress ?? "?"
        return state.withLockedValue { state in
            guard state.perClient[client, default: 0] < limitPerClient else { return false }
            state.perClient[client, default: 0] += 1
            state.open[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func release(_ channel: Channel) {
        let client = channel.remoteAddress?.ipAddress ?? "?"
        state.withLockedValue { state in
            guard state.open.removeValue(forKey: ObjectIdentifier(channel)) != nil else { return }
            let remaining = state.perClient[client, default: 1] - 1
            state.perClient[client] = remaining > 0 ? remaining : nil
        }
    }

    var openConnections: [Channel] { state.withLockedValue { Array($0.open.values) } }
    public var openCount: Int { state.withLockedValue { $0.open.count } }
}

/// First in every client pipeline: admits the connection or closes it at once.
final class ConnectionLimitHandler: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let tracker: ConnectionTracker
    private var admitted = false

    init(tracker: ConnectionTracker) { self.tracker = tracker }

    func channelActive(context: ChannelHandlerContext) {
        admitted = tracker.admit(context.channel)
        if admitted { context.fireChannelActive() } else { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if admitted { tracker.release(context.channel) }
        context.fireChannelInactive()
    }
}
