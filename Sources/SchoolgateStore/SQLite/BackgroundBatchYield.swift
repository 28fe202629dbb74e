import SchoolgatePolicy
import Synchronization

/// Whether a background batch is being written, and whether it has been asked to give way.
///
/// A background batch runs at SCHED_IDLE and holds SQLite's write lock from its first insert to
/// its commit; on a machine with no idle CPU it may wait seconds between inserts, and everything
/// that wants the lock waits with it. Before each insert the batch checks whether it is due to
/// give way and, if so, throws, which rolls its transaction back and frees the lock at once. A flag checked
/// between inserts rather than `sqlite3_interrupt`: SQLite forgets an interrupt that lands between
/// two statements, which is where a starved batch spends most of its time.
///
/// Nothing in another process can ask: the DSL's CLI waits on SQLite's busy timeout. So a batch
/// still writing `starvedAfter` after it began (a batch of 5,000 takes about 0.1 s) gives way of
/// its own accord, and the writer sends it again at nice 5.
final class BackgroundBatchYield: Sendable {
    private enum Phase: UInt8 { case idle, writing, yieldRequested }
    private let phase = Atomic<UInt8>(Phase.idle.rawValue)
    private let starvedAfter: Duration
    /// Tests only: holds a batch mid-write, so that what asks it to give way is not a race.
    private let beforeInsert: (@Sendable () -> Void)?

    static let defaultStarvedAfter = Duration.seconds(1)

    init(starvedAfter: Duration = defaultStarvedAfter, beforeInsert: (@Sendable () -> Void)? = nil) {
        self.starvedAfter = starvedAfter
        self.beforeInsert = beforeInsert
    }

    /// Runs one background batch's inserts. `body` calls the function it is given before each
    /// insert: it throws `BatchYielded` if the batch was asked to give way, or has been writing
    /// for longer than `starvedAfter`.
    func writing<T>(_ body: (_ giveWayIfDue: () throws -> Void) throws -> T) throws -> T {
        let deadline = ContinuousClock.now + starvedAfter
        phase.store(Phase.writing.rawValue, ordering: .sequentiallyConsistent)
        defer { phase.store(Phase.idle.rawValue, ordering: .sequentiallyConsistent) }
        return try body {
            beforeInsert?()
            if phase.load(ordering: .relaxed) == Phase.yieldRequested.rawValue { throw BatchYielded() }
            if ContinuousClock.now > deadline { throw BatchYielded(starved: true) }
        }
    }

    /// Asks the batch being written, if there is one, to give way; with none, does nothing.
    func request() {
        _ = phase.compareExchange(expected: Phase.writing.rawValue, desired: Phase.yieldRequested.rawValue, ordering: .sequentiallyConsistent)
    }

    var isWriting: Bool { phase.load(ordering: .sequentiallyConsistent) != Phase.idle.rawValue }
    var isYieldRequested: Bool { phase.load(ordering: .sequentiallyConsistent) == Phase.yieldRequested.rawValue }
}
