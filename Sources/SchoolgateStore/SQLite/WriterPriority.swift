#if canImport(Glibc)
import Glibc
#endif

/// The CPU priority the visit writer's thread takes for one batch.
///
/// Visits alone are written at Linux's SCHED_IDLE: the batch runs only on CPU the proxy leaves
/// idle, so a busy proxy's latency does not carry the writer's work (ProxyLoggingBenchmark flat
/// out: p99 +34 % against +92 % at nice 5). Starved for good, though, the queue would fill and
/// visits be dropped, and an incident queued behind a starved batch would wait with it. So a batch
/// that carries an incident sighting, or that is full (the queue was at least a batch deep, the
/// writer is behind), runs at nice 5: below the proxy, but with a share of the CPU of its own.
/// A background batch that is starved still gets SCHED_IDLE's small share (about 0.3 % of a
/// core), so the worst an incident waits behind one is seconds, well inside the 60 s alert bound.
enum WriterPriority: Equatable {
    case background
    case prompt

    /// A batch this large means the writer is behind: the queue held at least a full batch.
    static let behindAt = MonitoringWriter.defaultBatchSize

    static func forBatch(visits: Int, sightings: Int) -> WriterPriority {
        sightings > 0 || visits >= behindAt ? .prompt : .background
    }

    /// Applies this priority to the calling thread. On Linux the scheduling class and the nice
    /// value belong to a thread, and 0 names the calling one. Best effort: a refusal leaves the
    /// thread as it was, which only costs latency.
    func apply() {
        #if os(Linux)
        var parameter = sched_param(sched_priority: 0)
        switch self {
        case .background:
            _ = sched_setscheduler(0, Self.schedIdle, &parameter)
        case .prompt:
            _ = sched_setscheduler(0, SCHED_OTHER, &parameter)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 5)
        }
        #endif
    }

    /// glibc declares SCHED_IDLE only for _GNU_SOURCE, which Swift's Glibc module is not built with.
    private static let schedIdle: Int32 = 5
}
