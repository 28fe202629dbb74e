import Foundation

/// A host reduced to the one text form that lists and requests are compared in.
///
/// List entries and requests go through the same `HostNormaliser`, so a rule written
/// `Example.COM.` in a list and a request for `http://EXAMPLE.com:80/` meet as `example.com`.
public struct HostName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable { case domain, ipv4, ipv6 }

    /// Lower-case, punycoded, no trailing dot; IPv4 dotted decimal; IPv6 in RFC 5952 form without brackets.
    public let text: String
    public let kind: Kind

    public init(_ raw: some StringProtocol) throws(HostNameError) {
        // Most hosts arrive in canonical form already: taken as they are, without the copies.
        if let kind = raw.utf8.withContiguousStorageIfAvailable(HostNormaliser.canonicalKind) ?? nil {
            self.text = String(raw)
            self.kind = kind
            return
        }
        var output: [UInt8] = []
        var utf8 = Array(raw.utf8)
        let kind = utf8.withUnsafeMutableBufferPointer { HostNormaliser.normalise(UnsafeBufferPointer($0), into: &output) }
        switch kind {
        case .success(let kind):
            self.kind = kind
            self.text = String(decoding: output, as: UTF8.self)
        case .failure(let error):
            throw error
        }
    }

    init(normalisedText: String, kind: Kind) {
        self.text = normalisedText
        self.kind = kind
    }

    public var description: String { text }
    public static func < (lhs: HostName, rhs: HostName) -> Bool { lhs.text < rhs.text }

    /// How the host is written inside a URL (IPv6 needs its brackets back).
    public var urlForm: String { kind == .ipv6 ? "[\(text)]" : text }
}

public struct HostNameError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The byte-level normaliser behind `HostName`, exposed so list loading can normalise millions
/// of entries into one reused buffer without building a `String` for each.
public enum HostNormaliser {
    private static let maxLength = 253

    /// The kind of a host already in canonical form (written as `normalise` would write it); nil
    /// for any other, which `normalise` must see.
    static func canonicalKind(_ input: UnsafeBufferPointer<UInt8>) -> HostName.Kind? {
        if isCanonicalName(input) { return .domain }
        if isCanonicalIPv4(input) { return .ipv4 }
        return nil
    }

    public static func normalise(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) -> Result<HostName.Kind, HostNameError> {
        output.removeAll(keepingCapacity: true)
        if isCanonicalName(input) {
            output.append(contentsOf: input)
            return .success(.domain)
        }
        if isCanonicalIPv4(input) {
            output.append(contentsOf: input)
            return .success(.ipv4)
        }
        let all = Array(input)
        var slice = trimmed(all[...])
        guard !slice.isEmpty else { return .failure(HostNameError("empty host")) }

        if slice.first == UInt8(ascii: "[") {
            guard let close = slice.firstIndex(of: UInt8(ascii: "]")) else {
                return .failure(HostNameError("'[' without a closing ']'"))
            }
            let rest = slice[(close + 1)...]
            if !rest.isEmpty, !isPort(rest.dropFirst()) || rest.first != UInt8(ascii: ":") {
                return .failure(HostNameError("unexpected text after ']'"))
            }
            return ipv6(slice[(slice.startIndex + 1)..<close], into: &output)
        }
        let colons = slice.reduce(0) { $0 + ($1 == UInt8(ascii: ":") ? 1 : 0) }
        if colons >= 2 { return ipv6(slice, into: &output) }
        if colons == 1, let colon = slice.firstIndex(of: UInt8(ascii: ":")) {
            guard isPort(slice[(colon + 1)...]) else { return .failure(HostNameError("port is not a number")) }
            slice = slice[..<colon]
        }

        var bytes = Array(slice)
        if bytes.contains(UInt8(ascii: "%")) {
            guard let decoded = percentDecoded(bytes) else {
                return .failure(HostNameError("bad percent-encoding"))
            }
            bytes = decoded
        }
        if bytes.contains(where: { $0 >= 0x80 }) {
            guard let ascii = idnaToASCII(bytes) else {
                return .failure(HostNameError("international name that cannot be converted to punycode"))
            }
            bytes = ascii
        }
        for index in bytes.indices where bytes[index] >= UInt8(ascii: "A") && bytes[index] <= UInt8(ascii: "Z") {
            bytes[index] |= 0x20
        }
        var start = 0, end = bytes.count
        while end > start, bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
        // Lists in Squid's dstdomain style write ".example.com", adblock-like ones "*.example.com":
        // both mean the domain and everything below it, which is what every domain entry means here.
        if end - start >= 2, bytes[start] == UInt8(ascii: "*"), bytes[start + 1] == UInt8(ascii: ".") { start += 2 }
        while start < end, bytes[start] == UInt8(ascii: ".") { start += 1 }
        guard start < end else { return .failure(HostNameError("empty host")) }
        let name = bytes[start..<end]

        if IPv4.endsInANumber(name) {
            guard let address = IPv4.parse(name) else { return .failure(HostNameError("not a valid IPv4 address")) }
            output.append(contentsOf: IPv4.format(address).utf8)
            return .success(.ipv4)
        }
        return validateName(name, into: &output)
    }

