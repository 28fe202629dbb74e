import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The small web pages Schoolgate serves itself, each on listeners of its own and never on the
/// proxy's port: the guests' consent page (HTTP and HTTPS) and the admin address (metrics,
/// health). Each request is gathered whole (a small form at most) and answered by `responder`.
public final class PageServer: Sendable {
    public typealias Responder = @Sendable (PortalRequest) -> PortalResponse
    private let group: MultiThreadedEventLoopGroup
    private let channels: [Channel]

    public init(responder: @escaping Responder, http: (host: String, port: Int), https: (host: String, port: Int, certificate: String, privateKey: String)? = nil,
                purpose: String, logger: Logger) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        var channels: [Channel] = []
        do {
            channels.append(try await Self.bind(group: group, host: http.host, port: http.port, tls: nil, responder: responder))
            if let https {
                let chain = try NIOSSLCertificate.fromPEMFile(https.certificate).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: https.privateKey, format: .pem)
                let tls = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
                channels.append(try await Self.bind(group: group, host: https.host, port: https.port, tls: tls, responder: responder))
            }
        } catch {
            for channel in channels { try? await channel.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        self.channels = channels
        logger.info("\(purpose) listening", metadata: ["addresses": "\(channels.compactMap(\.localAddress).map { "\($0)" })"])
    }

    /// The guests' consent page, as `settings` place it.
    public convenience init(portal: ConsentPortal, settings: PortalSettings, logger: Logger) async throws {
        try await self.init(responder: { portal.respond(to: $0) }, http: (settings.httpHost, settings.httpPort), https: settings.https,
                            purpose: "guest consent page", logger: logger)
    }

    private static func bind(group: EventLoopGroup, host: String, port: Int, tls: NIOSSLContext?, responder: @escaping Responder) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(30)))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(PageHTTPHandler(responder: responder))
                }
            }
            .bind(host: host, port: port)
            .get()
    }

    /// The bound addresses, plain HTTP first (port 0 in settings picks free ones).
    public var localAddresses: [SocketAddress] { channels.compactMap(\.localAddress) }

    public func shutdown() async throws {
        for channel in channels { try? await channel.close() }
        try await group.shutdownGracefully()
    }
}

public typealias PortalServer = PageServer

/// Gathers one request (a small form at most) and hands it to the responder.
final class PageHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: PageServer.Responder
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false
    static let maxBody = 16 * 1024

    init(responder: @escaping PageServer.Responder) {
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            tooLarge = false
        case .body(var part):
            if body.readableBytes + part.readableBytes > Self.maxBody { tooLarge = true } else { body.writeBuffer(&part) }
        case .end:
            guard let head else { return }
            self.head = nil
            let response: PortalResponse
            if tooLarge {
                response = PortalResponse(status: 413, headers: ["Content-Type": "text/plain; charset=utf-8"], body: "Too large.\n")
            } else {
                let request = PortalRequest(method: head.method.rawValue, target: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                                            body: body.readString(length: body.readableBytes) ?? "",
                                            client: context.channel.remoteAddress?.ipAddress ?? "")
                response = responder(request)
            }
            write(response, head: head, context: context)
        }
    }

    private func write(_ response: PortalResponse, head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.utf8.count))
        let keepAlive = head.isKeepAlive && !tooLarge
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.status), headers: headers))), promise: nil)
        if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: response.body)))), promise: nil) }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }
}
