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

@Suite struct SQLiteStoreOverrideTests {
    @Test func keepsOverridesWithWhoAndWhyAndEndsThemEarlyOnRequest() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        let lesson = try await store.addOverride(PolicyOverride(host: "odds.example", action: .allow, group: "pupils-ks4", category: "maths",
                                                                reason: "probability lesson", actor: "j.teacher", created: t0, expires: t0 + 3_600))
        let blocked = try await store.addOverride(PolicyOverride(host: "game.example", action: .block, reason: "exam week", actor: "ict", created: t0))
        #expect(try await store.overrides(at: t0 + 60, includingEnded: false).map(\.id) == [lesson, blocked])
        #expect(try await store.overrides(at: t0 + 3_600, includingEnded: false).map(\.id) == [blocked], "the lesson's ended")
        let removed = try await store.removeOverride(id: blocked, by: "ict", at: t0 + 120)
        #expect(removed.removed == t0 + 120 && removed.host == "game.example")
        await #expect(throws: StoreError.self) { try await store.removeOverride(id: blocked, by: "ict", at: t0 + 130) }
        #expect(try await store.overrides(at: t0 + 200, includingEnded: false).map(\.id) == [lesson])
        #expect(try await store.overrides(at: t0 + 200, includingEnded: true).count == 2)
        let audit = try await store.auditTrail(since: nil, limit: 10).map { "\($0.actor) \($0.action): \($0.detail)" }
        #expect(audit.contains { $0.hasPrefix("j.teacher override allow: #\(lesson) odds.example for pupils-ks4 until ") && $0.hasSuffix(": probability lesson") })
        #expect(audit.contains("ict override block: #\(blocked) game.example for every group: exam week"))
        #expect(audit.contains("ict override remove: #\(blocked) game.example"))
    }
}
