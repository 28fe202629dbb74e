import NIOCore

/// Joins two channels on one event loop: what one reads, the other writes. A side reads only
/// while its partner can take the bytes (backpressure both ways), and an end of input on one side
/// becomes a write half-close on the other, so a tunnel carries exactly what TCP would.
///
/// A side that is moving bulk data reads in fewer, larger gulps: after a read that took at least
/// `bulkReadBytes`, the next read waits `bulkReadDelay`. While it waits the kernel holds the
/// arriving bytes without waking the proxy, and the other end is written to, and woken, less
/// often. On this project's 2-core VM a cross-core wake is an expensive interrupt; with the
/// wait (and reads allowed to grow to 256 KiB, see TunnelHandler) 10 MiB downloads through a
/// tunnel went from a median 76–80 % of direct to 86–89 %, at a fifth less proxy CPU per byte.
/// Half a millisecond is far below any real network's round trip, and small exchanges (a TLS
/// handshake, a page) never wait.
final class GlueHandler {
    static let bulkReadBytes = 64 * 1024
    static let bulkReadDelay = TimeAmount.microseconds(500)

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private var bytesThisRead = 0
    private var nextReadWaits = false
    private(set) var bytesRead: Int64 = 0
    /// Called once when this side's channel goes inactive, with the bytes each side read.
    var onInactive: ((_ readHere: Int64, _ readByPartner: Int64) -> Void)?

    private init() {}

    static func matchedPair() -> (GlueHandler, GlueHandler) {
        let first = GlueHandler(), second = GlueHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    private func partnerWrite(_ data: NIOAny) { context?.write(data, promise: nil) }
    private func partnerFlush() { context?.flush() }
    private func partnerWriteEOF() { context?.close(mode: .output, promise: nil) }
    private func partnerCloseFull() { context?.close(promise: nil) }
    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    /// Reads now if the partner can take the bytes; otherwise once it can.
    private func readIfPartnerWritable() {
        guard let context else { return }
        if let partner, partner.partnerWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }
}

extension GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        bytesRead += Int64(count)
        bytesThisRead += count
        partner?.partnerWrite(data)
    }
    func channelReadComplete(context: ChannelHandlerContext) {
        nextReadWaits = bytesThisRead >= Self.bulkReadBytes
        bytesThisRead = 0
        partner?.partnerFlush()
    }
    func channelInactive(context: ChannelHandlerContext) {
        onInactive?(bytesRead, partner?.bytesRead ?? 0)
        onInactive = nil
        partner?.partnerCloseFull()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            partner?.partnerWriteEOF()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { partner?.partnerCloseFull() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        guard nextReadWaits else { return readIfPartnerWritable() }
        nextReadWaits = false
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: Self.bulkReadDelay) { handler.value.readIfPartnerWritable() }
    }
}
