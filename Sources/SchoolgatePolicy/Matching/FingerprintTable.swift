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

    /// The fingerprint of a host name, fed from its last byte to its first. Read that way a
    /// name's parent domains are its prefixes, so one pass over a request's host yields the keys
    /// of `a.b.c`, `b.c` and `c` together, instead of hashing each suffix again.
    public static func reversed(_ name: UnsafeBufferPointer<UInt8>) -> Fingerprint {
        var fingerprint = Fingerprint()
        for byte in name.reversed() { fingerprint.add(byte) }
        return fingerprint
    }
}

/// An immutable map from fingerprint to a 32-bit value, built once per list load.
///
/// Keys are sorted and grouped into at most 2^12 buckets by their top bits. The directory (16 KiB at
/// most) stays in the processor's L1 cache; inside a bucket the key's position is interpolated
/// from its remaining bits, so a lookup usually touches one cache line of keys: one miss, no
/// pointer chasing, and about 12 bytes per entry in all.
public struct FingerprintTable: Sendable {
    private let keys: [UInt64]
    private let values: [UInt32]
    private let directory: [UInt32]
    private let shift: UInt64
    private let filter: BlockedBloomFilter

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }
    /// Bytes held by the table's arrays, for `lists stats` and the benchmark.
    public var memoryFootprint: Int { keys.count * 8 + values.count * 4 + directory.count * 4 + filter.memoryFootprint }

    public static let empty = FingerprintTable(keys: [], values: [], directory: [0, 0, 0], shift: 63)

    private init(keys: [UInt64], values: [UInt32], directory: [UInt32], shift: UInt64) {
        self.keys = keys
        self.values = values
        self.directory = directory
        self.shift = shift
        self.filter = BlockedBloomFilter(keys: keys)
    }

    @inline(__always)
    public func value(for key: UInt64) -> UInt32? {
        var found: UInt32?
        withUnsafePointer(to: key) { pointer in
            values(for: UnsafeBufferPointer(start: pointer, count: 1)) { _, value in found = value }
        }
        return found
    }

    /// Looks up several keys at once, calling `found` for each present one with its index in `keys`.
    ///
    /// A lookup in a table of millions costs one cache miss on the keys array, and one after another
    /// those misses add up. Here every key's predicted slot is loaded first, loads that do not
    /// depend on each other and so overlap, and the short searches then run on cached lines.
    @inline(__always)
    public func values(for lookups: UnsafeBufferPointer<UInt64>, _ found: (Int, UInt32) -> Void) {
        guard !keys.isEmpty else { return }
        directory.withUnsafeBufferPointer { directory in
            keys.withUnsafeBufferPointer { keys in
                withUnsafeTemporaryAllocation(of: (start: Int, probe: UInt64, value: UInt32).self, capacity: lookups.count) { predicted in
                    for (i, key) in lookups.enumerated() {
                        // Most keys looked up are absent; the filter, small enough to stay in
                        // cache, says so without touching the keys. (Loading the key before
                        // asking the filter, to overlap the two, measured slower.)
                        guard filter.mayContain(key) else {
                            predicted[i] = (-1, 0, 0)
                            continue
                        }
                        let bucket = Int(truncatingIfNeeded: key >> shift)
                        let lower = Int(directory[bucket]), upper = Int(directory[bucket + 1])
                        if lower == upper {
                            predicted[i] = (lower, 0, 0)
                            continue
                        }
                        // Fingerprints are uniform, so a key's place within its bucket is predicted
                        // by its remaining bits.
                        let fraction = (key &<< (64 - shift)).multipliedFullWidth(by: UInt64(upper - lower)).high
                        let start = lower + Int(truncatingIfNeeded: fraction)
                        // The value is loaded beside the key: a listed name's value then comes
                        // from cache, not from a second miss after the search.
                        predicted[i] = (start, keys[start], values[start])
                    }
                    for (i, key) in lookups.enumerated() where predicted[i].start >= 0 {
                        let bucket = Int(truncatingIfNeeded: key >> shift)
                        let lower = Int(directory[bucket]), upper = Int(directory[bucket + 1])
                        guard lower < upper else { continue }
                        var index = predicted[i].start
                        if predicted[i].probe < key {
                            index += 1
                            while index < upper, keys[index] < key { index += 1 }
                        } else {
                            while index > lower, keys[index - 1] >= key { index -= 1 }
                        }
                        if index < upper, keys[index] == key { found(i, index == predicted[i].start ? predicted[i].value : values[index]) }
                    }
                }
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
            while bits < 12, (1 << bits) * 4 < n { bits += 1 }
            let shift = UInt64(64 - bits)
            let bucketCount = 1 << bits

            var starts = [UInt32](repeating: 0, count: bucketCount + 1)
            for key in keys { starts[Int(key >> shift) + 1] += 1 }
            for bucket in 0..<bucketCount { starts[bucket + 1] += starts[bucket] }

            var sortedKeys = HugePages.zeroedArray(of: UInt64.self, count: n)
            var sortedValues = HugePages.zeroedArray(of: UInt32.self, count: n)
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
                if upper - lower > 32 {
                    let pairs = (lower..<upper).map { (sortedKeys[$0], sortedValues[$0]) }.sorted { $0.0 < $1.0 }
                    for (offset, pair) in pairs.enumerated() {
                        sortedKeys[lower + offset] = pair.0
                        sortedValues[lower + offset] = pair.1
                    }
                } else if upper - lower > 1 {
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

/// A Bloom filter whose bits for one key all lie in one 64-byte block: one cache line per check.
/// About 10 bits per key and 6 probes: roughly 1 % false positives, which only cost the lookup
/// the filter would otherwise have saved.
struct BlockedBloomFilter: Sendable {
    private let blocks: [UInt64]
    private let blockMask: Int

    init(keys: [UInt64]) {
        guard keys.count >= 1024 else {
            // Small tables fit in cache anyway.
            blocks = []
            blockMask = 0
            return
        }
        var blockCount = 1
        while blockCount * 512 < keys.count * 10 { blockCount <<= 1 }
        var blocks = HugePages.zeroedArray(of: UInt64.self, count: blockCount * 8)
        let mask = blockCount - 1
        for key in keys {
            let base = Int(truncatingIfNeeded: key & UInt64(mask)) * 8
            var bits = key >> 20
            for _ in 0..<6 {
                let bit = Int(bits & 511)
                blocks[base + bit >> 6] |= 1 << UInt64(bit & 63)
                bits >>= 9
            }
        }
        self.blocks = blocks
        self.blockMask = mask
    }

    var memoryFootprint: Int { blocks.count * 8 }

    @inline(__always)
    func mayContain(_ key: UInt64) -> Bool {
        guard !blocks.isEmpty else { return true }
        return blocks.withUnsafeBufferPointer { blocks in
            let base = Int(truncatingIfNeeded: key & UInt64(blockMask)) * 8
            var bits = key >> 20
            for _ in 0..<6 {
                let bit = Int(bits & 511)
                if blocks[base + bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
                bits >>= 9
            }
            return true
        }
    }
}
