import Foundation
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore

@Suite struct SQLiteStoreConsentTests {
    @Test func keepsAgreementsNewestFirstAndRevokesThemWithAnAuditEntry() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        let first = try await store.recordConsent(ConsentRecord(client: "10.99.0.5", mac: "aa:bb:cc:dd:ee:ff", name: "Ada", termsVersion: "1", consentedAt: t0))
        let second = try await store.recordConsent(ConsentRecord(client: "10.99.0.6", termsVersion: "1", consentedAt: t0 + 60))
        let listed = try await store.consents(since: nil, limit: 10)
        #expect(listed.map(\.id) == [second, first])
        #expect(listed.last == ConsentRecord(id: first, client: "10.99.0.5", mac: "aa:bb:cc:dd:ee:ff", name: "Ada", termsVersion: "1", consentedAt: t0))
        #expect(try await store.consents(since: t0 + 30, limit: 10).map(\.id) == [second])

        #expect(try await store.revokeConsents(client: "10.99.0.5", by: "ict.manager", at: t0 + 120) == 1)
        #expect(try await store.revokeConsents(client: "10.99.0.5", by: "ict.manager", at: t0 + 130) == 0, "already ended")
        let after = try await store.consents(since: nil, limit: 10)
        #expect(after.first { $0.id == first }?.revokedAt == t0 + 120)
        #expect(after.first { $0.id == second }?.revokedAt == nil)
        #expect(try await store.revokeConsents(client: nil, by: "ict.manager", at: t0 + 140) == 1)
        let audit = try await store.auditTrail(since: nil, limit: 10)
        #expect(audit.filter { $0.action == "consent revoke" && $0.actor == "ict.manager" }.count == 3)
        #expect(audit.contains { $0.detail == "every guest: 1 agreement(s) ended" })
    }

    @Test func purgesAgreementsWithTheVisitsTheyCovered() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        _ = try await store.recordConsent(ConsentRecord(client: "10.99.0.5", termsVersion: "1", consentedAt: t0))
        _ = try await store.recordConsent(ConsentRecord(client: "10.99.0.5", termsVersion: "1", consentedAt: t0 + 86_400))
        _ = try await store.purge(visitsBefore: t0 + 3_600, incidentsBefore: t0, auditBefore: t0)
        #expect(try await store.consents(since: nil, limit: 10).map(\.consentedAt) == [t0 + 86_400])
    }
}
