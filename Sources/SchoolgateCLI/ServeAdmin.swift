import CoreMetrics
import Foundation
import Logging
import Prometheus
import SchoolgateConfig
import SchoolgatePortal
import SchoolgateProxy
import SchoolgateStore
import Synchronization

/// `serve`'s admin address: metrics for Prometheus and `/healthz`, on their own listener.
/// Counters the proxy and alerts keep through swift-metrics land in `registry`; figures that
/// are read rather than counted (open connections, list sizes, the store's queue) are read
/// when Prometheus asks.
final class ServeAdmin: Sendable {
    let registry: PrometheusCollectorRegistry
    private let lists = Mutex<(stats: [CategoryStats], loaded: Date)>(([], Date()))
    private let server = Mutex<PageServer?>(nil)
    /// The writer's totals as last reported: Prometheus counters only go up by what changed since.
    private let reported = Mutex<MonitoringWriter.Stats?>(nil)

    init() {
        registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    func listsLoaded(_ loaded: LoadedPolicy, at time: Date = Date()) {
        lists.withLock { $0 = (loaded.stats, time) }
    }

    func start(_ settings: AdminSettings, shared: ProxyContext, writer: MonitoringWriter, logger: Logger) async throws {
        guard let listen = settings.listen else { return }
        let endpoint = AdminEndpoint(metrics: { self.render(shared: shared, writer: writer) }, health: { self.health(shared: shared, writer: writer) })
        let page = try await PageServer(responder: { endpoint.respond(to: $0) }, http: listen, purpose: "admin (metrics, health)", logger: logger)
        server.withLock { $0 = page }
        if let address = page.localAddresses.first {
            FileHandle.standardOutput.write(Data("schoolgate: admin on \(address.ipAddress ?? "?"):\(address.port ?? 0)\n".utf8))
        }
    }

    /// A metric's name and help text (the names already end in their unit where they have one).
    private static func metric(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func render(shared: ProxyContext, writer: MonitoringWriter) -> String {
        // Read under the lock that keeps the last totals, so two scrapes at once each count a change once.
        let (stats, last) = reported.withLock { last in
            let now = writer.stats
            defer { last = now }
            return (now, last)
        }
        registry.makeGauge(descriptor: Self.metric("schoolgate_open_connections", "Client connections open now")).set(Double(shared.openConnections))
        registry.makeGauge(descriptor: Self.metric("schoolgate_store_queue_visits", "Visit records waiting to be stored")).set(Double(stats.queuedVisits))
        registry.makeGauge(descriptor: Self.metric("schoolgate_store_queue_incidents", "Incident sightings waiting to be stored")).set(Double(stats.queuedSightings))
        for counter in Self.storeCounters {
            registry.makeCounter(descriptor: Self.metric(counter.name, counter.help), labels: counter.labels)
                .increment(by: Int64(max(0, stats[keyPath: counter.total] - (last?[keyPath: counter.total] ?? 0))))
        }
        let (categories, loaded) = lists.withLock { $0 }
        for category in categories {
            registry.makeGauge(descriptor: Self.metric("schoolgate_list_entries", "Entries per category"), labels: [("category", category.category)])
                .set(Double(category.entries))
        }
        registry.makeGauge(descriptor: Self.metric("schoolgate_lists_loaded_timestamp_seconds", "When the lists were last loaded (Unix time)"))
            .set(loaded.timeIntervalSince1970)
        return registry.emitToString()
    }

    /// The writer's running totals, as counters: whether the store keeps up (visits written and
    /// dropped, failed writes) and how (batches on idle CPU and prompt ones, and how often a
    /// background batch starved of CPU had to step aside).
    private static let storeCounters: [(name: String, help: String, labels: [(String, String)], total: KeyPath<MonitoringWriter.Stats, Int> & Sendable)] = [
        ("schoolgate_store_visits_written_total", "Visit records stored", [], \.writtenVisits),
        ("schoolgate_store_incident_sightings_written_total", "Incident sightings stored", [], \.writtenSightings),
        ("schoolgate_store_visits_dropped_total", "Visit records lost because the store fell behind", [], \.droppedVisits),
        ("schoolgate_store_failed_batches_total", "Store writes that failed and were retried", [], \.failedBatches),
        ("schoolgate_store_batches_total", "Store writes by kind", [("kind", "background")], \.backgroundBatches),
        ("schoolgate_store_batches_total", "Store writes by kind", [("kind", "prompt")], \.promptBatches),
        ("schoolgate_store_background_batches_yielded_total", "Background store writes given up, unwritten, for something urgent or for want of CPU, and written again", [], \.yieldedBatches),
    ]

    private func health(shared: ProxyContext, writer: MonitoringWriter) -> AdminEndpoint.Health {
        let stats = writer.stats
        let (categories, loaded) = lists.withLock { $0 }
        let entries = categories.reduce(0) { $0 + $1.entries }
        let healthy = !stats.lastWriteFailed && entries > 0
        return AdminEndpoint.Health(healthy: healthy, details: [
            "store": stats.lastWriteFailed ? "the last write failed; retrying" : "ok",
            "lists": "\(entries) entries, loaded \(ISO8601DateFormatter().string(from: loaded))",
            "connections": String(shared.openConnections),
        ])
    }

    func shutdown() async {
        let page = server.withLock { $0 }
        try? await page?.shutdown()
    }
}
