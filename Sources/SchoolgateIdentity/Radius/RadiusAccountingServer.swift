import Foundation
import Logging
import NIOCore
import NIOPosix

/// Listens for RADIUS accounting on UDP and feeds `AddressSessions`. Datagrams from addresses
/// not in `clients`, or that fail the shared-secret check, are dropped unanswered (and counted).
public final class RadiusAccountingServer: Sendable {
    private let channel: Channel

    public init(host: String, port: Int, secret: [UInt8], clients: [String], sessions: AddressSessions,
                group: EventLoopGroup, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) async throws {
        let handler = RadiusAccountingHandler(secret: secret, clients: Set(clients), sessions: sessions, logger: logger, now: now)
        channel = try await DatagramBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .bind(host: host, port: port)
            .get()
    }

    public var localAddress: SocketAddress? { channel.localAddress }

    public func close() async {
        try? await channel.close()
    }
}

final class RadiusAccountingHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let secret: [UInt8]
    private let clients: Set<String>
    private let sessions: AddressSessions
    private let logger: Logger
    private let now: @Sendable () -> Date

    init(secret: [UInt8], clients: Set<String>, sessions: AddressSessions, logger: Logger, now: @escaping @Sendable () -> Date) {
        self.secret = secret
        self.clients = clients
        self.sessions = sessions
        self.logger = logger
        self.now = now
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let sender = envelope.remoteAddress.ipAddress ?? "?"
        guard clients.isEmpty || clients.contains(sender) else {
            logger.warning("RADIUS accounting from an address not in [radius] clients was dropped", metadata: ["from": "\(sender)"])
            return
        }
        let bytes = Array(envelope.data.readableBytesView)
        do {
            let packet = try RadiusAccountingPacket(datagram: bytes, secret: secret)
            // Applied outside the log call: a message's text is only built when its level is on.
            // Who signed in where stays out of the log: only what kind of change it was.
            let change = sessions.apply(packet, at: now())
            logger.debug("RADIUS accounting: \(change)")
            let reply = ByteBuffer(bytes: packet.response(secret: secret))
            context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: reply)), promise: nil)
        } catch {
            logger.warning("RADIUS accounting datagram refused: \(error)", metadata: ["from": "\(sender)"])
        }
    }
}
