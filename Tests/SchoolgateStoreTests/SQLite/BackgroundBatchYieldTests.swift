import Dispatch
import Foundation
import GRDB
import Synchronization
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore

/// Holds the store's background batch before one of its inserts until released, so that a test
/// can ask it to give way while it is certainly writing. Without it, each test raced a batch
/// that could finish (or, at SCHED_IDLE beside the rest of the suite, not start) before the
/// test's task ran again; the store runs held batches at nice 5 for the second reason.
final class BatchHold: Sendable {
    private let atInsert: Int
    private let inserts = Mutex(0)
    private let held = Atomic<Bool>(false)
    private let gate = DispatchSemaphore(value: 0)

    init(atInsert: Int = 1_000) { self.atInsert = atInsert }

    /// Called by the store before each insert of a background batch, on the batch's thread.
    func beforeInsert() {
        let count = inserts.withLock { count in
            count += 1
            return count
        }
        guard count == atInsert else { return }
        held.store(true, ordering: .sequentiallyConsistent)
        gate.wait()
    }

    func waitUntilHeld() async throws {
        let reached = try await within(.seconds(60)) { self.held.load(ordering: .sequentiallyConsistent) }
        try #require(reached, "the background batch never reached its insert \(atInsert)")
    }

    func release() { gate.signal() }
}

/// A store whose background batches count as starved after 50 ms, held at their first insert:
/// a debug build beside the rest of the suite can take longer than that to reach the thousandth.
func starvingStore() throws -> (BatchHold, TemporaryStore) {
    let hold = BatchHold(atInsert: 1)
    return (hold, try TemporaryStore(hold: hold, starvedAfter: .milliseconds(50)))
}

/// Whether `condition` became true within `timeout`, looked at every millisecond.
func within(_ timeout: Duration, _ condition: @Sendable () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
    return condition()
}

/// Visits over 1,000 users, more than the hold lets through.
let backgroundVisits = (0..<2_000).map { visit("pupil\($0 % 1_000)", at: t0 + Double($0) / 100) }

func storedVisits(_ temporary: TemporaryStore) throws -> Int {
    try DatabaseQueue(path: temporary.directory + "/data/schoolgate.sqlite").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM visit") ?? -1 }
}

/// A background batch holds SQLite's write lock while it waits for idle CPU; asked, it gives way
/// (storing nothing) so that an incident, a guest's agreement or a DSL's action need not wait.
@Suite struct BackgroundBatchYieldTests {
    /// Starts a background batch of `backgroundVisits` and returns once it is held mid-write.
    static func startHeldBatch(_ temporary: TemporaryStore, _ hold: BatchHold) async throws -> Task<[Int64], any Error> {
        let store = temporary.store
        let batch = Task { try await store.record(visits: backgroundVisits, sightings: [], foldWindow: 0, urgency: .background) }
        try await hold.waitUntilHeld()
        #expect(store.backgroundYield.isWriting)
        return batch
    }

    /// Waits until something has asked the held batch to give way, then lets it go on.
    static func releaseOnceAsked(_ temporary: TemporaryStore, _ hold: BatchHold) async throws {
        let store = temporary.store
        #expect(try await within(.seconds(60)) { store.backgroundYield.isYieldRequested })
        hold.release()
    }

    @Test func givesWayWhenAskedAndStoresNothing() async throws {
        let hold = BatchHold()
        let temporary = try TemporaryStore(hold: hold)
        let batch = try await Self.startHeldBatch(temporary, hold)
        temporary.store.yieldBackgroundBatch()
        hold.release()
        await #expect(throws: BatchYielded.self) { try await batch.value }
        // The 999 visits inserted before it gave way were rolled back with it.
        #expect(try storedVisits(temporary) == 0)
        #expect(!temporary.store.backgroundYield.isWriting)
        // Sent again, the same batch is stored whole.
        try await temporary.store.record(visits: backgroundVisits, sightings: [], foldWindow: 0, urgency: .background)
        #expect(try storedVisits(temporary) == backgroundVisits.count)
    }

    @Test func givesWayToAPromptBatch() async throws {
        let hold = BatchHold()
        let temporary = try TemporaryStore(hold: hold)
        let batch = try await Self.startHeldBatch(temporary, hold)
        let store = temporary.store
        let prompt = Task { try await store.record(visits: [], sightings: [sighting()], foldWindow: 0, urgency: .prompt) }
        try await Self.releaseOnceAsked(temporary, hold)
        await #expect(throws: BatchYielded.self) { try await batch.value }
        #expect(try await prompt.value.count == 1)
        #expect(try storedVisits(temporary) == 0)
    }

    @Test func givesWayToAnotherWrite() async throws {
        let hold = BatchHold()
        let temporary = try TemporaryStore(hold: hold)
        let batch = try await Self.startHeldBatch(temporary, hold)
        let store = temporary.store
        let audit = Task { try await store.audit(AuditEntry(time: t0, actor: "dsl", action: "incident view", detail: "incident 1")) }
        try await Self.releaseOnceAsked(temporary, hold)
        await #expect(throws: BatchYielded.self) { try await batch.value }
        try await audit.value
        #expect(try await store.auditTrail(since: nil, limit: 10).count == 1)
        #expect(try storedVisits(temporary) == 0)
    }

    @Test func givesWayOfItsOwnAccordWhenStarvedOfCPU() async throws {
        let (hold, temporary) = try starvingStore()
        let batch = try await Self.startHeldBatch(temporary, hold)
        // Held past the limit with nobody asking, as a batch at SCHED_IDLE on a busy machine is.
        try await Task.sleep(for: .milliseconds(100))
        #expect(!temporary.store.backgroundYield.isYieldRequested)
        hold.release()
        await #expect(throws: BatchYielded(starved: true)) { try await batch.value }
        #expect(try storedVisits(temporary) == 0)
        #expect(!temporary.store.backgroundYield.isWriting)
    }

    @Test func aBatchWithinTheLimitIsNotStarved() async throws {
        let hold = BatchHold()
        let temporary = try TemporaryStore(hold: hold, starvedAfter: .seconds(60))
        let batch = try await Self.startHeldBatch(temporary, hold)
        try await Task.sleep(for: .milliseconds(100))
        hold.release()
        _ = try await batch.value
        #expect(try storedVisits(temporary) == backgroundVisits.count)
    }

    @Test func askedWinsOverStarved() async throws {
        let (hold, temporary) = try starvingStore()
        let batch = try await Self.startHeldBatch(temporary, hold)
        try await Task.sleep(for: .milliseconds(100))
        temporary.store.yieldBackgroundBatch()
        hold.release()
        await #expect(throws: BatchYielded(starved: false)) { try await batch.value }
    }

    @Test func aRequestWithNoBatchWritingIsForgotten() async throws {
        let temporary = try TemporaryStore()
        temporary.store.yieldBackgroundBatch()
        #expect(!temporary.store.backgroundYield.isYieldRequested)
        try await temporary.store.record(visits: [visit(at: t0)], sightings: [], foldWindow: 0, urgency: .background)
        #expect(try storedVisits(temporary) == 1)
    }
}
