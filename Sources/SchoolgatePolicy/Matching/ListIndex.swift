import Foundation

/// Every list entry of every category, compiled for lookup.
///
/// Matching rules (README, "Matching"): a domain entry covers the name and every name below it;
/// a `urls` entry covers its host (and subdomains) with the path at or below it, on segment
/// boundaries; expressions are case-insensitive regular expressions over `host/path`; an
/// exception entry (adblock `@@`) removes its category from a name it covers.
///
/// A class, not a struct: a decision hands the index to closures several times, and copying a
/// struct of a dozen arrays meant a dozen retains and releases each time (a quarter of a
/// decision's cost); a class is one.
public final class ListIndex: Sendable {
    public let sources: [ListSource]
    let domains: FingerprintTable
    let exceptions: FingerprintTable
    let urlHosts: FingerprintTable
    let urls: FingerprintTable
    let expressions: [ListExpression]
    /// Values with the top bit set index here: keys that more than one source listed.
    let sourceSets: [[UInt32]]
    /// Indexed like `sources`: one number per category name, so exceptions compare numbers.
    let categoryIDs: [Int32]
    /// Indexed like `sources`: the source's place in (category, file) order, which breaks ties
    /// between equally specific matches the same way on every run.
    let sourceOrder: [Int32]
    /// Bit n is set when some domain entry (of any table) has n labels (63: that many or more).
    /// Suffixes of other lengths cannot match, so their lookups, each a likely cache miss, are skipped.
    let labelCounts: UInt64

    init(sources: [ListSource], domains: FingerprintTable, exceptions: FingerprintTable, urlHosts: FingerprintTable, urls: FingerprintTable,
         expressions: [ListExpression], sourceSets: [[UInt32]], labelCounts: UInt64) {
        self.sources = sources
        self.domains = domains
        self.exceptions = exceptions
        self.urlHosts = urlHosts
        self.urls = urls
        self.expressions = expressions
        self.sourceSets = sourceSets
        self.labelCounts = labelCounts
        var categories: [String: Int32] = [:]
        self.categoryIDs = sources.map { source in
            if let id = categories[source.category] { return id }
            categories[source.category] = Int32(categories.count)
            return Int32(categories.count - 1)
        }
        var order = [Int32](repeating: 0, count: sources.count)
        for (rank, index) in sources.indices.sorted(by: { (sources[$0].category, sources[$0].file) < (sources[$1].category, sources[$1].file) }).enumerated() {
            order[index] = Int32(rank)
        }
        self.sourceOrder = order
    }

    public static let empty = ListIndex(
        sources: [], domains: .empty, exceptions: .empty, urlHosts: .empty, urls: .empty,
        expressions: [], sourceSets: [], labelCounts: 0)

    @inline(__always)
    static func labelBit(_ name: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var labels = 1
        for byte in name where byte == UInt8(ascii: ".") { labels += 1 }
        return 1 << UInt64(min(labels, 63))
    }

    public var domainCount: Int { domains.count }
    public var urlCount: Int { urls.count }
    public var expressionCount: Int { expressions.count }
    public var memoryFootprint: Int {
        domains.memoryFootprint + exceptions.memoryFootprint + urlHosts.memoryFootprint + urls.memoryFootprint
    }

    public func matches(_ url: RequestURL) -> [ListMatch] {
        matches(host: url.host, path: url.path)
    }

    public func matches(host: HostName, path: String?) -> [ListMatch] {
        indexMatches(host: host, path: path).map { listMatch($0, host: host, path: path) }
    }

