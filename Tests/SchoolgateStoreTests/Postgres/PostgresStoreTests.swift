import Foundation
import Logging
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore

/// The PostgreSQL server the tests use: `SCHOOLGATE_TEST_POSTGRES=host:port:user:password:database`,
/// or the one `.ci/run` starts (127.0.0.1:5432, user schoolgate, database schoolgate_test).
enum TestPostgres {
    static let settings: (host: String, port: Int, user: String, password: String, database: String) = {
        let parts = (ProcessInfo.processInfo.environment["SCHOOLGATE_TEST_POSTGRES"] ?? "127.0.0.1:5432:schoolgate:schoolgate-test:schoolgate_test")
            .split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, let port = Int(parts[1]) else { return ("127.0.0.1", 5432, "schoolgate", "schoolgate-test", "schoolgate_test") }
        return (parts[0], port, parts[2], parts[3], parts[4])
    }()

    /// Something listens there (checked once, by connecting).
    static let isReachable: Bool = {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(settings.port).bigEndian)
        guard inet_pton(AF_INET, settings.host, &address.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }()

    /// A store in a schema of its own, so tests run side by side; dropped afterwards.
    static func withStore(_ body: (PostgresStore) async throws -> Void) async throws {
        let schema = "test_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        let store = try await PostgresStore(settings: .init(host: settings.host, port: settings.port, user: settings.user, password: settings.password,
                                                            database: settings.database, schema: schema), logger: Logger(label: "test"))
        do {
            try await body(store)
        } catch {
            try? await store.dropSchema()
            throw error
        }
        try await store.dropSchema()
    }
}

@Suite(.enabled(if: TestPostgres.isReachable, "needs a PostgreSQL server (started by .ci/run; see SCHOOLGATE_TEST_POSTGRES)"))
struct PostgresStoreTests {
    @Test func storesVisitsAndFindsThemByUserAndPeriod() async throws { try await TestPostgres.withStore { try await StoreContract.storesVisitsAndFindsThemByUserAndPeriod($0) } }
    @Test func foldsRepeatsWithinTheWindowIntoOneIncident() async throws { try await TestPostgres.withStore { try await StoreContract.foldsRepeatsWithinTheWindowIntoOneIncident($0) } }
    @Test func aClosedIncidentIsNotReopenedByARepeat() async throws { try await TestPostgres.withStore { try await StoreContract.aClosedIncidentIsNotReopenedByARepeat($0) } }
    @Test func followsTheWorkflowAndRefusesIllegalSteps() async throws { try await TestPostgres.withStore { try await StoreContract.followsTheWorkflowAndRefusesIllegalSteps($0) } }
    @Test func listsMostSevereAndNewestFirstWithFilters() async throws { try await TestPostgres.withStore { try await StoreContract.listsMostSevereAndNewestFirstWithFilters($0) } }
    @Test func purgesOldVisitsClosedIncidentsAndAuditSeparately() async throws { try await TestPostgres.withStore { try await StoreContract.purgesOldVisitsClosedIncidentsAndAuditSeparately($0) } }
    @Test func summarisesBlockedSitesCategoriesWeeksAndUsers() async throws { try await TestPostgres.withStore { try await StoreContract.summarisesBlockedSitesCategoriesWeeksAndUsers($0) } }
    @Test func keepsAgreementsNewestFirstAndRevokesThemWithAnAuditEntry() async throws { try await TestPostgres.withStore { try await StoreContract.keepsAgreementsNewestFirstAndRevokesThemWithAnAuditEntry($0) } }
    @Test func purgesAgreementsWithTheVisitsTheyCovered() async throws { try await TestPostgres.withStore { try await StoreContract.purgesAgreementsWithTheVisitsTheyCovered($0) } }
    @Test func keepsOverridesWithWhoAndWhyAndEndsThemEarlyOnRequest() async throws { try await TestPostgres.withStore { try await StoreContract.keepsOverridesWithWhoAndWhyAndEndsThemEarlyOnRequest($0) } }
}
