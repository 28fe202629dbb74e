import NIOCore
import NIOEmbedded
import Testing
@testable import SchoolgateProxy

/// Counts the reads a channel's pipeline asks of its socket.
private final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = Any
    var reads = 0
    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

/// Both sides of a tunnel on one embedded loop, whose clock the test moves by hand.
private struct Tunnel {
    let loop = EmbeddedEventLoop()
    let client: EmbeddedChannel
    let upstream: EmbeddedChannel
    let upstreamReads = ReadCounter()

    init() throws {
        let (clientSide, upstreamSide) = GlueHandler.matchedPair()
        client = EmbeddedChannel(handler: clientSide, loop: loop)
        upstream = EmbeddedChannel(loop: loop)
        try upstream.pipeline.syncOperations.addHandlers([upstreamReads, upstreamSide])
    }

    /// Bytes arriving from upstream, then the pipeline asking for more, as NIO does after each read.
    func upstreamSends(_ count: Int) throws {
        try upstream.writeInbound(ByteBuffer(repeating: 0x61, count: count))
        upstream.read()
    }

    func bytesTheClientGot() throws -> Int {
        var total = 0
        while let buffer = try client.readOutbound(as: ByteBuffer.self) { total += buffer.readableBytes }
        return total
    }
}

struct GlueHandlerTests {
    @Test func aSmallReadIsFollowedByTheNextAtOnce() throws {
        let tunnel = try Tunnel()
        try tunnel.upstreamSends(1_500)
        #expect(try tunnel.bytesTheClientGot() == 1_500)
        #expect(tunnel.upstreamReads.reads == 1)
    }

    @Test func aBulkReadWaitsBeforeTheNextSoBytesArriveInLargerGulps() throws {
        let tunnel = try Tunnel()
        try tunnel.upstreamSends(GlueHandler.bulkReadBytes)
        #expect(try tunnel.bytesTheClientGot() == GlueHandler.bulkReadBytes, "the bulk bytes themselves are passed on at once")
        #expect(tunnel.upstreamReads.reads == 0)
        tunnel.loop.advanceTime(by: GlueHandler.bulkReadDelay - .microseconds(1))
        #expect(tunnel.upstreamReads.reads == 0)
        tunnel.loop.advanceTime(by: .microseconds(1))
        #expect(tunnel.upstreamReads.reads == 1)
        // Once the flow is small again, reads follow each other at once.
        try tunnel.upstreamSends(100)
        #expect(tunnel.upstreamReads.reads == 2)
    }

    @Test func aDelayedReadStillWaitsForThePartnerToTakeBytes() throws {
        let tunnel = try Tunnel()
        try tunnel.upstreamSends(GlueHandler.bulkReadBytes * 2)
        tunnel.client.isWritable = false
        tunnel.loop.advanceTime(by: GlueHandler.bulkReadDelay)
        #expect(tunnel.upstreamReads.reads == 0, "the client cannot take more: upstream is not read")
        tunnel.client.isWritable = true
        tunnel.client.pipeline.fireChannelWritabilityChanged()
        #expect(tunnel.upstreamReads.reads == 1)
    }

    @Test func aDelayedReadAfterTheTunnelClosedDoesNothing() throws {
        let tunnel = try Tunnel()
        try tunnel.upstreamSends(GlueHandler.bulkReadBytes)
        _ = try tunnel.upstream.finish(acceptAlreadyClosed: true)
        tunnel.loop.advanceTime(by: GlueHandler.bulkReadDelay)
        #expect(tunnel.upstreamReads.reads == 0)
        #expect(!tunnel.client.isActive, "the client side closed with its partner")
    }
}
