import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SchoolgatePolicy
import Synchronization

/// The listening proxy: accepts clients and builds each connection's pipeline, on the explicit
/// proxy port and, when configured, on the listeners for intercepted HTTP and TLS.
public final class ProxyServer: Sendable {
    private let shared: ProxyContext
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let interceptChannels: [Channel]
    private let stopping = Mutex<Task<Void, any Error>?>(nil)

    /// Binds and starts accepting. Port 0 picks a free port (see `localAddress`).
    public init(shared: ProxyContext, threads: Int = System.coreCount) async throws {
        self.shared = shared
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        self.group = group
        let pools = UpstreamPools(group, maximumIdleTime: shared.configuration.upstreamIdleTimeout)
        let configuration = shared.configuration
        var bound: [Channel] = []
        do {
            channel = try await Self.bootstrap(group) { channel in
                channel.eventLoop.makeCompletedFuture { try Self.addHTTPHandlers(channel, shared: shared, pools: pools, intercepted: nil) }
            }.bind(host: configuration.host, port: configuration.port).get()
            bound.append(channel)
            if let listen = configuration.interceptHTTP {
                bound.append(try await Self.bindIntercepting(group, listen) { channel, destination in
                    try Self.addHTTPHandlers(channel, shared: shared, pools: pools, intercepted: destination)
                })
            }
            if let listen = configuration.interceptTLS {
                bound.append(try await Self.bindIntercepting(group, listen) { channel, destination in
                    try Self.addInterceptedTLSHandlers(channel, shared: shared, destination: destination)
                })
            }
        } catch {
            for channel in bound { try? await channel.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        interceptChannels = Array(bound.dropFirst())
    }

    /// A listener for redirected traffic: each connection's original destination is read back
    /// before its handlers are added.
    private static func bindIntercepting(_ group: EventLoopGroup, _ listen: (host: String, port: Int),
                                         _ addHandlers: @escaping @Sendable (Channel, SocketAddress) throws -> Void) async throws -> Channel {
        try await bootstrap(group) { channel in
            OriginalDestination.read(channel).flatMapThrowing { destination in
                try Self.refuseLoops(destination, channel: channel)
                try addHandlers(channel, destination)
            }
        }.bind(host: listen.host, port: listen.port).get()
    }

    private static func bootstrap(_ group: EventLoopGroup, _ initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer(initializer)
    }

    private static func addHTTPHandlers(_ channel: Channel, shared: ProxyContext, pools: UpstreamPools, intercepted: SocketAddress?) throws {
        let configuration = shared.configuration
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = configuration.maxHeaderBytes
        limits.maxHeaderFieldSize = configuration.maxHeaderBytes
        limits.maxHeaderFieldCount = configuration.maxHeaderCount
        let encoder = HTTPResponseEncoder()
        let decoder = ByteToMessageHandler(HTTPRequestDecoder(
            leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .drop, limitConfiguration: limits))
        let operations = channel.pipeline.syncOperations
        try shared.connections.admitUntilClosed(channel)
        try operations.addHandler(IdleStateHandler(readTimeout: configuration.clientTimeout))
        try operations.addHandler(encoder)
        try operations.addHandler(decoder)
        // A device whose traffic is intercepted does not know there is a proxy: no sign-in.
        let authentication = ProxyAuthenticationHandler(verifier: intercepted == nil ? shared.identity.verifier : nil, realm: shared.identity.realm)
        try operations.addHandler(authentication)
        try operations.addHandler(ProxyRequestHandler(shared: shared, pool: pools.pool(on: channel.eventLoop), encoder: encoder, decoder: decoder, authentication: authentication,
                                                      interceptedDestination: intercepted))
    }

    /// Intercepted TLS: decided first on the address, then on the ClientHello's SNI.
    private static func addInterceptedTLSHandlers(_ channel: Channel, shared: ProxyContext, destination: SocketAddress) throws {
        guard let address = destination.ipAddress, let port = destination.port else { throw ChannelError.operationUnsupported }
        try shared.connections.admitUntilClosed(channel)
        let target = try HostName(address)
        let client = channel.remoteAddress?.ipAddress
        let (decision, user) = shared.decide(host: target, path: nil, port: port, client: client, who: .anonymous)
        let exchange = Exchange(started: shared.now(), client: client ?? "?", method: "CONNECT",
                                host: target.text, url: "\(target.urlForm):\(port)", decision: decision, user: user)
        try channel.pipeline.syncOperations.addHandler(TunnelHandler(target: target, port: port, shared: shared, exchange: exchange, intercepted: true))
    }

    /// A connection made straight to an intercept port (not redirected) would have the proxy
    /// connect to itself.
    private static func refuseLoops(_ destination: SocketAddress, channel: Channel) throws {
        if destination == channel.localAddress { throw ChannelError.operationUnsupported }
    }

    public var localAddress: SocketAddress? { channel.localAddress }
    /// The intercept listeners' addresses, HTTP first when both are configured.
    public var interceptAddresses: [SocketAddress] { interceptChannels.compactMap(\.localAddress) }

    /// Stops accepting, gives open connections (tunnels above all) up to the configured grace
    /// period to finish, then closes what is left. Safe to call more than once (a signal and the
    /// main flow both ask): later calls wait for the first.
    public func shutdown() async throws {
        let task = stopping.withLock { stopping in
            if let stopping { return stopping }
            let task = Task { try await self.stop() }
            stopping = task
            return task
        }
        try await task.value
    }

    private func stop() async throws {
        for channel in interceptChannels { try? await channel.close() }
        try? await channel.close()
        let deadline = NIODeadline.now() + shared.configuration.shutdownGrace
        while !shared.connections.openConnections.isEmpty, NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        for connection in shared.connections.openConnections { connection.close(promise: nil) }
        try await group.shutdownGracefully()
    }

    /// Waits until the listening socket closes.
    public func waitUntilClosed() async throws {
        try await channel.closeFuture.get()
    }
}
