import Foundation
import SchoolgatePolicy

/// The list file formats Schoolgate reads.
public enum ListFormat: String, CaseIterable, Sendable {
    /// One domain (or IP) per line; `#` comments. squidGuard's `domains` files are this.
    case domains
    /// `host/path` per line (a bare host covers the whole site). squidGuard's `urls` files.
    case urls
    /// One regular expression per line. squidGuard's `expressions` files.
    case expressions
    /// A hosts file: `0.0.0.0 name [name…]`, `127.0.0.1 name`, comments.
    case hosts
    /// The domain subset of adblock syntax: `||example.com^`, exceptions `@@||example.com^`.
    case adblock
    /// A squidGuard / UT1 category folder holding `domains`, `urls`, `expressions`, `usage`.
    case squidguard
}

/// Reads list files into a `ListIndexBuilder`, recording the lines it had to skip.
struct ListReader {
    var builder = ListIndexBuilder()
    var problems = ListProblems()

    /// Adds one file (or squidGuard folder) to `category`; returns how many entries it gave.
    mutating func read(_ format: ListFormat, path: String, category: String) throws(ListFileError) -> Int {
        switch format {
        case .squidguard:
            return try readSquidGuardFolder(path, category: category)
        case .domains, .urls, .expressions, .hosts, .adblock:
            let source = builder.addSource(ListSource(category: category, file: path, format: format.rawValue))
            return try readFile(format, path: path, source: source)
        }
    }

    private mutating func readSquidGuardFolder(_ path: String, category: String) throws(ListFileError) -> Int {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ListFileError(path: path, reason: "not a squidGuard category folder (no such directory)")
        }
        var total = 0
        var found = false
        for (name, format) in [("domains", ListFormat.domains), ("urls", .urls), ("expressions", .expressions)] {
            let file = (path as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: file) else { continue }
            found = true
            let source = builder.addSource(ListSource(category: category, file: file, format: name))
            total += try readFile(format, path: file, source: source)
        }
        if !found {
            throw ListFileError(path: path, reason: "has none of the files domains, urls or expressions")
        }
        return total
    }

    private mutating func readFile(_ format: ListFormat, path: String, source: UInt32) throws(ListFileError) -> Int {
        var added = 0
        // Moved out and back rather than copied: a copy would duplicate every entry read so far.
        var builder = ListIndexBuilder()
        var problems = ListProblems()
        swap(&builder, &self.builder)
        swap(&problems, &self.problems)
        defer {
            swap(&builder, &self.builder)
            swap(&problems, &self.problems)
        }
        func skip(_ line: Int, _ text: UnsafeBufferPointer<UInt8>, _ reason: String) {
            problems.record(file: path, line: line, text: text, reason: reason)
        }
        try LineReader.forEachLine(path: path) { number, line in
            // In adblock syntax `!` starts a comment and `#` starts element-hiding rules.
            guard let first = line.first, first != UInt8(ascii: "#") || format == .adblock else { return }
            switch format {
            case .domains:
                let entry = beforeComment(line)
                if entry.contains(UInt8(ascii: "/")) {
                    skip(number, line, "a URL in a domains list (put it in a urls list)")
                } else if let error = builder.addDomain(entry, source: source) {
                    skip(number, line, error.reason)
                } else {
                    added += 1
                }
            case .urls:
                let entry = String(decoding: beforeComment(line), as: UTF8.self)
                if let reason = builder.addURL(entry, source: source) { skip(number, line, reason) } else { added += 1 }
            case .expressions:
                let pattern = String(decoding: line, as: UTF8.self)
                if let reason = builder.addExpression(pattern, source: source) { skip(number, line, reason) } else { added += 1 }
            case .hosts:
                added += readHostsLine(line, number: number, source: source, builder: &builder, skip: skip)
            case .adblock:
                added += readAdblockLine(line, number: number, source: source, builder: &builder, skip: skip)
            case .squidguard:
                preconditionFailure("squidGuard folders are read file by file")
            }
        }
        return added
    }
}

/// The part of a line before a ` #` comment, trailing blanks removed. Anything else on the line
/// stays, so that "bad entry.example" is reported rather than quietly read as "bad".
private func beforeComment(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
    var end = 0
    while end < line.count {
        if line[end] == UInt8(ascii: "#"), end == 0 || line[end - 1] == 0x20 || line[end - 1] == 0x09 { break }
        end += 1
    }
    while end > 0, line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
    return UnsafeBufferPointer(rebasing: line[0..<end])
}

/// Names that every hosts file lists for the machine itself; they are not blocklist entries.
private let hostsFileHousekeeping: Set<String> = [
    "localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost", "ip6-loopback",
    "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters", "ip6-allhosts", "0.0.0.0",
]

private func readHostsLine(
    _ line: UnsafeBufferPointer<UInt8>, number: Int, source: UInt32, builder: inout ListIndexBuilder,
    skip: (Int, UnsafeBufferPointer<UInt8>, String) -> Void
) -> Int {
    let text = String(decoding: line, as: UTF8.self)
    let content = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard let address = fields.first else { return 0 }
    guard AddressRange.parseAddress(address) != nil else {
        skip(number, line, "a hosts line must start with an IP address")
        return 0
    }
    guard fields.count >= 2 else {
        skip(number, line, "an address with no name after it")
        return 0
    }
    var added = 0
    for name in fields.dropFirst() where !hostsFileHousekeeping.contains(name.lowercased()) {
        if let error = builder.addDomain(String(name), source: source) {
            skip(number, line, "\(name): \(error.reason)")
        } else {
            added += 1
        }
    }
    return added
}

private func readAdblockLine(
    _ line: UnsafeBufferPointer<UInt8>, number: Int, source: UInt32, builder: inout ListIndexBuilder,
    skip: (Int, UnsafeBufferPointer<UInt8>, String) -> Void
) -> Int {
    var text = Substring(String(decoding: line, as: UTF8.self))
    if text.hasPrefix("!") || text.hasPrefix("[") { return 0 }
    let exception = text.hasPrefix("@@")
    if exception { text = text.dropFirst(2) }
    // `$important` only raises priority among adblock rules; any other option narrows the rule
    // to cases a network filter cannot see, so such rules are skipped rather than over-applied.
    if text.hasSuffix("$important") { text = text.dropLast("$important".count) }
    guard text.hasPrefix("||"), text.hasSuffix("^") else {
        skip(number, line, "unsupported adblock rule (only ||domain^ and @@||domain^ are understood)")
        return 0
    }
    let domain = text.dropFirst(2).dropLast()
    if domain.contains(where: { "/*$".contains($0) }) {
        skip(number, line, "unsupported adblock rule (paths, wildcards and options are not understood)")
        return 0
    }
    if let error = builder.addDomain(String(domain), source: source, exception: exception) {
        skip(number, line, error.reason)
        return 0
    }
    return 1
}
