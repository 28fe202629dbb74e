import Foundation

/// IP literals as they appear in URLs, list files and client addresses.
///
/// Browsers accept IPv4 in the old `inet_aton` notations (`http://2130706433/`, `http://0x7f.1/`,
/// `http://0177.0.0.1/`), so a filter that only understood dotted decimal could be walked around
/// by rewriting the address. Everything is reduced to one canonical text before matching.
public enum IPv4 {
    /// Parses dotted decimal and the `inet_aton` forms (1 to 4 parts, each decimal, octal with a
    /// leading 0, or hex with 0x), as the WHATWG URL standard does for hosts.
    public static func parse<C: Collection<UInt8>>(_ text: C) -> UInt32? {
        var parts: [UInt64] = []
        var current: [UInt8] = []
        for byte in text {
            if byte == UInt8(ascii: ".") {
                guard let value = parsePart(current) else { return nil }
                parts.append(value)
                current.removeAll(keepingCapacity: true)
                if parts.count > 4 { return nil }
            } else {
                current.append(byte)
            }
        }
        // A single trailing dot is allowed ("1.2.3.4."), as in DNS names.
        if !current.isEmpty {
            guard let value = parsePart(current) else { return nil }
            parts.append(value)
        }
        guard (1...4).contains(parts.count) else { return nil }
        let leading = parts.dropLast()
        guard leading.allSatisfy({ $0 <= 255 }) else { return nil }
        let last = parts[parts.count - 1]
        let lastBits = 8 * (5 - parts.count)
        guard last < (UInt64(1) << UInt64(lastBits)) else { return nil }
        var address: UInt64 = 0
        for (index, part) in leading.enumerated() {
            address |= part << UInt64(24 - 8 * index)
        }
        return UInt32(address | last)
    }

    private static func parsePart(_ part: [UInt8]) -> UInt64? {
        guard !part.isEmpty else { return nil }
        var digits = part[...]
        var radix: UInt64 = 10
        if digits.count >= 2, digits.first == UInt8(ascii: "0"),
           digits[digits.startIndex + 1] | 0x20 == UInt8(ascii: "x") {
            radix = 16
            digits = digits.dropFirst(2)
            if digits.isEmpty { return 0 }
        } else if digits.count >= 2, digits.first == UInt8(ascii: "0") {
            radix = 8
            digits = digits.dropFirst()
        }
        var value: UInt64 = 0
        for byte in digits {
            guard let digit = hexValue(byte), UInt64(digit) < radix else { return nil }
            value = value * radix + UInt64(digit)
            if value > UInt64(UInt32.max) { return nil }
        }
        return value
    }

    public static func format(_ address: UInt32) -> String {
        "\(address >> 24).\((address >> 16) & 0xff).\((address >> 8) & 0xff).\(address & 0xff)"
    }

    /// True when a host's last label is a number, which makes the whole host an IPv4 address
    /// (or an invalid one) rather than a DNS name: the WHATWG "ends in a number" rule.
    static func endsInANumber<C: BidirectionalCollection<UInt8>>(_ host: C) -> Bool {
        var labels = host.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        if labels.last?.isEmpty == true { labels.removeLast() }
        guard let last = labels.last, !last.isEmpty else { return false }
        if last.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) { return true }
        if last.count >= 2, last.first == UInt8(ascii: "0"), last[last.index(after: last.startIndex)] | 0x20 == UInt8(ascii: "x") {
            return last.dropFirst(2).allSatisfy { hexValue($0) != nil }
        }
        return false
    }
}

public enum IPv6 {
    /// Parses RFC 4291 text (with `::`, an embedded dotted IPv4 tail, and no zone id) into 16 bytes.
    public static func parse(_ text: Substring) -> [UInt8]? {
        if text.contains("%") { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = IPv4.parseDottedStrict(piece) else { return nil }
                    result.append(UInt16(v4 >> 16))
                    result.append(UInt16(v4 & 0xffff))
                } else {
                    guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                    result.append(value)
                }
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        var all: [UInt16]
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard head.count == 8 else { return nil }
            all = head
        }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    /// RFC 5952 text: lower-case hex, no leading zeros, the longest run of two or more zero
    /// groups (the first if tied) written as `::`.
    public static func format(_ bytes: [UInt8]) -> String {
        precondition(bytes.count == 16)
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                let length = index - runStart
                if length > bestLength, length >= 2 { bestStart = runStart; bestLength = length }
                runStart = -1
            }
        }
        var text = ""
        var index = 0
        while index < 8 {
            if index == bestStart {
                text += "::"
                index += bestLength
                continue
            }
            if !text.isEmpty, !text.hasSuffix(":") { text += ":" }
            text += String(groups[index], radix: 16)
            index += 1
        }
        return text
    }

    /// `::ffff:a.b.c.d` is the IPv4 address a.b.c.d; treating it as such keeps IPv4 entries
    /// from being bypassed through the mapped form.
    public static func mappedIPv4(_ bytes: [UInt8]) -> UInt32? {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else {
            return nil
        }
        return UInt32(bytes[12]) << 24 | UInt32(bytes[13]) << 16 | UInt32(bytes[14]) << 8 | UInt32(bytes[15])
    }
}

extension IPv4 {
    /// Four decimal parts of one to three digits, each at most 255. Read byte by byte: the proxy
    /// reads every client's address with it, on every request.
    static func parseDottedStrict(_ text: Substring) -> UInt32? {
        var address: UInt32 = 0, part: UInt32 = 0, digits = 0, parts = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                address = address << 8 | part
                parts += 1
                part = 0
                digits = 0
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 3 {
                part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard part <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return address << 8 | part
    }
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}
