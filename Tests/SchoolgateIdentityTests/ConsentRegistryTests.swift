import Foundation
import Testing
@testable import SchoolgateIdentity
@testable import SchoolgatePolicy

struct ConsentRegistryTests {
    let start = Date(timeIntervalSince1970: 1_795_392_000)

    @Test func keepsTheNewestAgreementAndTakesRevocationsFromTheStore() {
        let registry = ConsentRegistry(terms: ConsentTerms(version: "1", text: "", idleLimit: 600, sessionLimit: 3_600))
        let given = ConsentRecord(client: "10.99.0.5", name: "Ada", termsVersion: "1", consentedAt: start)
        registry.record(given)
        #expect(registry.use(by: "10.99.0.5", at: start + 500)?.name == "Ada")
        #expect(registry.use(by: "10.99.0.5", at: start + 1_000) != nil, "use at 500 kept it from going idle")
        // The store has it now (with an id), and another guest's too; activity is kept.
        var stored = given
        stored.id = 1
        registry.refresh(from: [stored, ConsentRecord(id: 2, client: "10.99.0.6", termsVersion: "1", consentedAt: start)])
        #expect(registry.standing(of: "10.99.0.5", at: start + 1_500).isActive)
        // A newer agreement given here, not yet stored, survives a refresh with the older one.
        registry.record(ConsentRecord(client: "10.99.0.6", termsVersion: "1", consentedAt: start + 1_000))
        registry.refresh(from: [stored, ConsentRecord(id: 2, client: "10.99.0.6", termsVersion: "1", consentedAt: start)])
        #expect(registry.standing(of: "10.99.0.6", at: start + 1_500) == .active(secondsRemaining: 3_100))
        // The store's copy may come back a rounding error away from the one given here.
        let given2 = ConsentRecord(client: "10.99.0.7", termsVersion: "1", consentedAt: Date(timeIntervalSinceReferenceDate: 815_000_000.123456789))
        registry.record(given2)
        var stored2 = given2
        stored2.id = 3
        stored2.consentedAt = Date(timeIntervalSince1970: given2.consentedAt.timeIntervalSince1970)
        stored2.revokedAt = stored2.consentedAt + 1
        registry.refresh(from: [stored, stored2])
        #expect(registry.standing(of: "10.99.0.7", at: given2.consentedAt + 2) == .revoked)
        // `consent revoke` in the store ends the session here.
        stored.revokedAt = start + 1_600
        registry.refresh(from: [stored])
        #expect(registry.standing(of: "10.99.0.5", at: start + 1_700) == .revoked)
        #expect(registry.use(by: "10.99.0.5", at: start + 1_700) == nil)
    }
}
