import Foundation

/// The admin address: Prometheus metrics and a health check for the monitoring system, on an
/// address of its own (loopback by default), never on the proxy port pupils use.
public struct AdminEndpoint: Sendable {
    public struct Health: Sendable {
        public var healthy: Bool
        public var details: [String: String]

        public init(healthy: Bool, details: [String: String]) {
            self.healthy = healthy
            self.details = details
        }
    }

    private let metrics: @Sendable () -> String
    private let health: @Sendable () -> Health

    public init(metrics: @escaping @Sendable () -> String, health: @escaping @Sendable () -> Health) {
        self.metrics = metrics
        self.health = health
    }

    public func respond(to request: PortalRequest) -> PortalResponse {
        let path = request.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        guard request.method == "GET" || request.method == "HEAD" else {
            return PortalResponse(status: 405, headers: ["Allow": "GET", "Content-Type": "text/plain"], body: "Method not allowed.\n")
        }
        switch path {
        case "/metrics":
            return PortalResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Cache-Control": "no-store"], body: metrics())
        case "/healthz":
            let state = health()
            let fields = state.details.sorted { $0.key < $1.key }.map { "\"\(ConsentPortal.jsonEscape($0.key))\": \"\(ConsentPortal.jsonEscape($0.value))\"" }
            let body = "{\"status\": \"\(state.healthy ? "ok" : "failing")\"" + (fields.isEmpty ? "" : ", " + fields.joined(separator: ", ")) + "}\n"
            return PortalResponse(status: state.healthy ? 200 : 503, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"], body: body)
        default:
            return PortalResponse(status: 404, headers: ["Content-Type": "text/plain"], body: "Try /metrics or /healthz.\n")
        }
    }
}
