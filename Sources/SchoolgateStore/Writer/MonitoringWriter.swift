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
///
/// Each batch is as large as the queue (up to `batchSize`), urgent or not: a visit lands in its
/// user's part of the (subject, time) index, so a commit writes a page per user in it, and with
/// 1,000 users batches of 1,000 visits cost a page write a visit. A background batch may be
/// starved of CPU; anything urgent makes the store give it up (`yieldBackgroundBatch`) rather
/// than wait it out, so its size does not hold an incident up, and one starved for over a
/// second gives up of its own accord and is sent again promptly.
public final class MonitoringWriter: Sendable {
    public struct Stats: Sendable, Equatable {
        public var queuedVisits = 0
        public var queuedSightings = 0
        public var droppedVisits = 0
        public var writtenVisits = 0
        public var writtenSightings = 0
        public var failedBatches = 0
        /// Batches written on idle CPU, and batches written promptly (an incident, or a backlog).
        public var backgroundBatches = 0
        public var promptBatches = 0
        /// Background batches given up, unwritten, for something urgent or for want of CPU, and
        /// written again.
        public var yieldedBatches = 0
        /// The most recent write failed (and is being retried): the health check reports it.
        public var lastWriteFailed = false
    }

    private struct State {
        var visits: [Visit] = []
        var sightings: [IncidentSighting] = []
        var stats = Stats()
        var droppedSinceLog = 0
        /// Visits the writer has taken from the queue and not yet stored: part of the backlog.
        var takenUnwritten = 0
    }

    private let store: any MonitoringStore
    private let capacity: Int
    private let batchSize: Int
    private let foldWindow: TimeInterval
    private let logger: Logger
    private let state = Mutex(State())
    /// Called with the incident ids a batch stored, after its transaction committed.
    private let onStored: (@Sendable ([Int64]) -> Void)?
    /// Called once a backlog has been written and freed (`FreedMemory`; tests count the calls).
    private let backlogFreed: @Sendable () -> Void

    /// The most visits one transaction takes; a batch this full means the queue was deeper.
    public static let defaultBatchSize = 5_000

    public init(store: any MonitoringStore, capacity: Int = 200_000, batchSize: Int = defaultBatchSize, foldWindow: TimeInterval = 3_600,
                logger: Logger, onStored: (@Sendable ([Int64]) -> Void)? = nil,
                backlogFreed: (@Sendable () -> Void)? = nil) {
        self.store = store
        self.backlogFreed = backlogFreed ?? { [logger] in FreedMemory.returnToSystem(logger: logger) }
        self.capacity = capacity
        self.batchSize = batchSize
        self.foldWindow = foldWindow
        self.logger = logger
        self.onStored = onStored
    }

    /// Never blocks beyond a short lock.
    public func submit(_ visit: Visit?, sighting: IncidentSighting? = nil) {
        let urgent = state.withLock { state -> Bool in
            if let sighting {
                state.sightings.append(sighting)
                state.stats.queuedSightings = state.sightings.count
            }
            guard let visit else { return sighting != nil }
            if state.visits.count >= capacity {
                state.stats.droppedVisits += 1
                state.droppedSinceLog += 1
            } else {
                state.visits.append(visit)
                state.stats.queuedVisits = state.visits.count
            }
            return Self.urgency(sightingsWaiting: sighting != nil, backlog: state.takenUnwritten + state.visits.count, capacity: capacity) == .prompt
        }
        // What makes the next batch prompt also cuts short a background batch starved of CPU
        // (an atomic exchange, and nothing at all when no background batch is being written).
        if urgent { store.yieldBackgroundBatch() }
    }

    public var stats: Stats { state.withLock { $0.stats } }

    /// Writes until cancelled, then drains what is left. Between writes that emptied the queue
    /// it waits `interval`, so visits are committed many to a transaction (each commit has a cost
    /// of its own) rather than a few at a time as they arrive.
    ///
    /// A backlog (a write of a full batch or more) is tens of megabytes of visits, freed once
    /// written: when the writer has caught up with one, that memory is handed back to the system
    /// (while the proxy stays flat out every write is a backlog, so this waits for the load to ease).
    public func run(interval: Duration = .milliseconds(200)) async {
        var clearingBacklog = false
        while !Task.isCancelled {
            let written = await writeBatch()
            if written >= batchSize {
                clearingBacklog = true
                continue
            }
            if clearingBacklog {
                clearingBacklog = false
                backlogFreed()
            }
            try? await Task.sleep(for: interval)
        }
        await drain()
    }

