import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The listening proxy: accepts clients and builds each connection's pipeline.
public final class ProxyServer: Sendable {
    private let shared: ProxyContext
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let stopping = Mutex<Task<Void, any Error>?>(nil)

    /// Binds and starts accepting. Port 0 picks a free port (see `localAddress`).
    public init(shared: ProxyContext, threads: Int = System.coreCount) async throws {
        self.shared = shared
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        self.group = group
        let configuration = shared.configuration
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 256)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        var limits = NIOHTTPDecoderLimitConfiguration()
                        limits.maxHeaderListSize = configuration.maxHeaderBytes
                        limits.maxHeaderFieldSize = configuration.maxHeaderBytes
                        limits.maxHeaderFieldCount = configuration.maxHeaderCount
                        let encoder = HTTPResponseEncoder()
                        let decoder = ByteToMessageHandler(HTTPRequestDecoder(
                            leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .drop, limitConfiguration: limits))
                        try channel.pipeline.syncOperations.addHandler(ConnectionLimitHandler(tracker: shared.connections))
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: configuration.clientTimeout))
                        try channel.pipeline.syncOperations.addHandler(encoder)
                        try channel.pipeline.syncOperations.addHandler(decoder)
                        let authentication = ProxyAuthenticationHandler(verifier: shared.identity.verifier, realm: shared.identity.realm)
                        try channel.pipeline.syncOperations.addHandler(authentication)
                        try channel.pipeline.syncOperations.addHandler(ProxyRequestHandler(shared: shared, encoder: encoder, decoder: decoder,
                                                                                           authentication: authentication))
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    public var localAddress: SocketAddress? { channel.localAddress }

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
