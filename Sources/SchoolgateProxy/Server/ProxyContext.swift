import CoreMetrics
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SchoolgatePolicy

/// What to do with a tunnel that the ClientHello makes doubtful.
public enum TunnelAction: String, Sendable {
    case allow, flag, block
}

public struct ProxyConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 3128
    public var connectPorts: Set<Int> = [443]
    public var sniMismatch = TunnelAction.block
    public var missingSNI = TunnelAction.allow
    public var nonTLS = TunnelAction.block
    /// Incident severity for bypass attempts (SNI mismatch, non-TLS tunnels, and a missing SNI
    /// when its action is `flag`); nil raises none.
    public var bypassSeverity: Severity? = .medium
    public var clientHelloTimeout = TimeAmount.seconds(10)
    public var connectTimeout = TimeAmount.seconds(10)
    public var maxURILength = 8 * 1024
    public var maxHeaderBytes = 32 * 1024
    public var maxHeaderCount = 100
    /// How long a client may take to send a request head, and stay idle between requests.
    public var clientTimeout = TimeAmount.seconds(30)
    /// How long an upstream connection waits in the shared pool for another request (Squid's
    /// `server_idle_pconn_timeout` default).
    public var upstreamIdleTimeout = TimeAmount.seconds(60)
    public var maxConnectionsPerClient = 256
    /// How long shutdown waits for open connections (tunnels above all) before closing them.
    public var shutdownGrace = TimeAmount.seconds(10)
    /// Which hosts the proxy may open upstream connections to; a refused host gets a 502 before
    /// any DNS lookup. Everything by default; tests confine it to loopback names.
    public var upstreamAllowed: @Sendable (HostName) -> Bool = { _ in true }
    /// Listeners for intercepted traffic (iptables/nftables REDIRECT): plain HTTP decided on the
    /// Host header, TLS on the ClientHello's SNI. Nil: not listening.
    public var interceptHTTP: (host: String, port: Int)?
    public var interceptTLS: (host: String, port: Int)?
    /// Intercepted TLS whose SNI does not resolve to the address the device connected to.
    public var destinationMismatch = TunnelAction.flag
    public var schoolName = "Our school"
    public var reviewContact = "ask your teacher or the ICT office"

    public init() {}
}

/// Everything a connection's handlers share: settings, the current policy, the clock.
public final class ProxyContext: Sendable {
    public let configuration: ProxyConfiguration
    public let logger: Logger
    let connections: ConnectionTracker
    private let state: NIOLockedValueBox<State>

    private struct State {
        var policy: Policy
        var overrides = OverrideSet()
        var calendar: SchoolCalendar
        /// School-local time of the current minute: the conversion through Foundation's calendar
        /// costs microseconds, and a decision needs it to the minute only.
        var minute: (epochMinute: Int64, local: LocalTime)?
    }
    let now: @Sendable () -> Date
    let identity: IdentityServices
    /// Upstream names, looked up once a minute rather than per connection; nil: NIO's own
    /// resolver, every time.
    let names: NameCache?
    /// Intercepted traffic's names checked against the addresses it went to (needs `names`).
    let destinations: DestinationVerifier?
    private let metrics = ProxyMetrics()
    private let visitSink: @Sendable (Visit, Decision?) -> Void

    /// `visitSink` gets every request and tunnel once it is over; it must not block (the
    /// monitoring writer only queues).
    public init(configuration: ProxyConfiguration, policy: Policy, calendar: SchoolCalendar, logger: Logger,
                identity: IdentityServices = IdentityServices(), names: NameCache? = nil,
                now: @escaping @Sendable () -> Date = Date.init, visitSink: @escaping @Sendable (Visit, Decision?) -> Void = { _, _ in }) {
        self.configuration = configuration
        self.visitSink = visitSink
        self.logger = logger
        self.connections = ConnectionTracker(limitPerClient: configuration.maxConnectionsPerClient)
        self.state = NIOLockedValueBox(State(policy: policy, calendar: calendar))
        self.now = now
        self.identity = identity
        self.names = names
        self.destinations = names.map(DestinationVerifier.init)
    }

