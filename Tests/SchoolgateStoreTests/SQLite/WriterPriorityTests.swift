import Foundation
import Testing
@testable import SchoolgateStore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct WriterPriorityTests {
    @Test func visitsAloneAreWrittenInTheBackground() {
        #expect(WriterPriority.forBatch(visits: 1, sightings: 0) == .background)
        #expect(WriterPriority.forBatch(visits: WriterPriority.behindAt - 1, sightings: 0) == .background)
    }

    @Test func aSightingOrAFullBatchIsWrittenPromptly() {
        #expect(WriterPriority.forBatch(visits: 0, sightings: 1) == .prompt)
        #expect(WriterPriority.forBatch(visits: 10, sightings: 1) == .prompt)
        #expect(WriterPriority.forBatch(visits: WriterPriority.behindAt, sightings: 0) == .prompt)
    }

    #if os(Linux)
    /// Applied on a thread of the test's own, never a pool thread: the class and nice value stay
    /// with the thread that took them.
    @Test func theThreadTakesTheClassAndNiceValue() async {
        let seen = await withCheckedContinuation { (continuation: CheckedContinuation<[Int32], Never>) in
            let thread = Thread {
                WriterPriority.background.apply()
                let idle = sched_getscheduler(0)
                WriterPriority.prompt.apply()
                let other = sched_getscheduler(0)
                let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
                WriterPriority.background.apply()
                continuation.resume(returning: [idle, other, nice, sched_getscheduler(0)])
            }
            thread.start()
        }
        #expect(seen == [5, SCHED_OTHER, 5, 5])
    }
    #endif
}
