import SchoolgatePolicy
#if canImport(Glibc)
import Glibc
#endif

/// The CPU priority of the SQLite writer's threads: one for background batches, one for prompt.
///
/// A background batch runs at Linux's SCHED_IDLE: only on CPU the proxy leaves idle, so a busy
/// proxy's latency does not carry the writer's work (ProxyLoggingBenchmark flat out: p99 +19 to
/// +23 % against +61 to +100 % at nice 5). A prompt batch runs at nice 5: below the proxy, but
/// with a share of the CPU of its own, so that incidents and a deep queue are never starved.
/// `MonitoringWriter` keeps background batches small, so one that is starved (SCHED_IDLE still
/// gets a sliver of a busy core) holds up what follows it for seconds at most.
enum WriterPriority: Equatable {
    case idle
    case nice5

    /// Applies this priority to the calling thread, once, when the thread starts. On Linux the
    /// scheduling class and the nice value belong to a thread, and 0 names the calling one. Best
    /// effort: a refusal leaves the thread as it was, which costs latency, nothing else.
    func apply() {
        #if os(Linux)
        var parameter = sched_param(sched_priority: 0)
        switch self {
        case .idle:
            _ = sched_setscheduler(0, Self.schedIdle, &parameter)
        case .nice5:
            _ = sched_setscheduler(0, SCHED_OTHER, &parameter)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 5)
        }
        #endif
    }

    /// A prompt batch shares a core with the proxy's event loop, which under load never sleeps,
    /// so the kernel switches between the two only at its tick (4 ms: this kernel's CONFIG_HZ is
    /// 250): each time the batch got the core, requests waited out the rest of a tick (`perf
    /// sched`, proxy pinned to one core and flat out: the event loop's waits averaged 2.1 ms, 8.2
    /// at most). The batch hands the core back itself every this many inserts, a few hundred
    /// microseconds of work (waits then 0.27 ms on average, 4.0 at most).
    static let insertsBetweenYields = 64

    static func handBackTheCore() {
        #if os(Linux)
        sched_yield()
        #endif
    }

    /// glibc declares SCHED_IDLE only for _GNU_SOURCE, which Swift's Glibc module is not built with.
    private static let schedIdle: Int32 = 5
}
