import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// One outgoing HTTP/1.1 request on SwiftNIO: an alert to a webhook, a list archive from its
/// mirror.
///
/// Why not URLSession: on Linux it is FoundationNetworking, which loads libcurl and through it
/// GnuTLS, OpenSSL, Kerberos, LDAP, SSH and RTMP client libraries into the proxy. Those cost
/// about 6 MB of every `serve` process's memory, and a second TLS stack beside NIOSSL, for two
/// requests the proxy rarely makes. The connection is NIO's, HTTP framing is NIOHTTP1's and TLS
/// (certificates checked against the system's trust store) is NIOSSL's; this type only drives one
/// request through them.
public struct HTTPFetch: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        /// Where the answer came from, after any redirects.
        public var url: URL
    }

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    private let group: any EventLoopGroup
    private let tls: TLSConfiguration

    /// `trustRoots` replaces the system's trust store (for a school's own CA, or a test's).
    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, trustRoots: [NIOSSLCertificate]? = nil) {
        self.group = group
        var tls = TLSConfiguration.makeClientConfiguration()
        if let trustRoots { tls.trustRoots = .certificates(trustRoots) }
        self.tls = tls
    }

    /// POSTs `body` as `contentType`; the answer's status tells whether it was taken.
    public func post(_ url: URL, contentType: String, body: [UInt8], timeout: Duration) async throws -> Response {
        try await send(.POST, url, headers: [("Content-Type", contentType)], body: body, timeout: timeout)
    }

    /// GETs `url`, following redirects, handing the final answer's head to `response` and its
    /// body to `body` as it arrives.
    @discardableResult
    public func get(_ url: URL, timeout: Duration, response: @escaping @Sendable (Response) throws -> Void,
                    body: @escaping @Sendable (ByteBuffer) async throws -> Void) async throws -> Response {
        try await send(.GET, url, timeout: timeout, response: response, receive: body)
    }

    /// Sends one request and hands the response body to `body` piece by piece, as it arrives
    /// (a list archive is never held whole). A GET follows up to `redirects` redirects; other
    /// methods report a redirect as their answer. The whole exchange must end within `timeout`,
    /// and a server that sends nothing for `stallTimeout` is given up on before that.
    @discardableResult
    public func send(_ method: HTTPMethod, _ url: URL, headers: [(String, String)] = [], body: [UInt8]? = nil,
                     timeout: Duration, stallTimeout: Duration = .seconds(60), redirects: Int = 5,
                     response: @escaping @Sendable (Response) throws -> Void = { _ in },
                     receive: @escaping @Sendable (ByteBuffer) async throws -> Void = { _ in }) async throws -> Response {
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        var url = url
        for _ in 0...redirects {
            let answer = try await exchange(method, url, headers: headers, body: body, deadline: deadline, timeout: timeout,
                                            stallTimeout: stallTimeout, response: response, receive: receive)
            guard method == .GET, [301, 302, 303, 307, 308].contains(answer.status),
                  let location = answer.headers.first(name: "Location"), let next = URL(string: location, relativeTo: url)?.absoluteURL
            else { return answer }
            url = next
        }
        throw Failure("more than \(redirects) redirects from \(url.absoluteString)")
    }

    private func exchange(_ method: HTTPMethod, _ url: URL, headers: [(String, String)], body: [UInt8]?,
                          deadline: NIODeadline, timeout: Duration, stallTimeout: Duration,
                          response: @escaping @Sendable (Response) throws -> Void,
                          receive: @escaping @Sendable (ByteBuffer) async throws -> Void) async throws -> Response {
        let target = try Target(url)
        // Made here, not in the channel initializer: it reads the trust store from disk, which
        // must not happen on an event loop.
        let tls = try target.secure ? NIOSSLContext(configuration: self.tls) : nil
        let timedOut = Failure("no complete answer from \(target.host) within \(timeout)")
        let left = deadline - .now()
        guard left > .zero else { throw timedOut }
        let stall = StallHandler()
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(min(left, .seconds(10)))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: target.host, port: target.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(IdleStateHandler(readTimeout: .init(stallTimeout)), stall)
                        if let tls {
                            // An address has no name to check against its certificate's SAN by SNI.
                            let name = target.hostIsAddress ? nil : target.host
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: name))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure("cannot connect to \(target.host):\(target.port): \(error)")
        }
        // The deadline closes the connection, which ends whatever the exchange is waiting for at
        // once; waiting on task cancellation instead would leave a silent server holding us.
        let expiry = channel.channel.eventLoop.scheduleTask(deadline: deadline) { channel.channel.close(promise: nil) }
        defer { expiry.cancel() }
        do {
            return try await exchange(on: channel, method, url, target: target, headers: headers, body: body, response: response, receive: receive)
        } catch where NIODeadline.now() >= deadline {
            throw timedOut
        } catch where stall.stalled.load(ordering: .relaxed) {
            throw Failure("\(target.host) sent nothing for \(stallTimeout)")
        }
    }

    private func exchange(on channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, _ method: HTTPMethod, _ url: URL,
                          target: Target, headers: [(String, String)], body: [UInt8]?,
                          response: @escaping @Sendable (Response) throws -> Void,
                          receive: @escaping @Sendable (ByteBuffer) async throws -> Void) async throws -> Response {
        try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: target.requestTarget)
            head.headers.add(name: "Host", value: target.hostField)
            head.headers.add(name: "User-Agent", value: "Schoolgate")
            head.headers.add(name: "Connection", value: "close")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            if let body { head.headers.add(name: "Content-Length", value: String(body.count)) }
            // One write: a server that answers as soon as it has the head, and closes, must not
            // find us still writing the request's end (NIO then fails that write, not the read).
            var request: [HTTPClientRequestPart] = [.head(head)]
            if let body { request.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            request.append(.end(nil))
            do {
                try await outbound.write(contentsOf: request)
            } catch {
                // A refused TLS handshake (an untrusted certificate, a wrong name) closes the
                // channel, and the write only learns "closed". The reason reached the inbound
                // side: report that instead.
                for try await _ in inbound {}
                throw error
            }

            var answer: Response?
            // A redirect that will be followed is not the answer: its head and body stay here.
            var handOver = false
            for try await part in inbound {
                switch part {
                case .head(let head):
                    // 1xx answers (100 Continue) are interim; the real one follows.
                    guard head.status.code >= 200 else { continue }
                    let got = Response(status: Int(head.status.code), headers: head.headers, url: url)
                    answer = got
                    handOver = method != .GET || !(300..<400).contains(got.status)
                    if handOver { try response(got) }
                case .body(let buffer):
                    if handOver { try await receive(buffer) }
                case .end:
                    if let answer { return answer }
                }
            }
            throw Failure("\(target.host) closed the connection before its answer was complete")
        }
    }
}

/// Closes a connection on which the server has sent nothing for the idle handler's read
/// timeout (a stalled mirror), and notes that it did, so the failure can say why.
final class StallHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let stalled = Atomic(false)

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            stalled.store(true, ordering: .relaxed)
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Where a URL sends a request: scheme, host, port and the request target.
struct Target {
    let secure: Bool
    let host: String
    let port: Int
    let hostIsAddress: Bool
    let hostField: String
    let requestTarget: String

    init(_ url: URL) throws {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw HTTPFetch.Failure("\(url.absoluteString): only http and https addresses can be fetched")
        }
        guard var host = url.host, !host.isEmpty else { throw HTTPFetch.Failure("\(url.absoluteString): no host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        secure = scheme == "https"
        self.host = host
        port = url.port ?? (secure ? 443 : 80)
        hostIsAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        let bracketed = host.contains(":") ? "[\(host)]" : host
        hostField = url.port.map { "\(bracketed):\($0)" } ?? bracketed
        let path = url.path(percentEncoded: true)
        let query = url.query(percentEncoded: true).map { "?" + $0 } ?? ""
        requestTarget = (path.isEmpty ? "/" : path) + query
    }
}
