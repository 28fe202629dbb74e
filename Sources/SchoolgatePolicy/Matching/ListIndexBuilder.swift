import Foundation

/// Collects list entries, normalising each with the same code that normalises requests, and
/// compiles them into a `ListIndex`. Entries that cannot be understood come back as reasons, for
/// the caller to report with the file and line they came from.
public struct ListIndexBuilder {
    static let setFlag: UInt32 = 1 << 31

    private var sources: [ListSource] = []
    private var domains = FingerprintTable.Builder()
    private var exceptions = FingerprintTable.Builder()
    private var urlHosts = FingerprintTable.Builder()
    private var urls = FingerprintTable.Builder()
    private var expressions: [ListExpression] = []
    private var scratch: [UInt8] = []
    private var labelCounts: UInt64 = 0

    public init() {
        scratch.reserveCapacity(256)
    }

    public mutating func addSource(_ source: ListSource) -> UInt32 {
        sources.append(source)
        return UInt32(sources.count - 1)
    }

    /// A domain (or IP) entry; with `exception`, an entry that removes the source's category.
    @discardableResult
    public mutating func addDomain(_ raw: UnsafeBufferPointer<UInt8>, source: UInt32, exception: Bool = false) -> HostNameError? {
        switch HostNormaliser.normalise(raw, into: &scratch) {
        case .failure(let error):
            return error
        case .success(let kind):
            if kind == .domain { labelCounts |= ListIndex.labelBit(scratch.withUnsafeBufferPointer { $0 }) }
            let key = scratch.withUnsafeBufferPointer { Fingerprint.reversed($0).finish() }
            if exception { exceptions.insert(key, source) } else { domains.insert(key, source) }
            return nil
        }
    }

    @discardableResult
    public mutating func addDomain(_ raw: String, source: UInt32, exception: Bool = false) -> HostNameError? {
        var text = raw
        return text.withUTF8 { addDomain($0, source: source, exception: exception) }
    }

    /// A `urls` entry, `host/path` with or without a scheme. An entry whose path is empty or `/`
    /// covers the whole site, so it is stored as a domain entry.
    @discardableResult
    public mutating func addURL(_ raw: String, source: UInt32) -> String? {
        let url: RequestURL
        do {
            url = try RequestURL(parsing: raw)
        } catch {
            return error.reason
        }
        let path = URLEntryPaths.entryPath(url.path ?? "/")
        if path == "/" {
            return addDomain(url.host.text, source: source).map(\.reason)
        }
        var host = url.host.text
        host.withUTF8 { hostBytes in
            if url.host.kind == .domain { labelCounts |= ListIndex.labelBit(hostBytes) }
            var print = Fingerprint.reversed(hostBytes)
            urlHosts.insert(print.finish(), 0)
            var pathText = path
            pathText.withUTF8 { print.add($0) }
            urls.insert(print.finish(), source)
        }
        return nil
    }

    /// A case-insensitive POSIX extended regular expression over `host/path`, as squidGuard reads one.
    @discardableResult
    public mutating func addExpression(_ pattern: String, source: UInt32) -> String? {
        do {
            expressions.append(try ListExpression(source: source, pattern: pattern))
            return nil
        } catch {
            return "not a valid regular expression (\(error))"
        }
    }

    public var entryCount: Int { domains.count + urls.count + expressions.count + exceptions.count }

    public mutating func build() -> ListIndex {
        var sets: [[UInt32]] = []
        var setIndex: [[UInt32]: UInt32] = [:]
        func members(_ value: UInt32) -> [UInt32] {
            value & Self.setFlag == 0 ? [value] : sets[Int(value & ~Self.setFlag)]
        }
        let merge: (UInt32, UInt32) -> UInt32 = { existing, new in
            let current = members(existing)
            let added = members(new).filter { !current.contains($0) }
            if added.isEmpty { return existing }
            let union = (current + added).sorted()
            if let known = setIndex[union] { return known }
            sets.append(union)
            let id = UInt32(sets.count - 1) | Self.setFlag
            setIndex[union] = id
            return id
        }
        let domainTable = domains.build(merge: merge)
        let exceptionTable = exceptions.build(merge: merge)
        let urlHostTable = urlHosts.build { existing, _ in existing }
        let urlTable = urls.build(merge: merge)
        return ListIndex(
            sources: sources, domains: domainTable, exceptions: exceptionTable, urlHosts: urlHostTable,
            urls: urlTable, expressions: expressions, sourceSets: sets, labelCounts: labelCounts)
    }
}
