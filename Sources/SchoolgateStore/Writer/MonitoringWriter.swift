import Foundation
import Logging
import SchoolgatePolicy
import Synchronization

/// Takes visits and incident sightings from the proxy without ever making it wait, and writes
/// them to the store in batches from a background task.
///
/// Visits wait in a bounded queue. If the store falls so far behind that the queue is full, new
/// visits are dropped, and every drop is counted, logged (once a batch) and exposed in `stats`:
/// the proxy keeps filtering, and the gap is visible. Incident sightings are never dropped: they
/// have a queue of their own with no bound (they are rare: one per flagged hit), and a batch that
/// fails to write is kept and retried, its sightings first.
public final class MonitoringWriter: Sendable {
    public struct Stats: Sendable, Equatable {
        public var queuedVisits = 0
        public var queuedSightings = 0
        public var droppedVisits = 0
        public var writtenVisits = 0
        public var writtenSightings = 0
        public var failedBatches = 0
        /// The most recent write failed (and is being retried): the health check reports it.
        public var lastWriteFailed = false
    }

    private struct State {
        var visits: [Visit] = []
        var sightings: [IncidentSighting] = []
        var stats = Stats()
        var droppedSinceLog = 0
    }

    private let store: any MonitoringStore
    private let capacity: Int
    private let batchSize: Int
    private let foldWindow: TimeInterval
    private let logger: Logger
    private let state = Mutex(State())
    /// Called with the incident ids a batch stored, after its transaction committed.
    private let onStored: (@Sendable ([Int64]) -> Void)?

    public init(store: any MonitoringStore, capacity: Int = 200_000, batchSize: Int = 5_000, foldWindow: TimeInterval = 3_600,
                logger: Logger, onStored: (@Sendable ([Int64]) -> Void)? = nil) {
        self.store = store
        self.capacity = capacity
        self.batchSize = batchSize
        self.foldWindow = foldWindow
        self.logger = logger
        self.onStored = onStored
    }

    /// Never blocks beyond a short lock.
    public func submit(_ visit: Visit?, sighting: IncidentSighting? = nil) {
        state.withLock { state in
            if let sighting {
                state.sightings.append(sighting)
                state.stats.queuedSightings = state.sightings.count
            }
            guard let visit else { return }
            if state.visits.count >= capacity {
                state.stats.droppedVisits += 1
                state.droppedSinceLog += 1
            } else {
                state.visits.append(visit)
                state.stats.queuedVisits = state.visits.count
            }
        }
    }

    public var stats: Stats { state.withLock { $0.stats } }

    /// Writes until cancelled, then drains what is left.
    public func run(interval: Duration = .milliseconds(200)) async {
        while !Task.isCancelled {
            let wrote = await writeBatch()
            if !wrote { try? await Task.sleep(for: interval) }
        }
        await drain()
    }

    /// Writes everything queued now (at shutdown, or in tests).
    public func drain() async {
        var attempts = 0
        while attempts < 50 {
            let pending = state.withLock { !$0.visits.isEmpty || !$0.sightings.isEmpty }
            guard pending else { return }
            if !(await writeBatch()) {
                attempts += 1
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// One batch; true when something was written.
    private func writeBatch() async -> Bool {
        let (visits, sightings, dropped) = state.withLock { state -> ([Visit], [IncidentSighting], Int) in
            let visits = Array(state.visits.prefix(batchSize))
            state.visits.removeFirst(visits.count)
            let sightings = state.sightings
            state.sightings.removeAll()
            let dropped = state.droppedSinceLog
            state.droppedSinceLog = 0
            state.stats.queuedVisits = state.visits.count
            state.stats.queuedSightings = 0
            return (visits, sightings, dropped)
        }
        if dropped > 0 {
            logger.error("monitoring store is behind: \(dropped) visit records were dropped (queue of \(capacity) full)")
        }
        guard !visits.isEmpty || !sightings.isEmpty else { return false }
        do {
            // Detached: a batch taken from the queue is committed even when the writer is being
            // cancelled (at shutdown), rather than refused by the store and retried.
            let store = store, foldWindow = foldWindow
            let ids = try await Task.detached { try await store.record(visits: visits, sightings: sightings, foldWindow: foldWindow) }.value
            state.withLock {
                $0.stats.writtenVisits += visits.count
                $0.stats.writtenSightings += sightings.count
                $0.stats.lastWriteFailed = false
            }
            onStored?(ids)
            return true
        } catch {
            logger.error("monitoring store write failed, will retry: \(error)")
            state.withLock { state in
                state.stats.failedBatches += 1
                state.stats.lastWriteFailed = true
                state.sightings.insert(contentsOf: sightings, at: 0)
                // Visits go back in front if there is room; what does not fit is counted as dropped.
                let room = max(0, capacity - state.visits.count)
                state.visits.insert(contentsOf: visits.prefix(room), at: 0)
                state.stats.droppedVisits += max(0, visits.count - room)
                state.stats.queuedVisits = state.visits.count
                state.stats.queuedSightings = state.sightings.count
            }
            return false
        }
    }
}
