import NIOCore
import NIOHTTP1
import SchoolgateIdentity

/// A request part with who sent it attached to its head.
enum ProxyRequestPart {
    case head(HTTPRequestHead, ClientIdentity)
    case body(ByteBuffer)
    case end(HTTPHeaders?)
}

/// Finds out who sent a request before it is decided: `Proxy-Authorization` credentials are
/// checked (from the cache, or off the event loop while this connection's reads wait), and
/// wrong ones are answered here with a 407, so nothing of them reaches the policy or upstream.
final class ProxyAuthenticationHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = ProxyRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case passing
        /// Credentials are being checked: the rest of the request waits here.
        case verifying(buffered: [HTTPServerRequestPart])
        /// We answered; the rest of the request is dropped.
        case refusing(keepAlive: Bool)
    }

    private var state = State.idle
    private var readPending = false
    private let verifier: CredentialVerifier?
    private let realm: String

    init(verifier: CredentialVerifier?, realm: String) {
        self.verifier = verifier
        self.realm = realm
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (state, part) {
        case (.idle, .head(let head)):
            guard let verifier, let header = head.headers.first(name: "Proxy-Authorization") else {
                pass(.head(head), as: .anonymous, context: context)
                return
            }
            state = .verifying(buffered: [])
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let client = context.channel.remoteAddress?.ipAddress ?? "?"
            verifier.verify(header: header, client: client, on: context.eventLoop).whenComplete { result in
                let (handler, context) = loopBound.value
                guard case .verifying(let buffered) = handler.state else { return }
                handler.settle((try? result.get()) ?? .unavailable, head: head, buffered: buffered, context: context)
            }
        case (.verifying(var buffered), _):
            buffered.append(part)
            state = .verifying(buffered: buffered)
        case (.refusing(let keepAlive), .end):
            state = .idle
            if !keepAlive { context.close(promise: nil) }
        case (.refusing, _):
            break
        default:
            pass(part, as: .anonymous, context: context)
        }
    }

    private func pass(_ part: HTTPServerRequestPart, as who: ClientIdentity, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            state = .passing
            context.fireChannelRead(wrapInboundOut(.head(head, who)))
        case .body(let body):
            context.fireChannelRead(wrapInboundOut(.body(body)))
        case .end(let trailers):
            state = .idle
            context.fireChannelRead(wrapInboundOut(.end(trailers)))
        }
    }

    private func settle(_ outcome: CredentialVerifier.Outcome, head: HTTPRequestHead, buffered: [HTTPServerRequestPart], context: ChannelHandlerContext) {
        // Reading resumes first: passing the head on can turn this connection into a tunnel,
        // which takes this handler out of the pipeline, and a read asked for through a removed
        // handler would be lost (and the tunnel would never read again).
        state = .passing
        if readPending {
            readPending = false
            context.read()
        }
        switch outcome {
        case .verified(let user, let groups):
            pass(.head(head), as: ClientIdentity(user: user, directoryGroups: groups, authenticated: true), context: context)
            for part in buffered { pass(part, as: .anonymous, context: context) }
        case .rejected:
            refuse(status: .proxyAuthenticationRequired, text: "The user name or password was not accepted.\n", head: head, buffered: buffered, context: context)
        case .rateLimited:
            refuse(status: .tooManyRequests, text: "Too many failed sign-ins from this device. Wait a few minutes and try again.\n",
                   head: head, buffered: buffered, context: context)
        case .unavailable:
            refuse(status: .serviceUnavailable, text: "The sign-in service is not answering. Try again shortly, or ask the ICT office.\n",
                   head: head, buffered: buffered, context: context)
        }
    }

    private func refuse(status: HTTPResponseStatus, text: String, head: HTTPRequestHead, buffered: [HTTPServerRequestPart], context: ChannelHandlerContext) {
        // A CONNECT's tunnel bytes may follow at once; only a plain request can keep its connection.
        let keepAlive = head.isKeepAlive && head.method != .CONNECT
        var headers = HTTPHeaders()
        if status == .proxyAuthenticationRequired { headers.add(name: "Proxy-Authenticate", value: "Basic realm=\"\(realm)\", charset=\"UTF-8\"") }
        if status == .tooManyRequests { headers.add(name: "Retry-After", value: "300") }
        ProxyAnswer.write(status, headers: headers, body: text, contentType: "text/plain; charset=utf-8", keepAlive: keepAlive,
                          context: context, wrap: wrapOutboundOut)
        let ended = buffered.contains { if case .end = $0 { true } else { false } }
        if ended {
            state = .idle
            if !keepAlive { context.close(promise: nil) }
        } else {
            state = .refusing(keepAlive: keepAlive)
        }
    }

    func read(context: ChannelHandlerContext) {
        if case .verifying = state { readPending = true } else { context.read() }
    }
}
