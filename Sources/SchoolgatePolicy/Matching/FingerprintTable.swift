/// 64-bit fingerprints of list keys (FNV-1a, then the MurmurHash3 finaliser so the top bits are
/// uniform enough to index buckets with).
///
/// The lists hold millions of names; keeping their text would cost more memory than the rest of
/// the proxy together. Only fingerprints are kept: the matched entry is recovered from the
/// request itself (it is the suffix of the host that hit). Two different names share a
/// fingerprint with probability about n / 2^64 per lookup (≈ 3 × 10⁻¹³ for 5 million entries).
public struct Fingerprint {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    @inline(__always)
    public mutating func add(_ byte: UInt8) {
        state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    @inline(__always)
    public mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) {
        for byte in bytes { add(byte) }
    }

    @inline(__always)
    public func finish() -> UInt64 {
        var h = state
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    public static func of(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var fingerprint = Fingerprint()
        fingerprint.add(bytes)
        return fingerprint.finish()
    }

    public static func of(_ text: String) -> UInt64 {
        var copy = text
        return copy.withUTF8 { of($0) }
    }
}

/// An immutable map from fingerprint to a 32-bit value, built once per list load.
///
/// Keys are grouped into 2^k buckets by their top bits (about four keys a bucket), so a lookup
/// reads one directory slot and then a few adjacent keys: two cache misses, no pointer chasing,
/// and 12–13 bytes per entry in all.
public struct FingerprintTable: Sendable {
    private let keys: [UInt64]
    private let values: [UInt32]
    private let directory: [UInt32]
    private let shift: UInt64

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }
    /// Bytes held by the table's arrays, for `lists stats` and the benchmark.
    public var memoryFootprint: Int { keys.count * 8 + values.count * 4 + directory.count * 4 }

    public static let empty = FingerprintTable(keys: [], values: [], directory: [0, 0, 0], shift: 63)

    private init(keys: [UInt64], values: [UInt32], directory: [UInt32], shift: UInt64) {
        self.keys = keys
        self.values = values
        self.directory = directory
        self.shift = shift
    }

    @inline(__always)
    public func value(for key: UInt64) -> UInt32? {
        let bucket = Int(truncatingIfNeeded: key >> shift)
        return directory.withUnsafeBufferPointer { directory in
            var index = Int(directory[bucket])
            let end = Int(directory[bucket + 1])
            return keys.withUnsafeBufferPointer { keys in
                while index < end {
                    if keys[index] == key { return values[index] }
                    index += 1
                }
                return nil
            }
        }
    }

    /// Collects keys, then lays them out bucket by bucket. Duplicate keys (one name in several
    /// lists, or twice in one) are combined by the caller's `merge`.
    public struct Builder {
        private var keys: [UInt64] = []
        private var values: [UInt32] = []

        public init() {}

        public var count: Int { keys.count }

        public mutating func insert(_ key: UInt64, _ value: UInt32) {
            keys.append(key)
            values.append(value)
        }

        public mutating func build(merge: (UInt32, UInt32) -> UInt32) -> FingerprintTable {
            let n = keys.count
            guard n > 0 else { return .empty }
            var bits = 1
            while bits < 26, (1 << bits) * 4 < n { bits += 1 }
            let shift = UInt64(64 - bits)
            let bucketCount = 1 << bits

            var starts = [UInt32](repeating: 0, count: bucketCount + 1)
            for key in keys { starts[Int(key >> shift) + 1] += 1 }
            for bucket in 0..<bucketCount { starts[bucket + 1] += starts[bucket] }

            var sortedKeys = [UInt64](repeating: 0, count: n)
            var sortedValues = [UInt32](repeating: 0, count: n)
            var cursor = starts
            for index in 0..<n {
                let bucket = Int(keys[index] >> shift)
                let slot = Int(cursor[bucket])
                cursor[bucket] += 1
                sortedKeys[slot] = keys[index]
                sortedValues[slot] = values[index]
            }
            keys = []
            values = []

            // Sort each small bucket and fold duplicates, compacting in place as we go.
            var directory = [UInt32](repeating: 0, count: bucketCount + 1)
            var write = 0
            for bucket in 0..<bucketCount {
                let lower = Int(starts[bucket]), upper = Int(starts[bucket + 1])
                directory[bucket] = UInt32(write)
                if upper - lower > 1 {
                    for i in (lower + 1)..<upper {
                        let key = sortedKeys[i], value = sortedValues[i]
                        var j = i - 1
                        while j >= lower, sortedKeys[j] > key {
                            sortedKeys[j + 1] = sortedKeys[j]
                            sortedValues[j + 1] = sortedValues[j]
                            j -= 1
                        }
                        sortedKeys[j + 1] = key
                        sortedValues[j + 1] = value
                    }
                }
                for i in lower..<upper {
                    if write > Int(directory[bucket]), sortedKeys[write - 1] == sortedKeys[i] {
                        sortedValues[write - 1] = merge(sortedValues[write - 1], sortedValues[i])
                    } else {
                        sortedKeys[write] = sortedKeys[i]
                        sortedValues[write] = sortedValues[i]
                        write += 1
                    }
                }
            }
            directory[bucketCount] = UInt32(write)
            if write < n {
                sortedKeys.removeLast(n - write)
                sortedValues.removeLast(n - write)
            }
            return FingerprintTable(keys: sortedKeys, values: sortedValues, directory: directory, shift: shift)
        }
    }
}
