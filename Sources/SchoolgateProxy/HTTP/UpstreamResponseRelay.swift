import NIOCore
import NIOHTTP1

/// Sits in the upstream channel and hands the origin's response to the client, part by part.
/// It reads from upstream only while the client can take more, so a large download moves at the
/// client's pace in bounded memory instead of piling up in the proxy.
final class UpstreamResponseRelay: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// The client being served; nil while the connection waits in the pool.
    private var downstream: ChannelHandlerContext?
    private var owner: ProxyRequestHandler?
    private let pool: UpstreamPool
    private var upstreamContext: ChannelHandlerContext?
    private var pendingRead = false
    private var finished = false
    /// Serving a request; false while the connection waits idle for the client's next one.
    private var inUse = true
    private var keepAlive = false
    private(set) var responseStarted = false
    private(set) var status = 502
    private(set) var bodyBytes: Int64 = 0
    /// The origin or the client uses connection-oriented authentication (NTLM, Negotiate):
    /// the connection now speaks for one user and is kept for that client connection only,
    /// never put in the shared pool (RFC 4559 §6 and Squid's connection pinning).
    var pinned = false

    /// Readies the relay for the next response on a reused connection, for `owner`'s client.
    func beginResponse(for owner: ProxyRequestHandler, downstream: ChannelHandlerContext) {
        self.owner = owner
        self.downstream = downstream
        inUse = true
        finished = false
        responseStarted = false
        keepAlive = false
        status = 502
        bodyBytes = 0
    }

    init(downstream: ChannelHandlerContext, owner: ProxyRequestHandler, pool: UpstreamPool) {
        self.downstream = downstream
        self.owner = owner
        self.pool = pool
    }

    /// Lets go of the client whose response has ended, before the connection waits in the pool.
    func detach() {
        owner = nil
        downstream = nil
    }

    func handlerAdded(context: ChannelHandlerContext) { upstreamContext = context }
    func handlerRemoved(context: ChannelHandlerContext) { upstreamContext = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Nothing an origin sends on an idle connection may reach the client as a response.
        guard inUse, let downstream, let owner else {
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            responseStarted = true
            status = Int(head.status.code)
            keepAlive = head.isKeepAlive
            if !pinned, head.status == .unauthorized, Self.connectionOriented(head.headers[canonicalForm: "WWW-Authenticate"]) { pinned = true }
            var response = HTTPResponseHead(version: .http1_1, status: head.status)
            response.headers = HopByHop.stripped(head.headers)
            response.headers.add(name: "Via", value: "1.1 schoolgate")
            owner.frameResponse(&response)
            downstream.write(NIOAny(HTTPServerResponsePart.head(response)), promise: nil)
        case .body(let body):
            bodyBytes += Int64(body.readableBytes)
            downstream.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
        case .end(let trailers):
            finished = true
            inUse = false
            downstream.writeAndFlush(NIOAny(HTTPServerResponsePart.end(trailers)), promise: nil)
            owner.upstreamFinished(context: downstream, completely: true, reusable: keepAlive)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { downstream?.flush() }

    func channelInactive(context: ChannelHandlerContext) {
        if !inUse {
            // Idle, a pinned connection waits with its client; any other, in the pool.
            if pinned { owner?.idleUpstreamClosed(context.channel) } else { pool.remove(context.channel) }
        } else if !finished, let owner, let downstream {
            // Upstream went away before the response ended: the client cannot trust what it got.
            owner.upstreamFinished(context: downstream, completely: false, reusable: false)
        }
    }

    /// Authentication schemes that authenticate the connection rather than each request.
    static func connectionOriented<S: Sequence>(_ values: S) -> Bool where S.Element: StringProtocol {
        values.contains { value in
            let scheme = value.prefix { $0 != " " }.lowercased()
            return scheme == "ntlm" || scheme == "negotiate"
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { owner?.upstreamBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        // Idle, it keeps reading, so that the origin closing it is noticed.
        if downstream?.channel.isWritable ?? true { context.read() } else { pendingRead = true }
    }

    func downstreamBecameWritable() {
        guard pendingRead, let context = upstreamContext else { return }
        pendingRead = false
        context.read()
    }
}
