import NIOCore
import NIOHTTP1
import NIOPosix
import SchoolgatePolicy

/// The client side of one proxy connection: decides each request, answers blocked ones itself,
/// forwards allowed ones, and turns an allowed CONNECT into a `TunnelHandler`.
final class ProxyRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ProxyRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        /// We answered already; the rest of the request (its body) is read and dropped.
        case answered(keepAlive: Bool)
        case connectingUpstream(pending: [HTTPClientRequestPart], keepAlive: Bool)
        /// `retry`: the head to send again on a new connection if this one, reused from an
        /// earlier request, turns out to have been closed by the origin (see `retryStale`).
        case forwarding(upstream: Channel, relay: UpstreamResponseRelay, keepAlive: Bool, retry: HTTPRequestHead?)
        /// An allowed CONNECT: waiting for the end of its (empty) request to hand over.
        case openingTunnel(target: HostName, port: Int)
    }

    private var state = State.idle
    /// The request being served, for the visit log.
    var exchange: Exchange?
    private var requestBytes: Int64 = 0
    /// Upstream connections pinned to this client by connection-oriented authentication, for its
    /// next requests; every other connection goes back to the event loop's shared `pool`.
    private var pinnedUpstreams: [(target: UpstreamTarget, channel: Channel, relay: UpstreamResponseRelay)] = []
    private static let maxPinnedUpstreams = 4
    private let pool: UpstreamPool
    private var upstreamTarget: UpstreamTarget?
    /// The request in flight authenticates its connection (NTLM, Negotiate).
    private var requestPinsConnection = false
    /// The request in flight's version and method, for the framing of its response.
    private var clientVersion = HTTPVersion.http1_1
    private var requestMethod = HTTPMethod.GET
    /// The client's request has ended (and so has been, or will be, written upstream whole).
    private var requestEnded = false
    /// Uploads move at the origin's pace: no reading from the client while upstream cannot take
    /// more, nor while more than `maxPendingBytes` wait for the upstream connection.
    private var clientContext: ChannelHandlerContext?
    private var pausedClientRead = false
    private var pendingBytes = 0
    private var clientInputClosed = false
    private static let maxPendingBytes = 1 << 20
    let shared: ProxyContext
    private let encoder: HTTPResponseEncoder
    private let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    private let authentication: ProxyAuthenticationHandler
    /// Set on an intercepted listener: where the device was really connecting.
    let interceptedDestination: SocketAddress?
    /// Who sent the request being served.
    private var who = ClientIdentity.anonymous
    /// The client's address as text, formatted once per connection rather than per request.
    private var clientAddress: String?

    init(shared: ProxyContext, pool: UpstreamPool, encoder: HTTPResponseEncoder, decoder: ByteToMessageHandler<HTTPRequestDecoder>,
         authentication: ProxyAuthenticationHandler, interceptedDestination: SocketAddress? = nil) {
        self.interceptedDestination = interceptedDestination
        self.shared = shared
        self.pool = pool
        self.encoder = encoder
        self.decoder = decoder
        self.authentication = authentication
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (part, state) {
        case (.head(let head, let who), .idle):
            self.who = who
            if let refusal = RequestValidation.check(head, maxURILength: shared.configuration.maxURILength) {
                // The body's framing is in doubt, so nothing after this head can be trusted.
                respond(refusal.status, text: refusal.reason + "\n", keepAlive: false, context: context)
                context.close(promise: nil)
            } else if head.method == .CONNECT {
                beginConnect(head, context: context)
            } else if let answer = Self.maxForwardsAnswer(head) {
                respond(.ok, text: answer, keepAlive: head.isKeepAlive, context: context)
            } else {
                beginRequest(head, context: context)
            }
        case (.body(let body), .connectingUpstream(var pending, let keepAlive)):
            requestBytes += Int64(body.readableBytes)
            pendingBytes += body.readableBytes
            pending.append(.body(.byteBuffer(body)))
            state = .connectingUpstream(pending: pending, keepAlive: keepAlive)
        case (.end(let trailers), .connectingUpstream(var pending, let keepAlive)):
            requestEnded = true
            pending.append(.end(trailers))
            state = .connectingUpstream(pending: pending, keepAlive: keepAlive)
        case (.body(let body), .forwarding(let upstream, _, _, _)):
            requestBytes += Int64(body.readableBytes)
            upstream.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
        case (.end(let trailers), .forwarding(let upstream, _, _, _)):
            requestEnded = true
            upstream.writeAndFlush(HTTPClientRequestPart.end(trailers), promise: nil)
        case (.end, .answered(let keepAlive)):
            state = .idle
            if !keepAlive { context.close(promise: nil) }
        case (.end, .openingTunnel(let target, let port)):
            openTunnel(target: target, port: port, context: context)
        case (.body, .answered), (.body, .openingTunnel):
            break
        default:
            // A new request head while one is still in flight: pipelining is not supported.
            respond(.badRequest, text: "One request at a time, please.\n", keepAlive: false, context: context)
        }
    }

    // MARK: Plain HTTP

    private func beginRequest(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive
        let absolute: String
        if interceptedDestination != nil {
            // Intercepted: the device sent an origin-form request meant for the server itself.
            guard head.uri.hasPrefix("/"), let host = head.headers.first(name: "Host"), !host.isEmpty else {
                respond(.badRequest, text: "A request needs a path and a Host header.\n", keepAlive: false, context: context)
                return
            }
            absolute = "http://" + host + head.uri
        } else {
            guard head.uri.utf8.prefix(7).elementsEqual("http://".utf8, by: { $0.asciiLowercased == $1 }) else {
                respond(.badRequest, text: "This is a proxy: requests must use an absolute http:// URL.\n", keepAlive: keepAlive, context: context)
                return
            }
            absolute = head.uri
        }
        let url: RequestURL
        do {
            url = try RequestURL(parsing: absolute)
        } catch {
            respond(.badRequest, text: "Bad URL: \(error.reason)\n", keepAlive: keepAlive, context: context)
            return
        }
        let (decision, user) = shared.decide(host: url.host, path: url.path, port: url.port, client: clientAddress, who: who)
        exchange = Exchange(started: shared.now(), client: clientAddress ?? "?", method: head.method.rawValue,
                            host: url.host.text, url: url.description, decision: decision, user: user, who: who)
        requestBytes = 0
        clientVersion = head.version
        requestMethod = head.method
        switch decision.verdict {
        case .block, .needsConsent, .needsAuthentication:
            refuse(host: url.host.text, decision: decision, keepAlive: keepAlive, context: context)
            return
        case .allow, .flag:
            // A guest's device asking whether it is online gets the answer it expects, here.
            if shared.identity.consents != nil, let probe = CaptiveProbe.matching(host: url.host.text, path: url.path ?? "/") {
                answerProbe(probe, keepAlive: keepAlive, context: context)
                return
            }
        }
        var upstreamHead = HTTPRequestHead(version: .http1_1, method: head.method, uri: Self.originForm(head.uri))
        upstreamHead.headers = HopByHop.stripped(head.headers)
        if let forwards = head.headers.first(name: "Max-Forwards").flatMap(Int.init), forwards > 0 {
            upstreamHead.headers.replaceOrAdd(name: "Max-Forwards", value: String(forwards - 1))
        }
        upstreamHead.headers.replaceOrAdd(name: "Host", value: url.host.urlForm + (url.port.map { ":\($0)" } ?? ""))
        upstreamHead.headers.add(name: "Via", value: "1.1 schoolgate")
        // SafeSearch: the request (and its Host header) stays as sent; only the address changes.
        // Intercepted requests go where the device was connecting, never where Host points.
        let intercepted = interceptedDestination.flatMap { destination in destination.ipAddress.flatMap { try? HostName($0) } }
        let upstreamHost = decision.connectTo.flatMap { try? HostName($0) } ?? intercepted ?? url.host
        let upstreamPort = decision.connectTo == nil ? interceptedDestination?.port ?? url.port ?? 80 : url.port ?? 80
        if let intercepted { verifyHost(url.host, at: intercepted, context: context) }
        let target = UpstreamTarget(host: upstreamHost, port: upstreamPort)
        upstreamTarget = target
        requestEnded = false
        requestPinsConnection = head.headers.contains(name: "Authorization")
            && UpstreamResponseRelay.connectionOriented(head.headers[canonicalForm: "Authorization"])
        if let idle = takeIdleUpstream(target) {
            idle.relay.beginResponse(for: self, downstream: context)
            state = .forwarding(upstream: idle.channel, relay: idle.relay, keepAlive: keepAlive,
                                retry: Self.idempotent.contains(head.method) ? upstreamHead : nil)
            idle.channel.writeAndFlush(HTTPClientRequestPart.head(upstreamHead), promise: nil)
            return
        }
        state = .connectingUpstream(pending: [.head(upstreamHead)], keepAlive: keepAlive)
        connectUpstream(host: upstreamHost, port: upstreamPort, context: context)
    }

    /// A connection pinned to this client first (its authentication lives there), then one
    /// from the shared pool.
    private func takeIdleUpstream(_ target: UpstreamTarget) -> (channel: Channel, relay: UpstreamResponseRelay)? {
        while let index = pinnedUpstreams.lastIndex(where: { $0.target == target }) {
            let idle = pinnedUpstreams.remove(at: index)
            if idle.channel.isActive { return (idle.channel, idle.relay) }
        }
        return pool.take(target)
    }

    private func connectUpstream(host: HostName, port: Int, context: ChannelHandlerContext) {
        let relay = UpstreamResponseRelay(downstream: context, owner: self, pool: pool)
        let loopBound = NIOLoopBound((self, context, relay), eventLoop: context.eventLoop)
        shared.connectUpstream(host: host, port: port, on: context.eventLoop) { channel in
            channel.eventLoop.makeCompletedFuture {
                let relay = loopBound.value.2
                try channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
                // 1xx answers (100 Continue) go through to the client that is waiting for them.
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .forward)))
                try channel.pipeline.syncOperations.addHandler(relay)
            }
        }
            .whenComplete { result in
                let (handler, context, relay) = loopBound.value
                guard case .connectingUpstream(let pending, let keepAlive) = handler.state else {
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    return
                }
                switch result {
                case .success(let upstream):
                    handler.state = .forwarding(upstream: upstream, relay: relay, keepAlive: keepAlive, retry: nil)
                    for part in pending { upstream.write(part, promise: nil) }
                    upstream.flush()
                    handler.pendingBytes = 0
                    handler.upstreamBecameWritable()
                case .failure(let error):
                    let timedOut = (error as? ChannelError).map { if case .connectTimeout = $0 { true } else { false } } ?? false
                    let status: HTTPResponseStatus = timedOut ? .gatewayTimeout : .badGateway
                    let text = error is UpstreamRefused ? "The website \(host) is not reachable from this network.\n"
                        : timedOut ? "The website \(host) did not answer in time.\n"
                        : "The website \(host) could not be reached (\(Self.describe(error))).\n"
                    handler.state = .answered(keepAlive: false)
                    handler.finishExchange(status: Int(status.code))
                    handler.respond(status, text: text, keepAlive: false, context: context)
                }
            }
    }

    /// Called by the relay when the upstream response has ended. The connection is kept for the
    /// client's next request only when the origin allows it and our request went out whole (an
    /// early answer, such as a 413 mid-upload, leaves the connection in an unknown state).
    func upstreamFinished(context: ChannelHandlerContext, completely: Bool, reusable: Bool) {
        guard case .forwarding(let upstream, let relay, let keepAlive, let retry) = state else { return }
        if !completely, !relay.responseStarted {
            upstream.close(promise: nil)
            if let retry, retryStale(retry, keepAlive: keepAlive, context: context) { return }
            // Closed unanswered: the client is told so, rather than left to guess from a
            // closed connection (and perhaps to send the request again itself).
            state = .answered(keepAlive: false)
            finishExchange(status: 502)
            respond(.badGateway, text: "The website closed the connection without answering.\n", keepAlive: false, context: context)
            context.close(promise: nil)
            return
        }
        finishExchange(status: relay.status, bytesOut: relay.bodyBytes)
        state = .idle
        upstreamBecameWritable()
        if requestPinsConnection { relay.pinned = true }
        if completely, reusable, requestEnded, upstream.isActive, let upstreamTarget {
            if !relay.pinned {
                relay.detach()
                pool.put(upstream, relay: relay, for: upstreamTarget)
            } else if context.channel.isActive {
                pinnedUpstreams.append((upstreamTarget, upstream, relay))
                if pinnedUpstreams.count > Self.maxPinnedUpstreams { pinnedUpstreams.removeFirst().channel.close(promise: nil) }
            } else {
                upstream.close(promise: nil)
            }
        } else {
            upstream.close(promise: nil)
        }
        if !keepAlive || !completely || clientInputClosed { context.close(promise: nil) }
    }

    /// RFC 9112 §9.3.1: an origin may close an idle keep-alive connection just as the proxy
    /// reuses it, and the request is then lost unanswered. An idempotent request with no body
    /// sent yet is sent once more on a new connection; anything else gets the 502, since a
    /// proxy must not repeat a request that may have changed something (RFC 9110 §9.2.2).
    private func retryStale(_ head: HTTPRequestHead, keepAlive: Bool, context: ChannelHandlerContext) -> Bool {
        guard requestBytes == 0, context.channel.isActive, let target = upstreamTarget else { return false }
        let pending: [HTTPClientRequestPart] = requestEnded ? [.head(head), .end(nil)] : [.head(head)]
        state = .connectingUpstream(pending: pending, keepAlive: keepAlive)
        connectUpstream(host: target.host, port: target.port, context: context)
        return true
    }

    /// Upload bytes go upstream once per read batch: unflushed, they would neither reach the
    /// origin nor ever let the upstream channel become writable again.
    func channelReadComplete(context: ChannelHandlerContext) {
        if case .forwarding(let upstream, _, _, _) = state { upstream.flush() }
        context.fireChannelReadComplete()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        clientContext = context
        clientAddress = context.channel.remoteAddress?.ipAddress
    }
    func handlerRemoved(context: ChannelHandlerContext) { clientContext = nil }

    func read(context: ChannelHandlerContext) {
        switch state {
        case .forwarding(let upstream, _, _, _) where !upstream.isWritable:
            pausedClientRead = true
        case .connectingUpstream where pendingBytes > Self.maxPendingBytes:
            pausedClientRead = true
        default:
            context.read()
        }
    }

    /// Called by the relay when the upstream connection can take more of the client's upload.
    func upstreamBecameWritable() {
        guard pausedClientRead, let context = clientContext else { return }
        pausedClientRead = false
        context.read()
    }

    /// Frames the response head for this client. An HTTP/1.0 client gets an HTTP/1.0 answer:
    /// it cannot read chunked bodies, so a body without a length is ended by closing the
    /// connection (RFC 9112 §6.3), and it keeps a connection open only when told so
    /// (`Connection: keep-alive`, RFC 9112 §9.3). A connection about to close says so.
    func frameResponse(_ response: inout HTTPResponseHead) {
        guard case .forwarding(let upstream, let relay, var keepAlive, let retry) = state, response.status.code >= 200 else { return }
        if clientVersion.minor == 0 {
            response.version = .http1_0
            let bodiless = requestMethod == .HEAD || response.status == .noContent || response.status == .notModified
            if !bodiless, response.headers.contains(name: "Transfer-Encoding") || !response.headers.contains(name: "Content-Length") {
                response.headers.remove(name: "Transfer-Encoding")
                keepAlive = false
                state = .forwarding(upstream: upstream, relay: relay, keepAlive: false, retry: retry)
            }
            if keepAlive { response.headers.add(name: "Connection", value: "keep-alive") }
        }
        if !keepAlive { response.headers.add(name: "Connection", value: "close") }
    }

    /// A pinned idle upstream connection was closed by the origin: forget it.
    func idleUpstreamClosed(_ channel: Channel) {
        pinnedUpstreams.removeAll { $0.channel === channel }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .forwarding(_, let relay, _, _) = state, context.channel.isWritable { relay.downstreamBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    /// Tells monitoring about the request in flight, once.
    func finishExchange(status: Int, bytesOut: Int64 = 0) {
        guard let exchange else { return }
        self.exchange = nil
        shared.report(exchange, status: status, bytesIn: requestBytes, bytesOut: bytesOut)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .forwarding(let upstream, let relay, _, _) = state {
            finishExchange(status: relay.status, bytesOut: relay.bodyBytes)
            upstream.close(promise: nil)
        }
        for idle in pinnedUpstreams { idle.channel.close(promise: nil) }
        pinnedUpstreams.removeAll()
        state = .idle
        context.fireChannelInactive()
    }

    /// The decoder refused the bytes (bad framing, oversize headers, injected line breaks).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch state {
        case .idle, .answered:
            let tooLarge = (error as? HTTPParserError) == .headerOverflow
            respond(tooLarge ? .init(statusCode: 431) : .badRequest,
                    text: tooLarge ? "The request headers are too large.\n" : "The request could not be understood.\n",
                    keepAlive: false, context: context)
        case .connectingUpstream:
            // Nothing has been written upstream yet, and now nothing will be.
            state = .idle
            respond(.badRequest, text: "The request could not be understood.\n", keepAlive: false, context: context)
        case .forwarding(let upstream, let relay, _, _):
            // Upstream gets an incomplete request and a closed connection, never a second one.
            upstream.close(promise: nil)
            if !relay.responseStarted {
                state = .idle
                respond(.badRequest, text: "The request could not be understood.\n", keepAlive: false, context: context)
            }
        default:
            break
        }
        context.close(promise: nil)
    }

    /// The client sent nothing for the configured time: between requests that is the end of a
    /// keep-alive connection; half way through a head it is a slow or stuck client.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client is done sending (remote half-closure is allowed for tunnels): between
        // requests that ends the connection; mid-request its answer still goes back first.
        if let event = event as? ChannelEvent, case .inputClosed = event {
            clientInputClosed = true
            switch state {
            case .idle, .answered: context.close(promise: nil)
            default: break
            }
            return
        }
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch state {
        case .idle, .answered:
            context.close(promise: nil)
        default:
            break
        }
    }

    // MARK: CONNECT

    private func beginConnect(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let authority = head.uri
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]),
              let host = try? HostName(String(authority[..<colon])) else {
            respond(.badRequest, text: "CONNECT needs host:port.\n", keepAlive: false, context: context)
            return
        }
        guard shared.configuration.connectPorts.contains(port) else {
            respond(.forbidden, text: "Tunnels are allowed to port \(shared.configuration.connectPorts.sorted().map(String.init).joined(separator: ", ")) only.\n", keepAlive: false, context: context)
            return
        }
        let (decision, user) = shared.decide(host: host, path: nil, port: port, client: clientAddress, who: who)
        exchange = Exchange(started: shared.now(), client: clientAddress ?? "?", method: "CONNECT",
                            host: host.text, url: "\(host.urlForm):\(port)", decision: decision, user: user, who: who)
        switch decision.verdict {
        case .block, .needsConsent, .needsAuthentication:
            refuse(host: host.text, decision: decision, keepAlive: false, context: context)
        case .allow, .flag:
            state = .openingTunnel(target: host, port: port)
        }
    }

    private func openTunnel(target: HostName, port: Int, context: ChannelHandlerContext) {
        guard let exchange else { return }
        self.exchange = nil
        let tunnel = TunnelHandler(target: target, port: port, shared: shared, exchange: exchange)
        do {
            // The encoder goes first so the 200 is written as raw bytes (through it, NIO would
            // frame a body-less response as chunked); the decoder's leftover bytes (an eager
            // client's ClientHello) flow on into the tunnel handler.
            try context.pipeline.syncOperations.addHandler(tunnel, position: .after(self))
            context.pipeline.syncOperations.removeHandler(encoder, promise: nil)
            context.writeAndFlush(NIOAny(ByteBuffer(string: "HTTP/1.1 200 Connection established\r\n\r\n")), promise: nil)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            // Before the decoder, whose leftover bytes (the ClientHello) must meet the tunnel only.
            context.pipeline.syncOperations.removeHandler(authentication, promise: nil)
            context.pipeline.syncOperations.removeHandler(decoder, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }

    // MARK: Answers of our own (see ProxyRequestHandler+Refusals.swift)

    func respond(_ status: HTTPResponseStatus, text: String, keepAlive: Bool, context: ChannelHandlerContext) {
        respond(status, body: text, contentType: "text/plain; charset=utf-8", keepAlive: keepAlive, context: context)
    }

    func respond(_ status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: String, contentType: String, keepAlive: Bool,
                 context: ChannelHandlerContext) {
        ProxyAnswer.write(status, headers: headers, body: body, contentType: contentType, keepAlive: keepAlive, context: context, wrap: wrapOutboundOut)
        if case .idle = state { state = .answered(keepAlive: keepAlive) }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError { return error.dnsAAAAError != nil || error.dnsAError != nil ? "its name did not resolve" : "connection refused" }
        // An address is connected to directly, without NIO's name resolution and its error type.
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return "connection refused" }
        return "\(error)"
    }
}
