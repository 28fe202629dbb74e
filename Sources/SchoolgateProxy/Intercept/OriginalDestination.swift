import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Where an intercepted connection was really going: the address netfilter's REDIRECT rewrote,
/// read back with `SO_ORIGINAL_DST` (IPv4) or `IP6T_SO_ORIGINAL_DST` (IPv6), as Squid's
/// intercept mode does.
enum OriginalDestination {
    static let soOriginalDst: Int32 = 80

    static func read(_ channel: Channel) -> EventLoopFuture<SocketAddress> {
        guard let provider = channel as? SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
        }
        if case .v6 = channel.localAddress {
            let future: EventLoopFuture<sockaddr_in6> = provider.unsafeGetSocketOption(
                level: NIOBSDSocket.OptionLevel(rawValue: Int32(IPPROTO_IPV6)), name: NIOBSDSocket.Option(rawValue: soOriginalDst))
            return future.map { SocketAddress($0, host: "") }
        }
        let future: EventLoopFuture<sockaddr_in> = provider.unsafeGetSocketOption(
            level: NIOBSDSocket.OptionLevel(rawValue: Int32(IPPROTO_IP)), name: NIOBSDSocket.Option(rawValue: soOriginalDst))
        return future.map { SocketAddress($0, host: "") }
    }
}
