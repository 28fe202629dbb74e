#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging

/// Hands heap pages that are free again back to the kernel.
///
/// A backlog of visits (the queue fills while the proxy is flat out and the writer, on idle CPU,
/// falls behind) is tens of megabytes of small allocations, all freed once it is written. glibc
/// keeps those pages mapped, in whichever threads' arenas held them, for reuse that may not come
/// until the next such burst: measured after `compare.sh`'s loads, 24 MB of the proxy's 70 MB
/// resident was heap it had freed. `malloc_trim` is glibc's own call for this; Swift's Glibc
/// module does not import `malloc.h`, so it is looked up by name, and where there is no such
/// function (another C library) nothing happens.
enum FreedMemory {
    private typealias Trim = @convention(c) (Int) -> Int32

    private static let trim: Trim? = {
        #if os(Linux)
        // RTLD_DEFAULT: the C library the process already has.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: Trim.self)
        #else
        return nil
        #endif
    }()

    /// True where the C library offers the call (glibc, so always on Debian).
    static var canReturn: Bool { trim != nil }

    /// Returns the memory, and with debug logging on says how much went back and how long it took.
    static func returnToSystem(logger: Logger) {
        guard logger.logLevel <= .debug else {
            returnToSystem()
            return
        }
        let before = residentBytes, started = ContinuousClock.now
        returnToSystem()
        let took = ContinuousClock.now - started
        if let before, let after = residentBytes {
            logger.debug("backlog written: resident \(before >> 20) -> \(after >> 20) MB, freed memory returned in \(took)")
        }
    }

    /// The process's resident size, for the log line that says what a trim gave back.
    private static var residentBytes: Int? {
        #if os(Linux)
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        #else
        return nil
        #endif
    }

    /// Returns whether any memory went back.
    @discardableResult
    static func returnToSystem() -> Bool {
        trim.map { $0(0) == 1 } ?? false
    }
}
