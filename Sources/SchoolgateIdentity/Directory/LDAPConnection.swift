import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// One LDAP connection used from a thread-pool thread: each call sends a request and waits for
/// its answers. TLS from the start (ldaps://) or after StartTLS; never credentials in clear.
final class LDAPConnection {
    private let channel: Channel
    private let inbox: LDAPInbox
    private var nextID = 1
    private let timeout: TimeAmount

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func open(host: String, port: Int, tls: NIOSSLContext, startTLS: Bool, timeout: TimeAmount, group: EventLoopGroup) throws -> LDAPConnection {
        let inbox = LDAPInbox()
        let channel = try ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if !startTLS { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(host))) }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LDAPFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(inbox)
                }
            }
            .connect(host: host, port: port).wait()
        let connection = LDAPConnection(channel: channel, inbox: inbox, timeout: timeout)
        if startTLS {
            let answer = try connection.exchange(try LDAPMessage.startTLS(id: connection.takeID())).last
            guard answer?.operation == .extendedResponse, answer?.resultCode == 0 else {
                connection.close()
                throw Failure(description: "the directory refused StartTLS: \(answer?.diagnostic ?? "no answer")")
            }
            try channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(host)), position: .first)
            }.wait()
        }
        return connection
    }

    /// SNI carries names only, never IP literals (RFC 6066 §3).
    private static func sniName(_ host: String) -> String? {
        host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" } ? nil : host
    }

    private init(channel: Channel, inbox: LDAPInbox, timeout: TimeAmount) {
        self.channel = channel
        self.inbox = inbox
        self.timeout = timeout
    }

    func takeID() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    /// Sends one request and collects responses up to the one that ends it (search: the entries
    /// then SearchResultDone).
    func exchange(_ request: [UInt8]) throws -> [LDAPMessage.Response] {
        let promise = channel.eventLoop.makePromise(of: [LDAPMessage.Response].self)
        inbox.expect(promise, on: channel.eventLoop)
        channel.writeAndFlush(ByteBuffer(bytes: request), promise: nil)
        let deadline = channel.eventLoop.scheduleTask(in: timeout) { promise.fail(Failure(description: "the directory did not answer in time")) }
        defer { deadline.cancel() }
        return try promise.futureResult.wait()
    }

    /// Simple bind: the LDAP result code (0 success, 49 invalid credentials).
    func bind(dn: String, password: String) throws -> (code: Int, diagnostic: String) {
        guard let answer = try exchange(try LDAPMessage.bind(id: takeID(), dn: dn, password: password)).last,
              answer.operation == .bindResponse, let code = answer.resultCode else { throw Failure(description: "no bind response") }
        return (code, answer.diagnostic ?? "")
    }

    func search(base: String, attribute: String, value: String, objectClass: String?, attributes: [String]) throws -> [LDAPMessage.Response] {
        let answers = try exchange(try LDAPMessage.search(id: takeID(), base: base, attribute: attribute, value: value,
                                                          objectClass: objectClass, attributes: attributes))
        guard let done = answers.last, done.operation == .searchResultDone else { throw Failure(description: "no search result") }
        guard done.resultCode == 0 || done.resultCode == 32 else {  // 32: noSuchObject, an empty answer
            throw Failure(description: "search failed with result \(done.resultCode ?? -1): \(done.diagnostic ?? "")")
        }
        return answers.filter { $0.operation == .searchResultEntry }
    }

    func close() {
        if let unbind = try? LDAPMessage.unbind(id: takeID()) { channel.writeAndFlush(ByteBuffer(bytes: unbind), promise: nil) }
        try? channel.close().wait()
    }
}

/// Cuts the byte stream into whole LDAP messages.
struct LDAPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]
    static let maximumMessage = 1 << 20

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = LDAPMessage.frameLength(buffer.readableBytesView) else {
            if buffer.readableBytes > Self.maximumMessage { throw LDAPConnection.Failure(description: "an LDAP message over 1 MiB") }
            return .needMoreData
        }
        guard length > 0, let bytes = buffer.readBytes(length: length) else { throw LDAPConnection.Failure(description: "an LDAP message with a bad length") }
        context.fireChannelRead(wrapInboundOut(bytes))
        return .continue
    }
}

/// Hands responses to the request waiting for them; one request at a time per connection.
final class LDAPInbox: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = [UInt8]

    // Touched on the channel's event loop only.
    private var waiting: EventLoopPromise<[LDAPMessage.Response]>?
    private var collected: [LDAPMessage.Response] = []

    func expect(_ promise: EventLoopPromise<[LDAPMessage.Response]>, on eventLoop: EventLoop) {
        eventLoop.execute {
            self.collected = []
            self.waiting = promise
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            let response = try LDAPMessage.parse(unwrapInboundIn(data))
            collected.append(response)
            if response.operation != .searchResultEntry, response.operation != .searchResultReference {
                waiting?.succeed(collected)
                waiting = nil
            }
        } catch {
            waiting?.fail(error)
            waiting = nil
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        waiting?.fail(error)
        waiting = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiting?.fail(LDAPConnection.Failure(description: "the directory closed the connection"))
        waiting = nil
    }
}
