import NIOHTTP1
import SchoolgatePolicy

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
        // Which of `fields` are present, as bits: no array to build for the usual one or two.
        var present: UInt16 = 0
        var connectionListsMore = false
        for (name, value) in headers {
            guard let index = hopByHopIndex(name) else { continue }
            present |= 1 << UInt16(index)
            if index == 0, value.utf8.contains(UInt8(ascii: ",")) || !isHopByHopToken(value) { connectionListsMore = true }
        }
        guard present != 0 else { return headers }
        var result = headers
        if connectionListsMore {
            for value in headers["connection"] {
                for token in value.split(separator: ",") {
                    let name = token.trimmingSpaces()
                    if !name.isEmpty, !equalIgnoringCase(name, "content-length"), !equalIgnoringCase(name, "transfer-encoding") {
                        result.remove(name: String(name))
                    }
                }
            }
        }
        for (index, name) in fields.enumerated() where present & (1 << UInt16(index)) != 0 { result.remove(name: name) }
        return result
    }

    /// A Connection value that names nothing beyond the fields always removed (`keep-alive`,
    /// `close`): the common case, with no list to walk.
    private static func isHopByHopToken(_ value: String) -> Bool {
        let token = Substring(value).trimmingSpaces()
        return equalIgnoringCase(token, "close") || hopByHopIndex(token) != nil
    }

    /// Where `name` is in `fields`, if it is one.
    static func hopByHopIndex(_ name: some StringProtocol) -> Int? {
        // Most fields are ruled out by their length alone.
        switch name.utf8.count {
        case 2, 7, 10, 16, 18, 19: fields.firstIndex { equalIgnoringCase($0, name) }
        default: nil
        }
    }

    /// ASCII case-insensitive equality, without lower-cased copies.
    static func equalIgnoringCase(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        a.utf8.elementsEqual(b.utf8) { $0.asciiLowercased == $1.asciiLowercased }
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
