import NIOHTTP1

/// What a forwarded request keeps and loses on its way upstream.
extension ProxyRequestHandler {
    /// RFC 9110 §9.2.2: the methods a proxy may send again after a connection failure.
    static let idempotent: [HTTPMethod] = [.GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE]

    /// RFC 9110 §7.6.2: an OPTIONS or TRACE with Max-Forwards 0 is answered by the proxy itself.
    static func maxForwardsAnswer(_ head: HTTPRequestHead) -> String? {
        guard head.method == .OPTIONS || head.method == .TRACE,
              let value = head.headers.first(name: "Max-Forwards").flatMap(Int.init), value <= 0 else { return nil }
        return "Answered by schoolgate: Max-Forwards reached 0.\n"
    }

    /// `http://host:port/path?q` → `/path?q`, kept as the client wrote it (origin servers get
    /// the request they were sent; normalising is for matching only).
    static func originForm(_ uri: String) -> String {
        // Byte searches: the delimiters are ASCII, and this runs for every request.
        let utf8 = uri.utf8
        var colon = utf8.startIndex
        while true {
            guard let found = utf8[colon...].firstIndex(of: UInt8(ascii: ":")) else { return uri }
            if utf8[found...].starts(with: "://".utf8) { colon = found; break }
            colon = utf8.index(after: found)
        }
        let authority = utf8.index(colon, offsetBy: 3)
        guard let slash = utf8[authority...].firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) else { return "/" }
        let path = String(uri[slash...])
        return utf8[slash] == UInt8(ascii: "?") ? "/" + path : path
    }
}

enum HopByHop {
    /// RFC 9110 §7.6.1: fields for this connection only, never forwarded. Framing fields
    /// (Content-Length, Transfer-Encoding) stay: NIO's encoder frames the body from them.
    static let fields = ["connection", "proxy-connection", "keep-alive", "te", "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"]

    /// Removes in place (case-insensitively, as `HTTPHeaders` compares names) rather than
    /// copying every field into new headers, and only the fields present: this runs twice for
    /// every request, and each `remove` is a scan of every field.
    static func stripped(_ headers: HTTPHeaders) -> HTTPHeaders {
        var present: [String] = []
        var listed: [Substring] = []
        for (name, value) in headers where isHopByHop(name) {
            if !present.contains(where: { equalIgnoringCase($0, name) }) { present.append(name) }
            if equalIgnoringCase(name, "connection") {
                listed += value.split(separator: ",").map { $0.trimmingSpaces() }
            }
        }
        guard !present.isEmpty else { return headers }
        var result = headers
        for token in listed where !token.isEmpty {
            if !equalIgnoringCase(token, "content-length") && !equalIgnoringCase(token, "transfer-encoding") { result.remove(name: String(token)) }
        }
        for name in present { result.remove(name: name) }
        return result
    }

    static func isHopByHop(_ name: String) -> Bool {
        // Most fields are ruled out by their length alone.
        switch name.utf8.count {
        case 2, 7, 10, 16, 18, 19: fields.contains { equalIgnoringCase($0, name) }
        default: false
        }
    }

    /// ASCII case-insensitive equality, without lower-cased copies.
    static func equalIgnoringCase(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        a.utf8.elementsEqual(b.utf8) { x, y in
            x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= UInt8(ascii: "a") && (x | 0x20) <= UInt8(ascii: "z"))
        }
    }
}

extension Substring {
    /// RFC 9110 §5.6.1 list elements are separated by optional spaces and tabs: trimmed by byte,
    /// not with Foundation's character sets, which cost more than all the rest of this file.
    func trimmingSpaces() -> Substring {
        var slice = self
        while let first = slice.utf8.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { slice = slice.dropFirst() }
        while let last = slice.utf8.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { slice = slice.dropLast() }
        return slice
    }
}
