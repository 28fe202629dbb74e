import GRDB
import Synchronization
import Foundation
import Logging
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore

@Suite struct MonitoringWriterTests {
    @Test func writesInBatchesAndCountsEverything() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let writer = MonitoringWriter(store: temporary.store, batchSize: 100, logger: Logger(label: "test"))
        for index in 0..<250 { writer.submit(visit(at: t0 + Double(index)), sighting: index % 50 == 0 ? sighting(at: t0 + Double(index)) : nil) }
        #expect(writer.stats.queuedVisits == 250)
        await writer.drain()
        #expect(writer.stats == MonitoringWriter.Stats(queuedVisits: 0, queuedSightings: 0, droppedVisits: 0, writtenVisits: 250, writtenSightings: 5,
                                                               backgroundBatches: 2, promptBatches: 1))
        #expect(try await temporary.store.visits(subject: nil, from: nil, to: nil, limit: 1000).count == 250)
        let incidents = try await temporary.store.incidents(IncidentQuery())
        #expect(incidents.count == 1)
        #expect(incidents[0].count == 5)
    }

    @Test func dropsVisitsBeyondItsCapacityVisiblyButNeverSightings() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let writer = MonitoringWriter(store: temporary.store, capacity: 10, logger: Logger(label: "test"))
        for index in 0..<15 { writer.submit(visit(at: t0 + Double(index)), sighting: sighting("user\(index)")) }
        #expect(writer.stats.droppedVisits == 5)
        #expect(writer.stats.queuedSightings == 15)
        await writer.drain()
        #expect(try await temporary.store.visits(subject: nil, from: nil, to: nil, limit: 100).count == 10)
        #expect(try await temporary.store.incidents(IncidentQuery(limit: 100)).count == 15)
    }

    /// A batch the store refuses (here a trigger stands in for a full disk) is kept, its
    /// sightings first, and written once the store takes it; the batches before it stay written.
    @Test func keepsAFailedBatchAndWritesItLater() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let database = try DatabaseQueue(path: temporary.directory + "/data/schoolgate.sqlite")
        try await database.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse BEFORE INSERT ON visit WHEN NEW.host = 'refused.example'
                BEGIN SELECT RAISE(ABORT, 'refused for the test'); END
                """)
        }
        let writer = MonitoringWriter(store: temporary.store, batchSize: 10, logger: Logger(label: "test"))
        for index in 0..<25 {
            writer.submit(visit(at: t0 + Double(index), host: index == 14 ? "refused.example" : "example.com"),
                          sighting: index == 0 ? sighting() : nil)
        }
        await writer.drain(attempts: 2)
        // The first batch (with the sighting) went in; the second, holding the refused visit, did not.
        #expect(writer.stats.writtenVisits == 10 && writer.stats.writtenSightings == 1)
        #expect(writer.stats.failedBatches > 0 && writer.stats.lastWriteFailed)
        #expect(writer.stats.queuedVisits == 15)
        try await database.write { db in try db.execute(sql: "DROP TRIGGER refuse") }
        await writer.drain()
        #expect(writer.stats.writtenVisits == 25 && !writer.stats.lastWriteFailed && writer.stats.droppedVisits == 0)
        #expect(try await temporary.store.visits(subject: nil, from: nil, to: nil, limit: 100).count == 25)
        #expect(try await temporary.store.incidents(IncidentQuery()).count == 1)
    }

    @Test func reportsStoredIncidentIdsAfterCommit() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let reported = Reported()
        let writer = MonitoringWriter(store: temporary.store, logger: Logger(label: "test")) { ids in reported.add(ids) }
        writer.submit(nil, sighting: sighting())
        writer.submit(nil, sighting: sighting("other"))
        await writer.drain()
        let ids = reported.ids
        #expect(ids.count == 2)
        for id in ids { #expect(try await temporary.store.incident(id: id) != nil) }
    }
}

/// Visits alone go to the store as background batches; an incident or a deep queue makes the
/// batch prompt. Either way a batch is a full one.
@Suite struct MonitoringWriterUrgencyTests {
    @Test func visitsAloneAreWrittenInBackgroundBatches() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let writer = MonitoringWriter(store: temporary.store, logger: Logger(label: "test"))
        for index in 0..<12_000 { writer.submit(visit("pupil\(index % 100)", at: t0 + Double(index))) }
        await writer.drain()
        #expect(writer.stats.backgroundBatches == 3 && writer.stats.promptBatches == 0)
        #expect(try await temporary.store.visits(subject: nil, from: nil, to: nil, limit: 20_000).count == 12_000)
    }

    @Test func aSightingMakesItsBatchPrompt() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let writer = MonitoringWriter(store: temporary.store, logger: Logger(label: "test"))
        for index in 0..<1_500 { writer.submit(visit(at: t0 + Double(index)), sighting: index == 0 ? sighting() : nil) }
        await writer.drain()
        // The sighting's batch is a full one (all 1,500); nothing is left for the background.
        #expect(writer.stats.promptBatches == 1 && writer.stats.backgroundBatches == 0)
        #expect(try await temporary.store.incidents(IncidentQuery()).count == 1)
    }

    @Test func aDeepQueueMakesTheBatchPrompt() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let writer = MonitoringWriter(store: temporary.store, capacity: 8_000, logger: Logger(label: "test"))
        for index in 0..<1_500 { writer.submit(visit(at: t0 + Double(index))) }
        await writer.drain()
        // 1,500 queued is past an eighth of 8,000: one prompt batch takes it all.
        #expect(writer.stats.promptBatches == 1 && writer.stats.backgroundBatches == 0)
    }

    /// The writer's batch, once started on idle CPU, is not waited out: a sighting (or a queue
    /// grown deep) makes the store give it up, and it is written again at once, promptly, with the
    /// sighting. Nothing is lost or stored twice.
    @Test(arguments: [true, false]) func somethingUrgentCutsShortABackgroundBatch(sighting raised: Bool) async throws {
        let hold = BatchHold()
        let temporary = try TemporaryStore(hold: hold)
        defer { withExtendedLifetime(temporary) {} }
        let reported = Reported()
        // An eighth of 24,000 waiting is a deep queue; the 2,000 visits first are not, and with
        // 1,000 more queued behind them (counted with them) it is.
        let writer = MonitoringWriter(store: temporary.store, capacity: 24_000, logger: Logger(label: "test")) { reported.add($0) }
        for visit in backgroundVisits { writer.submit(visit) }
        let running = Task { await writer.run(interval: .seconds(60)) }
        try await hold.waitUntilHeld()
        let urgent = raised ? 1 : 24_000 / 8 - backgroundVisits.count
        for index in 0..<urgent {
            writer.submit(raised ? nil : visit("pupil\(index % 1_000)", at: t0 + 10_000 + Double(index) / 100), sighting: raised ? sighting() : nil)
        }
        #expect(temporary.store.backgroundYield.isYieldRequested)
        hold.release()
        _ = try await within(.seconds(60)) { writer.stats.promptBatches > 0 }
        running.cancel()
        await running.value
        let stats = writer.stats
        #expect(stats.yieldedBatches == 1 && stats.promptBatches >= 1 && stats.failedBatches == 0 && !stats.lastWriteFailed)
        let expected = backgroundVisits.count + (raised ? 0 : urgent)
        #expect(stats.writtenVisits == expected && stats.droppedVisits == 0)
        #expect(try storedVisits(temporary) == expected)
        #expect(reported.ids.count == (raised ? 1 : 0))
    }

    @Test func aStarvedBackgroundBatchIsWrittenPromptly() async throws {
        let (hold, temporary) = try starvingStore()
        defer { withExtendedLifetime(temporary) {} }
        let writer = MonitoringWriter(store: temporary.store, logger: Logger(label: "test"))
        for visit in backgroundVisits { writer.submit(visit) }
        let running = Task { await writer.run(interval: .seconds(60)) }
        try await hold.waitUntilHeld()
        try await Task.sleep(for: .milliseconds(100))
        hold.release()
        _ = try await within(.seconds(60)) { writer.stats.writtenVisits == backgroundVisits.count }
        running.cancel()
        await running.value
        let stats = writer.stats
        // Sent again at once, and at nice 5: nothing else was waiting that would have made it prompt.
        #expect(stats.yieldedBatches == 1 && stats.promptBatches == 1 && stats.backgroundBatches == 0 && stats.failedBatches == 0)
        #expect(stats.writtenVisits == backgroundVisits.count && stats.droppedVisits == 0)
        #expect(try storedVisits(temporary) == backgroundVisits.count)
    }

    /// A backlog's memory goes back once it is written, and only then: not after every batch,
    /// and not while the queue is still a backlog.
    @Test func handsBackTheMemoryOfABacklogOnceItIsWritten() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let freed = Mutex(0)
        let writer = MonitoringWriter(store: temporary.store, batchSize: 100, logger: Logger(label: "test"),
                                      backlogFreed: { freed.withLock { $0 += 1 } })
        for index in 0..<250 { writer.submit(visit(at: t0 + Double(index))) }
        let running = Task { await writer.run(interval: .milliseconds(20)) }
        #expect(try await within(.seconds(60)) { writer.stats.writtenVisits == 250 && freed.withLock { $0 } == 1 })
        // Small batches, as when the writer keeps up: nothing more to hand back.
        for round in 0..<3 {
            for index in 0..<10 { writer.submit(visit(at: t0 + 1_000 + Double(round * 10 + index))) }
            #expect(try await within(.seconds(60)) { writer.stats.writtenVisits == 250 + 10 * (round + 1) })
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(freed.withLock { $0 } == 1)
        // A writer that wakes while these are submitted takes them in two pieces, one a backlog.
        for index in 0..<300 { writer.submit(visit(at: t0 + 2_000 + Double(index))) }
        #expect(try await within(.seconds(60)) { writer.stats.writtenVisits == 580 && freed.withLock { $0 } == 2 })
        running.cancel()
        await running.value
        #expect(try storedVisits(temporary) == 580)
    }

    @Test func urgencyRule() {
        #expect(MonitoringWriter.urgency(sightingsWaiting: false, backlog: 24_999, capacity: 200_000) == .background)
        #expect(MonitoringWriter.urgency(sightingsWaiting: false, backlog: 25_000, capacity: 200_000) == .prompt)
        #expect(MonitoringWriter.urgency(sightingsWaiting: true, backlog: 0, capacity: 200_000) == .prompt)
    }
}

final class Reported: Sendable {
    private let box = Mutex<[Int64]>([])
    func add(_ ids: [Int64]) { box.withLock { $0 += ids } }
    var ids: [Int64] { box.withLock { $0 } }
}

@Suite struct MonitoringWriterShutdownTests {
    @Test func aCancelledWriterStillStoresEverythingQueued() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let writer = MonitoringWriter(store: temporary.store, batchSize: 10, logger: Logger(label: "test"))
        let running = Task { await writer.run(interval: .seconds(60)) }
        for index in 0..<500 { writer.submit(visit(at: t0 + Double(index)), sighting: sighting("user\(index)")) }
        running.cancel()
        await running.value
        #expect(try await temporary.store.incidents(IncidentQuery(limit: 1000)).count == 500)
        #expect(try await temporary.store.visits(subject: nil, from: nil, to: nil, limit: 1000).count == 500)
        #expect(writer.stats.failedBatches == 0)
    }
}
