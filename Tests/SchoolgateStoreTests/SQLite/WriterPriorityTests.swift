import Foundation
import Testing
@testable import SchoolgateStore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct WriterPriorityTests {
    @Test func backgroundBatchesTakeTheIdleClass() {
        #expect(WriterPriority(.background) == .idle)
        #expect(WriterPriority(.prompt) == .nice5)
    }

    #if os(Linux)
    /// Applied on a thread of the test's own, never a pool thread: the class and nice value stay
    /// with the thread that took them.
    @Test func theThreadTakesTheClassAndNiceValue() async {
        let seen = await withCheckedContinuation { (continuation: CheckedContinuation<[Int32], Never>) in
            let thread = Thread {
                WriterPriority.idle.apply()
                let idle = sched_getscheduler(0)
                WriterPriority.nice5.apply()
                let other = sched_getscheduler(0)
                let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
                WriterPriority.idle.apply()
                continuation.resume(returning: [idle, other, nice, sched_getscheduler(0)])
            }
            thread.start()
        }
        #expect(seen == [5, SCHED_OTHER, 5, 5])
    }
    #endif
}