    /// Every entry that covers `host` and `path`, as numbers: the decision path reads them
    /// without building a string or a `ListMatch` until it knows which one it reports.
    func indexMatches(host: HostName, path: String?) -> [IndexMatch] {
        var results: [IndexMatch] = []
        var excepted: [Int32] = []
        var hostText = host.text
        hostText.withUTF8 { hostBytes in
            // Every suffix that could be listed: where it starts in the host, and its key.
            withUnsafeTemporaryAllocation(of: Int.self, capacity: hostBytes.count + 1) { starts in
                withUnsafeTemporaryAllocation(of: UInt64.self, capacity: hostBytes.count + 1) { keys in
                    var count = 0
                    if host.kind != .domain {
                        starts[0] = 0
                        keys[0] = Fingerprint.reversed(hostBytes).finish()
                        count = 1
                    } else {
                        var print = Fingerprint()
                        var labels = 1
                        var index = hostBytes.count
                        while index > 0 {
                            index -= 1
                            let byte = hostBytes[index]
                            print.add(byte)
                            if index == 0 || hostBytes[index - 1] == UInt8(ascii: ".") {
                                if labelCounts & (1 << UInt64(min(labels, 63))) != 0 {
                                    starts[count] = index
                                    keys[count] = print.finish()
                                    count += 1
                                }
                            } else if byte == UInt8(ascii: ".") {
                                labels += 1
                            }
                        }
                    }
                    let keys = UnsafeBufferPointer(rebasing: keys[0..<count])
                    domains.values(for: keys) { i, value in
                        let start = Int32(starts[i])
                        forEachSource(value) { results.append(IndexMatch(source: Int32($0), kind: .domain, start: start)) }
                    }
                    exceptions.values(for: keys) { _, value in
                        forEachSource(value) { excepted.append(categoryIDs[Int($0)]) }
                    }
                    if let path, !urls.isEmpty {
                        urlHosts.values(for: keys) { i, _ in matchURLs(host: hostBytes, from: starts[i], path: path, into: &results) }
                    }
                }
            }
        }
        if !expressions.isEmpty {
            let subject = host.urlForm + (path ?? "")
            for (number, expression) in expressions.enumerated() where expression.matches(subject) {
                results.append(IndexMatch(source: Int32(expression.source), kind: .expression, start: Int32(number)))
            }
        }
        if !excepted.isEmpty {
            results.removeAll { excepted.contains(categoryIDs[Int($0.source)]) }
        }
        return results
    }

    /// The `urls` entries for the host's suffix from byte `start`, at each boundary of `path`.
    private func matchURLs(host: UnsafeBufferPointer<UInt8>, from start: Int, path: String, into results: inout [IndexMatch]) {
        let hostPrint = Fingerprint.reversed(UnsafeBufferPointer(rebasing: host[start...]))
        var pathText = path
        pathText.withUTF8 { pathBytes in
            for end in URLEntryPaths.boundaries(in: pathBytes) {
                var print = hostPrint
                print.add(UnsafeBufferPointer(rebasing: pathBytes[0..<end]))
                guard let value = urls.value(for: print.finish()) else { continue }
                forEachSource(value) { results.append(IndexMatch(source: Int32($0), kind: .url, start: Int32(start), end: Int32(end))) }
            }
        }
    }

    /// Most keys have one source, stored in the value itself; building an array for it cost an
    /// allocation per match.
    @inline(__always)
    private func forEachSource(_ value: UInt32, _ body: (UInt32) -> Void) {
        if value & ListIndexBuilder.setFlag == 0 {
            body(value)
        } else {
            for source in sourceSets[Int(value & ~ListIndexBuilder.setFlag)] { body(source) }
        }
    }
}

enum URLEntryPaths {
    /// Where a `urls` entry may end inside a request path: before each `/` after the first, at
    /// `?`, at each `&` of the query, and at the end (a trailing `/` ignored). Checking every
    /// boundary, not just the longest, is what keeps a short entry from hiding behind a longer one.
    static func boundaries(in path: UnsafeBufferPointer<UInt8>) -> [Int] {
        var ends: [Int] = []
        var inQuery = false
        for index in path.indices where index > 0 {
            switch path[index] {
            case UInt8(ascii: "/") where !inQuery: ends.append(index)
            case UInt8(ascii: "?") where !inQuery: inQuery = true; ends.append(index)
            case UInt8(ascii: "&") where inQuery: ends.append(index)
            default: break
            }
        }
        var end = path.count
        while end > 1, path[end - 1] == UInt8(ascii: "/") { end -= 1 }
        if end > 1, ends.last != end { ends.append(end) }
        return ends
    }

    /// The stored form of a `urls` entry's path: normalised, trailing slashes removed.
    static func entryPath(_ raw: some StringProtocol) -> String {
        var path = PathNormaliser.normalise(raw)
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path
    }
}