    /// Most list lines are already canonical (`example.com`): recognising them without copying
    /// is what lets millions of entries load in a few seconds.
    @inline(__always)
    private static func isCanonicalName(_ input: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !input.isEmpty, input.count <= maxLength else { return false }
        var labelLength = 0
        var lastLabelHasLetter = false
        for byte in input {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                labelLength += 1
                lastLabelHasLetter = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                labelLength += 1
            case UInt8(ascii: "."):
                if labelLength == 0 { return false }
                labelLength = 0
                lastLabelHasLetter = false
            default:
                return false
            }
            if labelLength > 63 { return false }
        }
        // A last label without letters ("1.2.3.4", "example.123") is IPv4 business: slow path.
        // "0x1f" has a letter but is hex: the slow path sorts that out too.
        guard labelLength > 0, lastLabelHasLetter else { return false }
        let lastLabel = input.count - labelLength
        return !(labelLength >= 2 && input[lastLabel] == UInt8(ascii: "0") && input[lastLabel + 1] == UInt8(ascii: "x"))
    }

    /// `192.168.0.1` as `IPv4.format` writes it: four decimal numbers up to 255, no leading zeros.
    @inline(__always)
    private static func isCanonicalIPv4(_ input: UnsafeBufferPointer<UInt8>) -> Bool {
        var parts = 0, value = 0, digits = 0, leadingZero = false
        for byte in input {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if leadingZero { return false }
                if digits == 0, byte == UInt8(ascii: "0") { leadingZero = true }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                if value > 255 { return false }
            case UInt8(ascii: "."):
                if digits == 0 { return false }
                parts += 1
                value = 0
                digits = 0
                leadingZero = false
            default:
                return false
            }
        }
        return parts == 3 && digits > 0
    }

    private static func validateName(_ name: ArraySlice<UInt8>, into output: inout [UInt8]) -> Result<HostName.Kind, HostNameError> {
        guard name.count <= maxLength else { return .failure(HostNameError("longer than 253 characters")) }
        var labelLength = 0
        for byte in name {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"):
                labelLength += 1
                if labelLength > 63 { return .failure(HostNameError("a label is longer than 63 characters")) }
            case UInt8(ascii: "."):
                if labelLength == 0 { return .failure(HostNameError("empty label (two dots together)")) }
                labelLength = 0
            default:
                return .failure(HostNameError("\(describe(byte)) is not allowed in a host name"))
            }
        }
        output.append(contentsOf: name)
        return .success(.domain)
    }

    private static func ipv6(_ text: ArraySlice<UInt8>, into output: inout [UInt8]) -> Result<HostName.Kind, HostNameError> {
        let string = String(decoding: text, as: UTF8.self)
        guard let bytes = IPv6.parse(Substring(string)) else { return .failure(HostNameError("not a valid IPv6 address")) }
        if let v4 = IPv6.mappedIPv4(bytes) {
            output.append(contentsOf: IPv4.format(v4).utf8)
            return .success(.ipv4)
        }
        output.append(contentsOf: IPv6.format(bytes).utf8)
        return .success(.ipv6)
    }

    private static func trimmed(_ slice: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = slice
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 || last == 0x0d { slice = slice.dropLast() }
        return slice
    }

    private static func isPort(_ text: ArraySlice<UInt8>) -> Bool {
        !text.isEmpty && text.count <= 5 && text.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    private static func idnaToASCII(_ bytes: [UInt8]) -> [UInt8]? {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        // UTS 46 maps these full stops to ".", so browsers treat them as label separators.
        let dots: Set<Character> = ["\u{3002}", "\u{FF0E}", "\u{FF61}"]
        let unified = String(text.lowercased().precomposedStringWithCanonicalMapping.map { dots.contains($0) ? "." : $0 })
        var labels: [String] = []
        for label in unified.split(separator: ".", omittingEmptySubsequences: false) {
            if label.unicodeScalars.allSatisfy(\.isASCII) {
                labels.append(String(label))
            } else {
                guard let encoded = Punycode.encode(String(label)) else { return nil }
                labels.append("xn--" + encoded)
            }
        }
        return Array(labels.joined(separator: ".").utf8)
    }

    private static func describe(_ byte: UInt8) -> String {
        if byte == 0x20 { return "a space" }
        return byte >= 0x21 && byte < 0x7f ? "character '\(Character(Unicode.Scalar(byte)))'" : String(format: "byte 0x%02X", byte)
    }
}

/// Decodes every %XX; nil when a `%` is not followed by two hex digits.
func percentDecoded(_ bytes: [UInt8]) -> [UInt8]? {
    var result: [UInt8] = []
    result.reserveCapacity(bytes.count)
    var index = 0
    while index < bytes.count {
        if bytes[index] == UInt8(ascii: "%") {
            guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                return nil
            }
            result.append(high << 4 | low)
            index += 3
        } else {
            result.append(bytes[index])
            index += 1
        }
    }
    return result
}
