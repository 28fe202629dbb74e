/// A URL as the filter sees it: host, optional port, and the path only where the proxy can see it.
public struct RequestURL: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String?
    public var host: HostName
    public var port: Int?
    /// Normalised path and query (`PathNormaliser`); nil when not visible, as inside an HTTPS tunnel.
    public var path: String?

    public init(scheme: String?, host: HostName, port: Int?, path: String?) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
    }

    /// Accepts `http://host[:port]/path?query`, `https://…`, and the scheme-less `host/path` that
    /// list files use. User info (`http://trusted.example@other.example/`) is dropped: the host is
    /// what follows the `@`, as a browser would connect to it.
    public init(parsing raw: String) throws(URLParseError) {
        // Searched byte by byte: every proxied request comes through here, and Character-level
        // and Foundation searches cost more than the rest of the parse. The delimiters are ASCII,
        // so their byte positions are valid indices of the string too.
        var rest = raw.trimmingWhitespace()
        guard !rest.isEmpty else { throw URLParseError("empty URL") }
        if let schemeEnd = Self.schemeEnd(rest.utf8) {
            let scheme = rest[..<schemeEnd].lowercased()
            guard !scheme.isEmpty, scheme.utf8.allSatisfy({ Self.isSchemeByte($0) }) else {
                throw URLParseError("bad scheme '\(scheme)'")
            }
            self.scheme = scheme
            rest = rest[rest.utf8.index(schemeEnd, offsetBy: 3)...]
        } else {
            self.scheme = nil
        }
        let authorityEnd = rest.utf8.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.utf8.lastIndex(of: UInt8(ascii: "@")) { authority = authority[authority.utf8.index(after: at)...] }
        let (hostText, port) = try Self.splitPort(authority)
        do {
            self.host = try HostName(hostText)
        } catch {
            throw URLParseError("host '\(hostText)': \(error.reason)")
        }
        self.port = port.flatMap { $0 == Self.defaultPort(for: scheme) ? nil : $0 }
        let pathText = rest[authorityEnd...]
        self.path = pathText.isEmpty ? "/" : PathNormaliser.normalise(pathText)
    }

    /// Where `://` starts, if anywhere.
    private static func schemeEnd(_ utf8: Substring.UTF8View) -> Substring.Index? {
        var index = utf8.startIndex
        while let colon = utf8[index...].firstIndex(of: UInt8(ascii: ":")) {
            let first = utf8.index(after: colon)
            guard first != utf8.endIndex else { return nil }
            let second = utf8.index(after: first)
            if utf8[first] == UInt8(ascii: "/"), second != utf8.endIndex, utf8[second] == UInt8(ascii: "/") { return colon }
            index = first
        }
        return nil
    }

    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."): true
        default: false
        }
    }

    public var description: String {
        // Built in one buffer: every proxied request's visit carries it.
        let hostText = host.urlForm
        var text = ""
        text.reserveCapacity((scheme?.utf8.count ?? 0) + 3 + hostText.utf8.count + 6 + (path?.utf8.count ?? 0))
        if let scheme {
            text += scheme
            text += "://"
        }
        text += hostText
        if let port {
            text += ":"
            text += String(port)
        }
        if let path { text += path }
        return text
    }

    public static func defaultPort(for scheme: String?) -> Int? {
        switch scheme {
        case "http": 80
        case "https": 443
        default: nil
        }
    }

    private static func splitPort(_ authority: Substring) throws(URLParseError) -> (Substring, Int?) {
        // Bytes, not Characters: walking a Substring by Character runs grapheme-break checks.
        let utf8 = authority.utf8
        let portStart: Substring.Index?
        if utf8.first == UInt8(ascii: "[") {
            guard let close = utf8.firstIndex(of: UInt8(ascii: "]")) else { throw URLParseError("'[' without ']' in host") }
            let after = utf8.index(after: close)
            if after == utf8.endIndex { return (authority, nil) }
            guard utf8[after] == UInt8(ascii: ":") else { throw URLParseError("unexpected text after ']'") }
            portStart = after
        } else {
            portStart = utf8.firstIndex(of: UInt8(ascii: ":"))
        }
        guard let colon = portStart else { return (authority, nil) }
        let digits = authority[utf8.index(after: colon)...]
        if digits.isEmpty { return (authority[..<colon], nil) }
        guard let port = Int(digits), (1...65535).contains(port) else { throw URLParseError("bad port '\(digits)'") }
        return (authority[..<colon], port)
    }
}

