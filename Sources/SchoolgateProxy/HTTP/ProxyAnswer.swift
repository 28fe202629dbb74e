import NIOCore
import NIOHTTP1

/// A whole response the proxy writes itself (block page, 407, a refusal): small, never cached,
/// with the connection kept or closed as said.
enum ProxyAnswer {
    static func write(_ status: HTTPResponseStatus, headers extra: HTTPHeaders = HTTPHeaders(), body: String, contentType: String, keepAlive: Bool,
                      context: ChannelHandlerContext, wrap: (HTTPServerResponsePart) -> NIOAny) {
        var headers = extra
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        if !headers.contains(name: "Cache-Control") { headers.add(name: "Cache-Control", value: "no-store") }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrap(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !body.isEmpty { context.write(wrap(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil) }
        context.writeAndFlush(wrap(.end(nil)), promise: nil)
    }
}