    /// Reports a finished exchange to monitoring.
    func report(_ exchange: Exchange, status: Int, bytesIn: Int64 = 0, bytesOut: Int64 = 0) {
        let finished = now()
        let visit = Visit(
            time: exchange.started, user: exchange.user, group: exchange.decision.group, client: exchange.client, method: exchange.method,
            host: exchange.host, sni: exchange.sni, url: exchange.url, verdict: exchange.decision.verdict, rule: exchange.decision.rule,
            category: exchange.decision.category, status: status, bytesIn: bytesIn, bytesOut: bytesOut,
            durationMilliseconds: max(0, Int(finished.timeIntervalSince(exchange.started) * 1000)))
        visitSink(visit, exchange.decision)
        metrics.record(exchange, duration: finished.timeIntervalSince(exchange.started))
    }

    /// Client connections open now, on every listener.
    public var openConnections: Int { connections.openCount }

    /// Swaps in a new policy (a reload); requests already decided keep their decision.
    public func replacePolicy(_ policy: Policy, calendar: SchoolCalendar) {
        state.withLockedValue { $0 = State(policy: policy, overrides: $0.overrides, calendar: calendar) }
    }

    /// The ICT manager's overrides in force (refreshed from the store every few seconds).
    public func replaceOverrides(_ overrides: OverrideSet) {
        state.withLockedValue { $0.overrides = overrides }
    }

    /// The decision for one request, and the name its visit is logged under.
    /// `client` is the client's address as text (`SocketAddress.ipAddress`).
    func decide(host: HostName, path: String?, port: Int?, client address: String?, who: ClientIdentity) -> (Decision, user: String?) {
        let instant = now()
        // Every time zone's offset is a whole number of minutes, so local minutes turn over with UTC ones.
        let epochMinute = Int64((instant.timeIntervalSince1970 / 60).rounded(.down))
        let (policy, overrides, time) = state.withLockedValue { state -> (Policy, OverrideSet, LocalTime) in
            if let minute = state.minute, minute.epochMinute == epochMinute { return (state.policy, state.overrides, minute.local) }
            let local = state.calendar.localTime(at: instant)
            state.minute = (epochMinute, local)
            return (state.policy, state.overrides, local)
        }
        var user = who.user ?? address.flatMap(identity.userAtAddress)
        let group = policy.group(for: Identity(user: user, directoryGroups: who.directoryGroups, clientAddress: address))
        var consented = true
        if policy.groups[group]?.requires == .consent {
            let record = address.flatMap { identity.consents?.use(by: $0, at: instant) }
            consented = record != nil
            // A guest is logged by the name they gave, marked as unverified.
            if user == nil, let name = record?.name { user = "guest:" + name }
        }
        let request = PolicyRequest(group: group, user: user, host: host, path: path, port: port, time: time,
                                    isAuthenticated: who.authenticated, hasConsented: consented)
        return (policy.decide(request, overrides: overrides, at: instant), user)
    }
}

/// Requests and tunnels by decision and group, and how long they took, through swift-metrics
/// (the `serve` command exports them for Prometheus). Handles are kept per label set: making
/// one costs a lock and a lookup in the backend, once.
final class ProxyMetrics: Sendable {
    private struct Key: Hashable {
        var tunnel: Bool
        var verdict: Decision.Verdict
        var group: String
    }

    private let counters = NIOLockedValueBox<[Key: Counter]>([:])
    private let durations = Timer(label: "schoolgate_request_duration_seconds", preferredDisplayUnit: .seconds)

    func record(_ exchange: Exchange, duration: TimeInterval) {
        let key = Key(tunnel: exchange.method == "CONNECT", verdict: exchange.decision.verdict, group: exchange.decision.group)
        let counter = counters.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: "schoolgate_requests_total",
                                  dimensions: [("kind", key.tunnel ? "tunnel" : "http"), ("verdict", key.verdict.rawValue), ("group", key.group)])
            counters[key] = counter
            return counter
        }
        counter.increment()
        durations.recordNanoseconds(Int64(max(0, duration) * 1_000_000_000))
    }
}

/// One request or tunnel in flight: what monitoring will be told when it ends.
struct Exchange {
    var started: Date
    var client: String
    var method: String
    var host: String
    var sni: String?
    var url: String?
    var decision: Decision
    var user: String?
    var who = ClientIdentity.anonymous
}
