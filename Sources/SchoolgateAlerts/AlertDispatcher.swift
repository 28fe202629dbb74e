import CoreMetrics
import Foundation
import Logging
import SchoolgatePolicy

/// Sends incidents at or above a severity to the configured targets, a few seconds after they
/// are stored, and keeps trying (with a pause between attempts) until each target has it or the
/// attempts run out. Runs in its own task: a dead webhook slows nothing but itself, and the
/// incident stays in the store whatever happens to its alert.
public final class AlertDispatcher: Sendable {
    public struct Settings: Sendable {
        public var targets: [AlertTarget]
        public var minimumSeverity: Severity
        public var schoolName: String
        public var maxAttempts = 10
        public var retryAfter: TimeInterval = 30
        public var pollInterval: Duration = .seconds(5)
        public var timeout: TimeInterval = 20

        public init(targets: [AlertTarget], minimumSeverity: Severity, schoolName: String) {
            self.targets = targets
            self.minimumSeverity = minimumSeverity
            self.schoolName = schoolName
        }
    }

    private let store: any MonitoringStore
    private let settings: Settings
    private let logger: Logger
    /// Incidents created before the dispatcher first ran are not alerted again on every restart.
    private let since: Date

    public init(store: any MonitoringStore, settings: Settings, logger: Logger, since: Date = Date() - 86_400) {
        // Writing an alert to a command that has already exited raises SIGPIPE, whose default
        // action would end the whole proxy. Sockets (NIO) do not need it; pipes do.
        signal(SIGPIPE, SIG_IGN)
        self.store = store
        self.settings = settings
        self.logger = logger
        self.since = since
    }

    public func run() async {
        while !Task.isCancelled {
            await deliverPending(now: Date())
            try? await Task.sleep(for: settings.pollInterval)
        }
    }

    /// One round: every pending incident to every target it has not reached.
    public func deliverPending(now: Date) async {
        for target in settings.targets {
            let pending: [Incident]
            do {
                pending = try await store.incidentsAwaitingAlert(
                    target: target.description, minimumSeverity: settings.minimumSeverity, since: since,
                    maxAttempts: settings.maxAttempts, retryBefore: now - settings.retryAfter)
            } catch {
                logger.error("alerts: cannot read pending incidents: \(error)")
                return
            }
            for incident in pending {
                var failure: String?
                do {
                    try await target.deliver(payload(incident), timeout: settings.timeout)
                    Counter(label: "schoolgate_alerts_delivered_total").increment()
                } catch {
                    failure = "\(error)"
                    Counter(label: "schoolgate_alert_failures_total").increment()
                    logger.warning("alert for incident \(incident.id) to \(target) failed: \(error)")
                }
                do {
                    try await store.recordAlertAttempt(incident: incident.id, target: target.description, delivered: failure == nil, error: failure, at: Date())
                } catch {
                    logger.error("alerts: cannot record delivery of incident \(incident.id): \(error)")
                }
            }
        }
    }

    struct Payload: Encodable {
        var school: String
        var incident: Int64
        var severity: String
        var category: String
        var user: String
        var group: String
        var device: String
        var site: String
        var count: Int
        var firstSeen: String
        var lastSeen: String
        var text: String
    }

    func payload(_ incident: Incident) throws -> Data {
        let iso = ISO8601DateFormatter()
        let text = "\(incident.severity.rawValue.capitalized) safeguarding alert at \(settings.schoolName): \(incident.subject) (\(incident.group)) "
            + "reached \(incident.category) content (\(incident.site)) \(incident.count) time(s). Review with: schoolgate incidents show \(incident.id)"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Payload(
            school: settings.schoolName, incident: incident.id, severity: incident.severity.rawValue, category: incident.category,
            user: incident.subject, group: incident.group, device: incident.client, site: incident.site, count: incident.count,
            firstSeen: iso.string(from: incident.created), lastSeen: iso.string(from: incident.lastSeen), text: text))
    }
}
