import NIOCore
import NIOPosix
import SchoolgatePolicy

/// The inside of a CONNECT tunnel before it is spliced: reads the client's ClientHello, decides
/// again on the SNI, and only then opens the upstream connection. Until that decision nothing
/// reaches the outside, so a blocked name costs the client a closed socket and nothing more.
final class TunnelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private enum State {
        case awaitingHello(ByteBuffer)
        case connecting(ByteBuffer)
        case spliced
        case closed
    }

    private var state = State.awaitingHello(ByteBuffer())
    private let target: HostName
    private let port: Int
    private let shared: ProxyContext
    private var timeout: Scheduled<Void>?
    /// The CONNECT as decided; the tunnel's own outcome is added when it ends.
    private var exchange: Exchange
    /// Intercepted TLS (no CONNECT): `target` is the address the device really connected to,
    /// and the SNI is checked against it instead of against a CONNECT host.
    private let intercepted: Bool
    /// What a client may send before its tunnel is spliced (a TLS 1.3 client's early data is at
    /// most one flight): the ClientHello and what follows it are held, not read without end.
    static let maximumHeldBytes = 64 * 1024
    private var readsPaused = false

    init(target: HostName, port: Int, shared: ProxyContext, exchange: Exchange, intercepted: Bool = false) {
        self.target = target
        self.port = port
        self.shared = shared
        self.exchange = exchange
        self.intercepted = intercepted
    }

    func channelActive(context: ChannelHandlerContext) {
        // Intercepted traffic to an address the policy already refuses ends before any byte.
        if intercepted, exchange.decision.verdict != .allow, exchange.decision.verdict != .flag {
            refuse(context: context, reason: "refused on its address: \(exchange.decision.rule.rawValue)")
        }
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: shared.configuration.clientHelloTimeout) {
            let (handler, context) = loopBound.value
            if case .awaitingHello = handler.state { handler.refuse(context: context, reason: "no ClientHello before the timeout") }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) { timeout?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch state {
        case .awaitingHello(var buffer):
            buffer.writeBuffer(&bytes)
            state = .awaitingHello(buffer)
            examine(buffer, context: context)
        case .connecting(var buffer):
            buffer.writeBuffer(&bytes)
            state = .connecting(buffer)
            // Held until upstream is there to take it; past this much, the client waits too.
            if buffer.readableBytes > Self.maximumHeldBytes, !readsPaused {
                readsPaused = true
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            }
        case .spliced, .closed:
            break
        }
    }

    private func examine(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        switch ClientHelloParser.parse(buffer.readableBytesView) {
        case .needMoreData:
            return
        case .tooLarge:
            refuse(context: context, reason: "ClientHello larger than \(ClientHelloParser.maximumSize) bytes")
        case .notTLS(let why):
            act(shared.configuration.nonTLS, reason: "not TLS: \(why)", rule: .tunnelRefused, raisesIncident: true, buffer: buffer, context: context)
        case .complete(let hello):
            guard let name = hello.serverName else {
                act(shared.configuration.missingSNI, reason: "no SNI", rule: .tunnelRefused, raisesIncident: false, buffer: buffer, context: context)
                return
            }
            guard let sni = try? HostName(name) else {
                refuse(context: context, reason: "SNI is not a host name")
                return
            }
            exchange.sni = sni.text
            let mismatch = !intercepted && sni != target
            if mismatch, shared.configuration.sniMismatch == .block {
                refuse(context: context, reason: "SNI differs from the CONNECT host", rule: .sniMismatch, raisesIncident: true)
                return
            }
            let (decision, _) = shared.decide(host: sni, path: nil, port: port, client: context.channel.remoteAddress?.ipAddress, who: exchange.who)
            exchange.decision = decision
            if decision.verdict == .block || decision.verdict == .needsConsent || decision.verdict == .needsAuthentication {
                refuse(context: context, reason: "refused on its SNI: \(decision.rule.rawValue)")
            } else if intercepted, let verifier = shared.destinations, shared.configuration.destinationMismatch != .allow {
                checkDestination(of: sni, with: verifier, buffer: buffer, context: context)
            } else {
                if mismatch, shared.configuration.sniMismatch == .flag { flagBypass(rule: .sniMismatch) }
                connect(buffer, context: context)
            }
        }
    }

    /// Intercepted: does the SNI's name live at the address the device connected to?
    private func checkDestination(of sni: HostName, with verifier: DestinationVerifier, buffer: ByteBuffer, context: ChannelHandlerContext) {
        // Bytes arriving meanwhile wait with the hello; nothing is parsed twice.
        state = .connecting(buffer)
        timeout?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        verifier.verify(sni, at: target.text, on: context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            guard case .connecting(let pending) = handler.state else { return }
            if (try? result.get()) == true {
                handler.connect(pending, context: context)
            } else {
                handler.act(handler.shared.configuration.destinationMismatch, reason: "SNI does not resolve to the intercepted address",
                            rule: .destinationMismatch, raisesIncident: true, buffer: pending, context: context)
            }
        }
    }

    private func act(_ action: TunnelAction, reason: String, rule: Decision.Rule, raisesIncident: Bool, buffer: ByteBuffer, context: ChannelHandlerContext) {
        switch action {
        case .block:
            refuse(context: context, reason: reason, rule: rule, raisesIncident: raisesIncident)
        case .flag:
            flagBypass(rule: rule)
            connect(buffer, context: context)
        case .allow:
            connect(buffer, context: context)
        }
    }

    /// Marks the tunnel as a bypass attempt for the DSL while letting it through.
    private func flagBypass(rule: Decision.Rule) {
        guard let severity = shared.configuration.bypassSeverity else { return }
        let decision = exchange.decision
        exchange.decision = Decision(verdict: .flag, rule: rule, group: decision.group, severity: max(severity, decision.severity ?? .low),
                                     connectTo: decision.connectTo)
    }

    /// Closes the tunnel. `rule` is recorded when the refusal is the tunnel's own (no SNI
    /// decision made it): the visit then shows why, not the CONNECT's earlier allow.
    private func refuse(context: ChannelHandlerContext, reason: String, rule: Decision.Rule = .tunnelRefused, raisesIncident: Bool = false) {
        if case .closed = state { return }
        state = .closed
        // A refusal of the tunnel's own (its ClientHello, its SNI) is recorded as such; one the
        // policy already made (blocked, needs consent) keeps its rule.
        if exchange.decision.verdict == .allow || exchange.decision.verdict == .flag {
            let bypass = raisesIncident ? shared.configuration.bypassSeverity : nil
            exchange.decision = Decision(verdict: .block, rule: rule, group: exchange.decision.group,
                                         match: bypass == nil ? exchange.decision.match : nil, severity: bypass ?? exchange.decision.severity)
        }
        shared.report(exchange, status: 403)
        // Reasons carry no host names: what was visited belongs in the visit log, where viewing
        // it is audited, not in debug output.
        shared.logger.debug("tunnel refused", metadata: ["rule": "\(rule.rawValue)", "reason": "\(reason)"])
        // Intercepted: the device thinks it reached the server, so a reset (not a quiet close)
        // tells it at once that this connection is refused.
        if intercepted, let provider = context.channel as? SocketOptionProvider {
            let channel = context.channel
            provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }

    private func connect(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        // SafeSearch: the client's TLS goes, untouched, to the provider's enforcing address.
        let upstream = exchange.decision.connectTo.flatMap { try? HostName($0) } ?? target
        state = .connecting(buffer)
        timeout?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        shared.connectUpstream(host: upstream, port: port, on: context.eventLoop, allowHalfClosure: true)
            .whenComplete { result in
                let (handler, context) = loopBound.value
                switch result {
                case .success(let upstream): handler.splice(upstream, context: context)
                case .failure(let error):
                    handler.refuse(context: context, reason: error is UpstreamRefused ? "upstream not allowed" : "upstream connect failed")
                }
            }
    }

    private func splice(_ upstream: Channel, context: ChannelHandlerContext) {
        guard case .connecting(let pending) = state, context.channel.isActive else {
            upstream.close(promise: nil)
            return
        }
        state = .spliced
        let (local, remote) = GlueHandler.matchedPair()
        let exchange = exchange
        let shared = shared
        // The ClientHello (and anything after it) was read before the splice: count it too.
        let readBeforeSplice = Int64(pending.readableBytes)
        local.onInactive = { fromClient, fromUpstream in
            shared.report(exchange, status: 200, bytesIn: readBeforeSplice + fromClient, bytesOut: fromUpstream)
        }
        do {
            // Room for what arrives during a bulk read's wait (GlueHandler): NIO's default reads
            // at most 64 KiB at a time, four times a turn; a buffer grows only while reads keep
            // filling it. A channel keeps its (up to four) buffers for reuse while it lives, so a
            // tunnel that has carried bulk data may hold 2 MiB, against 512 KiB with the default;
            // 1 MiB buffers, no faster in the same runs, would have let it hold 8.
            let bulk = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 * 1024)
            try upstream.syncOptions?.setOption(ChannelOptions.recvAllocator, value: bulk)
            try context.channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: bulk)
            try upstream.pipeline.syncOperations.addHandler(remote)
            upstream.writeAndFlush(pending, promise: nil)
            try context.pipeline.syncOperations.addHandler(local, position: .after(self))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            if readsPaused { context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in } }
        } catch {
            upstream.close(promise: nil)
            context.close(promise: nil)
        }
    }
}
