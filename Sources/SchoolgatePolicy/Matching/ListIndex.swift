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
        var results: [ListMatch] = []
        var excepted: [String] = []
        var hostText = host.text
        hostText.makeContiguousUTF8()
        let text = hostText
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
                    func suffix(_ i: Int) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: hostBytes[starts[i]...]) }
                    domains.values(for: keys) { i, value in
                        // The offset is on a label boundary, so a valid index of the text.
                        let entry = text[text.utf8.index(text.utf8.startIndex, offsetBy: starts[i])...]
                        forEachSource(value) { results.append(ListMatch(source: sources[Int($0)], entryText: entry, kind: .domain, sourceID: Int32($0))) }
                    }
                    exceptions.values(for: keys) { _, value in
                        forEachSource(value) { excepted.append(sources[Int($0)].category) }
                    }
                    if let path, !urls.isEmpty {
                        urlHosts.values(for: keys) { i, _ in matchURLs(hostSuffix: suffix(i), path: path, into: &results) }
                    }
                }
            }
        }
        if !expressions.isEmpty {
            let subject = host.urlForm + (path ?? "")
            for expression in expressions where expression.matches(subject) {
                results.append(ListMatch(source: sources[Int(expression.source)], entryText: Substring(expression.pattern), kind: .expression,
                                         sourceID: Int32(expression.source)))
            }
        }
        if !excepted.isEmpty {
            results.removeAll { excepted.contains($0.source.category) }
        }
        return results
    }

    private func matchURLs(hostSuffix: UnsafeBufferPointer<UInt8>, path: String, into results: inout [ListMatch]) {
        let hostPrint = Fingerprint.reversed(hostSuffix)
        var pathText = path
        pathText.withUTF8 { pathBytes in
            for end in URLEntryPaths.boundaries(in: pathBytes) {
                var print = hostPrint
                print.add(UnsafeBufferPointer(rebasing: pathBytes[0..<end]))
                guard let value = urls.value(for: print.finish()) else { continue }
                let entry = String(decoding: hostSuffix, as: UTF8.self) + String(decoding: pathBytes[0..<end], as: UTF8.self)
                forEachSource(value) { results.append(ListMatch(source: sources[Int($0)], entryText: Substring(entry), kind: .url, sourceID: Int32($0))) }
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
