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

    /// glibc declares SCHED_IDLE only for _GNU_SOURCE, which Swift's Glibc module is not built with.
    private static let schedIdle: Int32 = 5
}
