import NIOCore
import NIOHTTP1
import SchoolgatePolicy

/// The answers the proxy gives instead of forwarding: the block page, a sign-in request, the
/// way to the guests' consent page, and captive-portal probes answered locally.
extension ProxyRequestHandler {
    func refuse(host: String, decision: Decision, keepAlive: Bool, context: ChannelHandlerContext) {
        switch decision.verdict {
        case .needsAuthentication:
            finishExchange(status: 407)
            var headers = HTTPHeaders()
            headers.add(name: "Proxy-Authenticate", value: "Basic realm=\"\(shared.identity.realm)\", charset=\"UTF-8\"")
            respond(.proxyAuthenticationRequired, headers: headers, body: "Sign in with your school account to use the internet.\n",
                    contentType: "text/plain; charset=utf-8", keepAlive: keepAlive, context: context)
        case .needsConsent:
            sendToConsentPage(isTunnel: exchange?.method == "CONNECT", context: context)
        default:
            sendBlockPage(host: host, decision: decision, keepAlive: keepAlive, context: context)
        }
    }

    /// Plain HTTP goes to the consent page (`Connection: close`, so the device's next request
    /// is judged afresh); HTTPS is refused at once with RFC 6585's 511, never intercepted.
    private func sendToConsentPage(isTunnel: Bool, context: ChannelHandlerContext) {
        let portal = shared.identity.portalURL
        let link = "<!doctype html><title>Guest Wi-Fi</title><p>Please <a href=\"\(HTML.escape(portal))\">accept the guest Wi-Fi terms</a> first.</p>\n"
        if isTunnel {
            finishExchange(status: 511)
            respond(.networkAuthenticationRequired, body: link, contentType: "text/html; charset=utf-8", keepAlive: false, context: context)
        } else {
            finishExchange(status: 302)
            var headers = HTTPHeaders()
            headers.add(name: "Location", value: portal)
            respond(.found, headers: headers, body: link, contentType: "text/html; charset=utf-8", keepAlive: false, context: context)
        }
    }

    func answerProbe(_ probe: CaptiveProbe, keepAlive: Bool, context: ChannelHandlerContext) {
        let success = probe.success
        finishExchange(status: success.status)
        respond(.init(statusCode: success.status), body: success.body, contentType: success.contentType, keepAlive: keepAlive, context: context)
    }

    func sendBlockPage(host: String, decision: Decision, keepAlive: Bool, context: ChannelHandlerContext) {
        let reference = BlockPage.reference()
        shared.logger.info("blocked", metadata: ["reference": "\(reference)", "rule": "\(decision.rule.rawValue)", "category": "\(decision.category ?? "-")"])
        let page = BlockPage.render(host: host, decision: decision, configuration: shared.configuration, reference: reference)
        finishExchange(status: 403)
        respond(.forbidden, body: page, contentType: "text/html; charset=utf-8", keepAlive: keepAlive, context: context)
    }
}

extension ProxyRequestHandler {
    /// Intercepted plain HTTP: a Host that does not resolve to the address the device connected
    /// to is flagged for the DSL (the request still goes to that address, never to Host's).
    func verifyHost(_ host: HostName, at destination: HostName, context: ChannelHandlerContext) {
        guard let verifier = shared.destinations, shared.configuration.destinationMismatch != .allow,
              let severity = shared.configuration.bypassSeverity else { return }
        let loopBound = NIOLoopBound((self, exchange?.started), eventLoop: context.eventLoop)
        verifier.verify(host, at: destination.text, on: context.eventLoop).whenSuccess { matches in
            let (handler, started) = loopBound.value
            guard !matches, var exchange = handler.exchange, exchange.started == started else { return }
            exchange.decision = Decision(verdict: .flag, rule: .destinationMismatch, group: exchange.decision.group,
                                         severity: max(severity, exchange.decision.severity ?? .low), connectTo: exchange.decision.connectTo)
            handler.exchange = exchange
        }
    }
}
