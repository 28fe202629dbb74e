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
        guard let schemeEnd = uri.range(of: "://") else { return uri }
        let rest = uri[schemeEnd.upperBound...]
        guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        let path = String(rest[slash...])
        return path.hasPrefix("?") ? "/" + path : path
    }
}

enum HopByHop {
    /// RFC 9110 §7.6.1: fields for this connection only, never forwarded. Framing fields
    /// (Content-Length, Transfer-Encoding) stay: NIO's encoder frames the body from them.
    static let fields: Set<String> = ["connection", "proxy-connection", "keep-alive", "te", "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"]

    static func stripped(_ headers: HTTPHeaders) -> HTTPHeaders {
        var listed = fields
        for value in headers["connection"] {
            for token in value.split(separator: ",") { listed.insert(token.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        listed.remove("content-length")
        listed.remove("transfer-encoding")
        var result = HTTPHeaders()
        for (name, value) in headers where !listed.contains(name.lowercased()) { result.add(name: name, value: value) }
        return result
    }
}
