import NIOCore
import SchoolgatePolicy

/// Where an upstream connection goes: the name or address it was opened to, and the port.
struct UpstreamTarget: Hashable {
    var host: HostName
    var port: Int
}

/// Upstream connections left open after a complete response, kept on their event loop for the
/// next request to the same origin from any client, as Squid and Traffic Server keep theirs: a
/// device that opens a connection per request (many phones and apps do) would otherwise cost a
/// TCP handshake with the origin each time.
///
/// HTTP/1.1 requests carry their own credentials, so sharing a connection shares nothing of
/// one user with another. Connection-oriented authentication (NTLM, Negotiate) is the
/// exception: such a connection is pinned to its client and never comes here (see
/// `UpstreamResponseRelay.pinned`).
final class UpstreamPool {
    private struct Entry {
        var channel: Channel
        var relay: UpstreamResponseRelay
        var since: NIODeadline
    }

    /// A target's connections, newest last (the most recently used is the likeliest still to
    /// be open). A class, so that taking and putting one mutates the list through a reference:
    /// mutating an array inside a dictionary goes through accessors that allocated each time.
    private final class Entries {
        var list: [Entry] = []
    }

    private var idle: [UpstreamTarget: Entries] = [:]
    private(set) var count = 0
    let limit: Int
    /// Origins close idle connections sooner or later; one no request has wanted for this long
    /// is a socket held for nothing.
    let maximumIdleTime: TimeAmount

    init(eventLoop: EventLoop, limit: Int = 256, maximumIdleTime: TimeAmount) {
        self.limit = limit
        self.maximumIdleTime = maximumIdleTime
        let sweepEvery = TimeAmount.nanoseconds(maximumIdleTime.nanoseconds / 2)
        // The task holds the pool weakly: it ends with the pool's event loop.
        let loopBound = NIOLoopBound(WeakBox(self), eventLoop: eventLoop)
        eventLoop.scheduleRepeatedTask(initialDelay: sweepEvery, delay: sweepEvery) { task in
            guard let pool = loopBound.value.pool else { return task.cancel() }
            pool.closeIdle(before: .now() - pool.maximumIdleTime)
        }
    }

    /// The newest open connection to `target`, taken out of the pool. A target's list stays in
    /// the dictionary when it empties (the sweep drops it later): the usual take and put of one
    /// connection then allocate nothing.
    func take(_ target: UpstreamTarget) -> (channel: Channel, relay: UpstreamResponseRelay)? {
        guard let entries = idle[target] else { return nil }
        while let entry = entries.list.popLast() {
            count -= 1
            if entry.channel.isActive { return (entry.channel, entry.relay) }
        }
        return nil
    }

    /// Keeps a connection whose response has ended, closing the longest idle one when full.
    func put(_ channel: Channel, relay: UpstreamResponseRelay, for target: UpstreamTarget, now: NIODeadline = .now()) {
        let entries = idle[target] ?? {
            let entries = Entries()
            idle[target] = entries
            return entries
        }()
        entries.list.append(Entry(channel: channel, relay: relay, since: now))
        count += 1
        if count > limit, let oldest = idle.values.lazy.compactMap(\.list.first).min(by: { $0.since < $1.since }) {
            remove(oldest.channel)
            oldest.channel.close(promise: nil)
        }
    }

    /// Forgets a connection (the origin closed it while it waited here).
    func remove(_ channel: Channel) {
        for entries in idle.values {
            guard let index = entries.list.firstIndex(where: { $0.channel === channel }) else { continue }
            entries.list.remove(at: index)
            count -= 1
            return
        }
    }

    func closeIdle(before deadline: NIODeadline) {
        var stale: [Channel] = []
        for (target, entries) in idle where entries.list.first.map({ $0.since < deadline }) ?? true {
            stale += entries.list.lazy.filter { $0.since < deadline }.map(\.channel)
            entries.list.removeAll { $0.since < deadline }
            if entries.list.isEmpty { idle[target] = nil }
        }
        count -= stale.count
        for channel in stale { channel.close(promise: nil) }
    }

    private final class WeakBox {
        weak var pool: UpstreamPool?
        init(_ pool: UpstreamPool) { self.pool = pool }
    }
}

/// One pool per event loop of the proxy's group, made on first use on that loop.
final class UpstreamPools: Sendable {
    private let boxes: [ObjectIdentifier: NIOLoopBoundBox<UpstreamPool?>]

    private let maximumIdleTime: TimeAmount

    init(_ group: EventLoopGroup, maximumIdleTime: TimeAmount) {
        self.maximumIdleTime = maximumIdleTime
        var boxes: [ObjectIdentifier: NIOLoopBoundBox<UpstreamPool?>] = [:]
        for loop in group.makeIterator() {
            boxes[ObjectIdentifier(loop)] = .makeEmptyBox(valueType: UpstreamPool.self, eventLoop: loop)
        }
        self.boxes = boxes
    }

    /// The pool of `eventLoop`; called on that loop.
    func pool(on eventLoop: EventLoop) -> UpstreamPool {
        // Every client channel the proxy accepts lives on a loop of its own group.
        guard let box = boxes[ObjectIdentifier(eventLoop)] else { preconditionFailure("an event loop outside the proxy's group") }
        if let pool = box.value { return pool }
        let pool = UpstreamPool(eventLoop: eventLoop, maximumIdleTime: maximumIdleTime)
        box.value = pool
        return pool
    }
}
