import Foundation
import SchoolgateTestSupport
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore

private let hasTools = Schoolgate.isBuilt && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")

@Suite(.enabled(if: hasTools, "needs the built schoolgate binary and curl"))
struct MonitoringEndToEndTests {
    /// The example config, with its paths made absolute and the database in a folder of its own.
    func config(in directory: String) throws -> String {
        try Schoolgate.exampleConfig(in: directory, database: directory + "/data/schoolgate.sqlite")
    }

    func temporaryDirectory() throws -> String {
        let directory = try TestShell.temporaryDirectory("schoolgate-cli")
        return directory
    }

    @Test func aFlaggedVisitBecomesAnIncidentTheDSLCanReviewAndClose() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try config(in: directory)
        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        let port = try #require(serve.listeningPorts()?.proxy)
        let proxy = "http://127.0.0.1:\(port)"

        // 127.0.0.1 is a KS3 pupil in the example config: self-harm is blocked and flagged high.
        #expect(try Schoolgate.curl(["-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, "http://self-harm.filter-test.invalid/"]).stdout == "403")
        #expect(try Schoolgate.curl(["-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, "http://www.self-harm.filter-test.invalid/page"]).stdout == "403")
        #expect(try Schoolgate.curl(["-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, "http://localhost:1/"]).stdout == "502")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)

        let list = try Schoolgate.run(["incidents", "list", "--config", config, "--json", "--as", "mrs.dsl"])
        let incidents = try JSONDecoder.schoolgate.decode([Incident].self, from: Data(list.stdout.utf8))
        let incident = try #require(incidents.first)
        #expect(incidents.count == 1)
        #expect(incident.category == "self-harm")
        #expect(incident.severity == .high)
        #expect(incident.count == 2)
        #expect(incident.subject == "127.0.0.1")

        let show = try Schoolgate.run(["incidents", "show", String(incident.id), "--config", config, "--as", "mrs.dsl"])
        #expect(show.stdout.contains("Incident \(incident.id): high, new"))
        #expect(show.stdout.contains("http://www.self-harm.filter-test.invalid/page"))
        #expect(show.stdout.contains("http://localhost:1/"), "the context includes the user's other browsing")

        #expect(try Schoolgate.run(["incidents", "ack", String(incident.id), "--config", config, "--as", "mrs.dsl"]).status == 0)
        let again = try Schoolgate.run(["incidents", "ack", String(incident.id), "--config", config, "--as", "mrs.dsl"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("only a new incident can be acknowledged"))
        let close = try Schoolgate.run(["incidents", "close", String(incident.id), "--outcome", "Talked with pupil and parents", "--config", config, "--as", "mrs.dsl"])
        #expect(close.stdout == "Incident \(incident.id) is closed.\n")

        let csv = try Schoolgate.run(["incidents", "export", "--config", config, "--as", "mrs.dsl"])
        #expect(csv.stdout.contains(",self-harm,high,self-harm.filter-test.invalid,2,closed,,,Talked with pupil and parents,"))

        let audit = try Schoolgate.run(["audit", "--config", config, "--json", "--as", "governor"])
        let entries = try JSONDecoder.schoolgate.decode([AuditEntry].self, from: Data(audit.stdout.utf8))
        let trail = entries.reversed().map { "\($0.actor): \($0.action)" }
        #expect(trail.filter { $0 != "schoolgate (retention): purge" } == [
            "mrs.dsl: view incidents", "mrs.dsl: view incident", "mrs.dsl: incident acknowledge", "mrs.dsl: incident close",
            "mrs.dsl: export incidents", "governor: view audit trail",
        ])
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/data/schoolgate.sqlite")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func everyIncidentAcknowledgedAsStoredSurvivesSIGKILL() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/incidents.sqlite"
        let raising = try RunningSchoolgate(["debug", "raise-incidents", "--database", database, "--count", "10000"])
        var acknowledged: [Int64] = []
        while acknowledged.count < 3_000, let line = raising.nextLine() {
            if line.hasPrefix("stored "), let id = Int64(line.dropFirst(7)) { acknowledged.append(id) }
        }
        raising.signal(SIGKILL)
        _ = raising.wait()
        #expect(acknowledged.count >= 3_000, "the process was killed mid-way, not after finishing")

        let store = try SQLiteStore(path: database)
        #expect(try await store.integrityCheck() == "ok")
        let stored = Set(try await store.incidents(IncidentQuery(limit: 20_000)).map(\.id))
        let missing = acknowledged.filter { !stored.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) acknowledged incidents lost")
        #expect(stored.count < 10_000, "the kill came before the end")
    }
}

extension JSONDecoder {
    static var schoolgate: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .deferredToDate
        return decoder
    }
}