    /// Writes everything queued now (at shutdown, or in tests), trying a failing store up to
    /// `attempts` times, 100 ms apart.
    public func drain(attempts maximum: Int = 50) async {
        var attempts = 0
        while attempts < maximum {
            let pending = state.withLock { !$0.visits.isEmpty || !$0.sightings.isEmpty }
            guard pending else { return }
            if await writeBatch() == 0 {
                attempts += 1
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Takes everything queued and writes it in batches; returns how many records were written.
    ///
    /// The queue is swapped out whole under the lock: taking a batch off its front moved every
    /// visit behind it, a copy of up to the whole queue made while the proxy's event loop waited
    /// on the same lock to submit.
    private func writeBatch() async -> Int {
        let (visits, sightings, dropped) = state.withLock { state -> ([Visit], [IncidentSighting], Int) in
            var visits: [Visit] = []
            var sightings: [IncidentSighting] = []
            swap(&visits, &state.visits)
            swap(&sightings, &state.sightings)
            let dropped = state.droppedSinceLog
            state.droppedSinceLog = 0
            state.stats.queuedVisits = 0
            state.stats.queuedSightings = 0
            return (visits, sightings, dropped)
        }
        if dropped > 0 {
            logger.error("monitoring store is behind: \(dropped) visit records were dropped (queue of \(capacity) full)")
        }
        guard !visits.isEmpty || !sightings.isEmpty else { return 0 }
        var start = 0
        var pendingSightings = sightings
        /// The batch at `start` gave way for want of CPU: the next attempt is prompt.
        var starved = false
        defer { state.withLock { $0.takenUnwritten = 0 } }
        repeat {
            // Sightings that arrived since go in the next batch, not after the rest of this queue.
            let backlog = state.withLock { state -> Int in
                pendingSightings += state.sightings
                state.sightings = []
                state.stats.queuedSightings = 0
                state.takenUnwritten = visits.count - start
                return state.takenUnwritten + state.visits.count
            }
            let urgency = starved ? .prompt : Self.urgency(sightingsWaiting: !pendingSightings.isEmpty, backlog: backlog, capacity: capacity)
            let batch = Array(visits[start..<min(start + batchSize, visits.count)])
            do {
                // Detached: a batch taken from the queue is committed even when the writer is being
                // cancelled (at shutdown), rather than refused by the store and retried.
                let store = store, foldWindow = foldWindow, batchSightings = pendingSightings
                let ids = try await Task.detached {
                    try await store.record(visits: batch, sightings: batchSightings, foldWindow: foldWindow, urgency: urgency)
                }.value
                state.withLock {
                    $0.stats.writtenVisits += batch.count
                    $0.stats.writtenSightings += batchSightings.count
                    $0.stats.lastWriteFailed = false
                    if urgency == .background { $0.stats.backgroundBatches += 1 } else { $0.stats.promptBatches += 1 }
                }
                pendingSightings = []
                start += batch.count
                starved = false
                onStored?(ids)
            } catch let yielded as BatchYielded {
                // Nothing was stored; the same visits again, judged afresh with what is waiting
                // (and prompt if idle CPU did not come in time).
                state.withLock { $0.stats.yieldedBatches += 1 }
                starved = yielded.starved
                continue
            } catch {
                logger.error("monitoring store write failed, will retry: \(error)")
                requeue(visits: visits[start...], sightings: pendingSightings)
                return 0
            }
        } while start < visits.count
        return visits.count + sightings.count
    }

    /// Visits alone are written in the background while the writer keeps up. An incident waiting,
    /// or a backlog of an eighth of the queue's capacity (25,000 visits by default: over a second
    /// at 20,000 a second, with seven eighths of the queue still free), makes the batch prompt.
    static func urgency(sightingsWaiting: Bool, backlog: Int, capacity: Int) -> BatchUrgency {
        sightingsWaiting || backlog >= capacity / 8 ? .prompt : .background
    }

    /// Puts what was not written back in front of the queue, sightings always; visits as far as
    /// there is room, the rest counted as dropped.
    private func requeue(visits: ArraySlice<Visit>, sightings: [IncidentSighting]) {
        state.withLock { state in
            state.stats.failedBatches += 1
            state.stats.lastWriteFailed = true
            state.sightings.insert(contentsOf: sightings, at: 0)
            let room = max(0, capacity - state.visits.count)
            state.visits.insert(contentsOf: visits.prefix(room), at: 0)
            state.stats.droppedVisits += max(0, visits.count - room)
            state.stats.queuedVisits = state.visits.count
            state.stats.queuedSightings = state.sightings.count
        }
    }
}