public struct URLParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// One canonical form for paths, so that encoding tricks and `..` cannot walk round a `urls` entry:
/// the fragment dropped; percent-encoding decoded except where decoding would change the
/// structure (`/ ? # % & = +`, controls, space, non-ASCII, which stay encoded); a stray `%` is
/// written `%25`; non-ASCII bytes
/// percent-encoded; repeated slashes collapsed and dot segments removed (RFC 3986 §5.2.4) in
/// the path part; everything lower-cased, as squidGuard does, so matching ignores case.
public enum PathNormaliser {
    public static func normalise(_ raw: some StringProtocol) -> String {
        simpleForm(raw) ?? fullForm(raw)
    }

    static func fullForm(_ raw: some StringProtocol) -> String {
        var bytes = Array(raw.utf8)
        if let hash = bytes.firstIndex(of: UInt8(ascii: "#")) { bytes.removeSubrange(hash...) }
        let question = bytes.firstIndex(of: UInt8(ascii: "?"))
        var path = canonicalEncoding(bytes[..<(question ?? bytes.count)])
        if path.first != UInt8(ascii: "/") { path.insert(UInt8(ascii: "/"), at: 0) }
        path = removeDotSegments(collapseSlashes(path))
        if let question, question + 1 < bytes.count {
            path.append(UInt8(ascii: "?"))
            path.append(contentsOf: canonicalEncoding(bytes[(question + 1)...]))
        }
        return String(decoding: path, as: UTF8.self)
    }

    private static let keptEncoded: Set<UInt8> = Set("/?#%&=+".utf8)

    /// Most request paths need lower-casing at most: printable ASCII starting with `/`, with no
    /// escape, fragment, repeated slash or dot segment in the path. Those take one pass here
    /// instead of the four below (every proxied request comes through); anything else, nil.
    static func simpleForm(_ raw: some StringProtocol) -> String? {
        var inPath = true
        var previous: UInt8 = 0
        var upper = false
        guard raw.utf8.first == UInt8(ascii: "/") else { return nil }
        for byte in raw.utf8 {
            if byte <= 0x20 || byte >= 0x7f || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "#") { return nil }
            if inPath {
                if byte == UInt8(ascii: "?") {
                    inPath = false
                } else if previous == UInt8(ascii: "/"), byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".") {
                    return nil
                }
            }
            if byte.asciiLowercased != byte { upper = true }
            previous = byte
        }
        // A `?` with nothing after it is dropped below.
        if previous == UInt8(ascii: "?") { return nil }
        guard upper else { return String(raw) }
        return String(unsafeUninitializedCapacity: raw.utf8.count) { buffer in
            for (index, byte) in raw.utf8.enumerated() {
                buffer[index] = byte.asciiLowercased
            }
            return raw.utf8.count
        }
    }

    private static func canonicalEncoding(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        func appendEncoded(_ byte: UInt8) {
            let digits = Array("0123456789abcdef".utf8)
            output.append(UInt8(ascii: "%"))
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0xf)])
        }
        while index < bytes.endIndex {
            var byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.endIndex,
               let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                let decoded = high << 4 | low
                index += 3
                if decoded <= 0x20 || decoded >= 0x7f || keptEncoded.contains(decoded) {
                    appendEncoded(decoded)
                    continue
                }
                byte = decoded
            } else {
                index += 1
                // A stray `%` is itself encoded, or decoding its neighbours could make a new
                // escape on a second pass (`%4%41` → `%4A`), and one path would have two forms.
                if byte <= 0x20 || byte >= 0x7f || byte == UInt8(ascii: "%") {
                    appendEncoded(byte)
                    continue
                }
            }
            output.append(byte.asciiLowercased)
        }
        return output
    }

    private static func collapseSlashes(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        for byte in bytes where !(byte == UInt8(ascii: "/") && output.last == UInt8(ascii: "/")) {
            output.append(byte)
        }
        return output
    }

    private static func removeDotSegments(_ bytes: [UInt8]) -> [UInt8] {
        let segments = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        var kept: [ArraySlice<UInt8>] = []
        var trailingSlash = false
        for segment in segments {
            trailingSlash = false
            if segment.elementsEqual(".".utf8) {
                trailingSlash = true
            } else if segment.elementsEqual("..".utf8) {
                if !kept.isEmpty { kept.removeLast() }
                trailingSlash = true
            } else {
                kept.append(segment)
            }
        }
        var output: [UInt8] = []
        for segment in kept {
            output.append(UInt8(ascii: "/"))
            output.append(contentsOf: segment)
        }
        if trailingSlash || output.isEmpty { output.append(UInt8(ascii: "/")) }
        return output
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        var slice = Substring(self)
        // Almost every input has nothing to trim; only then is it worth walking Characters.
        if let first = slice.utf8.first, let last = slice.utf8.last, first > 0x20, first < 0x80, last > 0x20, last < 0x80 { return slice }
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return slice
    }
}
