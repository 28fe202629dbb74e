#if canImport(Glibc)
import Glibc
#endif

/// Asks the kernel to back a large lookup array with 2 MiB pages where it can.
///
/// Lookups land at random across tens of megabytes, and with 4 KiB pages nearly every one misses
/// the TLB as well as the cache; on a virtual machine that page walk is itself several memory
/// reads. This is a hint (Linux `madvise`, honoured where transparent huge pages are set to
/// `madvise` or `always`); elsewhere it does nothing.
enum HugePages {
    static let threshold = 4 << 20

    /// An array of `count` zeros whose storage was advised before its pages were first touched.
    static func zeroedArray<T: FixedWidthInteger>(of _: T.Type, count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress, count * MemoryLayout<T>.stride >= threshold {
                advise(UnsafeMutableRawPointer(base), bytes: count * MemoryLayout<T>.stride)
            }
            buffer.initialize(repeating: 0)
            initialized = count
        }
    }

    private static func advise(_ base: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        let huge = 2 << 20
        let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: base) + bytes) & ~(huge - 1)
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, end - start, 14 /* MADV_HUGEPAGE */)
        #endif
    }
}
