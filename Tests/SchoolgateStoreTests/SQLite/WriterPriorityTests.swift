import Foundation
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore
#if canImport(Glibc)
import Glibc
#endif

#if os(Linux)
/// Background batches are written by a thread at SCHED_IDLE, prompt ones by a thread at nice 5;
/// each is set once, as an unprivileged thread could not leave SCHED_IDLE again.
@Suite struct WriterPriorityTests {
    @Test func eachUrgencyHasAThreadOfItsOwnClass() async throws {
        let temporary = try TemporaryStore()
        let background = try await temporary.store.schedulingOfBatches(.background)
        let prompt = try await temporary.store.schedulingOfBatches(.prompt)
        #expect(background.policy == 5)  // SCHED_IDLE
        #expect(prompt.policy == SCHED_OTHER && prompt.nice == 5)
    }

    @Test func bothKindsOfBatchAreStored() async throws {
        let temporary = try TemporaryStore()
        try await temporary.store.record(visits: [visit(at: t0)], sightings: [], foldWindow: 0, urgency: .background)
        try await temporary.store.record(visits: [visit(at: t0 + 1)], sightings: [sighting()], foldWindow: 0, urgency: .prompt)
        #expect(try await temporary.store.visits(subject: nil, from: nil, to: nil, limit: 10).count == 2)
        #expect(try await temporary.store.incidents(IncidentQuery()).count == 1)
    }
}
#endif
