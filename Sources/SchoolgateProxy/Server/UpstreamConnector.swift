import NIOCore
import NIOPosix
import SchoolgatePolicy

/// A host the configuration does not let the proxy reach; refused before any DNS lookup.
struct UpstreamRefused: Error {}

extension ProxyContext {
    /// The one way the proxy opens a connection to an origin, for plain HTTP and tunnels alike, so
    /// that the upstream allow-list (which keeps the test suites on loopback) has no way round it.
    func connectUpstream(
        host: HostName, port: Int, on eventLoop: EventLoop, allowHalfClosure: Bool = false,
        initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void> = { $0.eventLoop.makeSucceededVoidFuture() }
    ) -> EventLoopFuture<Channel> {
        guard configuration.upstreamAllowed(host) else { return eventLoop.makeFailedFuture(UpstreamRefused()) }
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: allowHalfClosure)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer(initializer)
        // An address (every intercepted connection's destination is one) is connected to as it
        // is: NIO would otherwise hand it to getaddrinfo on another thread and run its
        // happy-eyeballs timers, for nothing.
        if host.kind != .domain, let address = try? SocketAddress(ipAddress: host.text, port: port) {
            return bootstrap.connect(to: address)
        }
        if let names { return bootstrap.resolver(names.resolver(on: eventLoop)).connect(host: host.text, port: port) }
        return bootstrap.connect(host: host.text, port: port)
    }
}
