import Foundation

/// One list file (or one part of it) that entries came from: the unit a decision names.
public struct ListSource: Sendable, Hashable, Codable {
    public var category: String
    public var file: String
    public var format: String

    public init(category: String, file: String, format: String) {
        self.category = category
        self.file = file
        self.format = format
    }
}

public struct ListMatch: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case domain, url, expression }
    public var source: ListSource
    /// The entry as it stands in normalised form: a domain, `host/path`, or the regular expression.
    public var entry: String
    public var kind: Kind
}

/// Every list entry of every category, compiled for lookup.
///
/// Matching rules (README, "Matching"): a domain entry covers the name and every name below it;
/// a `urls` entry covers its host (and subdomains) with the path at or below it, on segment
/// boundaries; expressions are case-insensitive regular expressions over `host/path`; an
/// exception entry (adblock `@@`) removes its category from a name it covers.
public struct ListIndex: Sendable {
    public let sources: [ListSource]
    let domains: FingerprintTable
    let exceptions: FingerprintTable
    let urlHosts: FingerprintTable
    let urls: FingerprintTable
    let expressions: [(source: UInt32, pattern: String, regex: NSRegularExpression)]
    /// Values with the top bit set index here: keys that more than one source listed.
    let sourceSets: [[UInt32]]

    public static let empty = ListIndex(
        sources: [], domains: .empty, exceptions: .empty, urlHosts: .empty, urls: .empty,
        expressions: [], sourceSets: [])

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
        hostText.withUTF8 { hostBytes in
            forEachSuffix(of: hostBytes, kind: host.kind) { suffix in
                let key = Fingerprint.of(suffix)
                if let value = domains.value(for: key) {
                    for source in sourceIDs(value) {
                        results.append(ListMatch(source: sources[Int(source)], entry: String(decoding: suffix, as: UTF8.self), kind: .domain))
                    }
                }
                if !exceptions.isEmpty, let value = exceptions.value(for: key) {
                    excepted.append(contentsOf: sourceIDs(value).map { sources[Int($0)].category })
                }
                if let path, !urls.isEmpty, urlHosts.value(for: key) != nil {
                    matchURLs(hostSuffix: suffix, path: path, into: &results)
                }
            }
        }
        if !expressions.isEmpty {
            let subject = host.urlForm + (path ?? "")
            let range = NSRange(subject.startIndex..., in: subject)
            for expression in expressions where expression.regex.firstMatch(in: subject, range: range) != nil {
                results.append(ListMatch(source: sources[Int(expression.source)], entry: expression.pattern, kind: .expression))
            }
        }
        if !excepted.isEmpty {
            results.removeAll { excepted.contains($0.source.category) }
        }
        return results
    }

    private func matchURLs(hostSuffix: UnsafeBufferPointer<UInt8>, path: String, into results: inout [ListMatch]) {
        var hostPrint = Fingerprint()
        hostPrint.add(hostSuffix)
        var pathText = path
        pathText.withUTF8 { pathBytes in
            for end in URLEntryPaths.boundaries(in: pathBytes) {
                var print = hostPrint
                print.add(UnsafeBufferPointer(rebasing: pathBytes[0..<end]))
                guard let value = urls.value(for: print.finish()) else { continue }
                let entry = String(decoding: hostSuffix, as: UTF8.self) + String(decoding: pathBytes[0..<end], as: UTF8.self)
                for source in sourceIDs(value) {
                    results.append(ListMatch(source: sources[Int(source)], entry: entry, kind: .url))
                }
            }
        }
    }

    @inline(__always)
    private func sourceIDs(_ value: UInt32) -> [UInt32] {
        value & ListIndexBuilder.setFlag == 0 ? [value] : sourceSets[Int(value & ~ListIndexBuilder.setFlag)]
    }
}

/// Calls `body` with the host and each parent domain (`a.b.c`, `b.c`, `c`); an IP literal only as a whole.
@inline(__always)
func forEachSuffix(of host: UnsafeBufferPointer<UInt8>, kind: HostName.Kind, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    body(host)
    guard kind == .domain else { return }
    for index in host.indices where host[index] == UInt8(ascii: ".") && index + 1 < host.count {
        body(UnsafeBufferPointer(rebasing: host[(index + 1)...]))
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
