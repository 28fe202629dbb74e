import Foundation
import SchoolgatePolicy

/// Deletes what is older than the school's retention limits, and records that it did.
public struct Retention: Sendable {
    public var visitDays: Int
    public var incidentDays: Int
    public var auditDays: Int

    public init(visitDays: Int, incidentDays: Int, auditDays: Int) {
        self.visitDays = visitDays
        self.incidentDays = incidentDays
        self.auditDays = auditDays
    }

    @discardableResult
    public func purge(_ store: any MonitoringStore, now: Date, actor: String) async throws -> PurgeResult {
        let day: TimeInterval = 86_400
        let result = try await store.purge(
            visitsBefore: now - Double(visitDays) * day, incidentsBefore: now - Double(incidentDays) * day,
            auditBefore: now - Double(auditDays) * day)
        try await store.audit(AuditEntry(
            time: now, actor: actor, action: "purge",
            detail: "\(result.visits) visits older than \(visitDays) days, \(result.incidents) closed incidents older than \(incidentDays) days, \(result.auditEntries) audit entries older than \(auditDays) days"))
        return result
    }
}
