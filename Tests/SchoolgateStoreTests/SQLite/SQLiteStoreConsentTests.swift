import Foundation
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore

@Suite struct SQLiteStoreConsentTests {
    @Test func keepsAgreementsNewestFirstAndRevokesThemWithAnAuditEntry() async throws {
        let temporary = try TemporaryStore()
        try await StoreContract.keepsAgreementsNewestFirstAndRevokesThemWithAnAuditEntry(temporary.store)
        withExtendedLifetime(temporary) {}
    }

    @Test func purgesAgreementsWithTheVisitsTheyCovered() async throws {
        let temporary = try TemporaryStore()
        try await StoreContract.purgesAgreementsWithTheVisitsTheyCovered(temporary.store)
        withExtendedLifetime(temporary) {}
    }
}

@Suite struct SQLiteStoreOverrideTests {
    @Test func keepsOverridesWithWhoAndWhyAndEndsThemEarlyOnRequest() async throws {
        let temporary = try TemporaryStore()
        try await StoreContract.keepsOverridesWithWhoAndWhyAndEndsThemEarlyOnRequest(temporary.store)
        withExtendedLifetime(temporary) {}
    }
}
