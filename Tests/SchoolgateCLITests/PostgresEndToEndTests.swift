import Foundation
import SchoolgateTestSupport
import Testing

/// The server `.ci/run` starts: `SCHOOLGATE_TEST_POSTGRES=host:port:user:password:database`.
private let postgres: (host: String, port: String, user: String, password: String, database: String)? = {
    let parts = (ProcessInfo.processInfo.environment["SCHOOLGATE_TEST_POSTGRES"] ?? "127.0.0.1:5432:schoolgate:schoolgate-test:schoolgate_test")
        .split(separator: ":").map(String.init)
    guard parts.count == 5, FileManager.default.isExecutableFile(atPath: "/usr/bin/psql") else { return nil }
    let probe = try? TestShell.run("PGPASSWORD='\(parts[3])' psql -h \(parts[0]) -p \(parts[1]) -U \(parts[2]) -d \(parts[4]) -tAc 'SELECT 1'")
    return probe?.hasPrefix("1") == true ? (parts[0], parts[1], parts[2], parts[3], parts[4]) : nil
}()

@Suite(.enabled(if: Schoolgate.isBuilt && postgres != nil, "needs the built schoolgate binary, psql and the PostgreSQL server .ci/run starts"))
struct PostgresEndToEndTests {
    @Test func twoSchoolsShareOneStoreAndTheDSLSeesBoth() throws {
        let server = try #require(postgres)
        let schema = "cli_" + UUID().uuidString.prefix(8).lowercased()
        defer { _ = try? TestShell.run("PGPASSWORD='\(server.password)' psql -h \(server.host) -p \(server.port) -U \(server.user) -d \(server.database) -qc 'DROP SCHEMA IF EXISTS \(schema) CASCADE'") }
        func site(_ name: String) throws -> (config: String, serve: RunningSchoolgate, proxy: Int) {
            let directory = try TestShell.temporaryDirectory("schoolgate-pg-\(name)")
            try server.password.write(toFile: directory + "/db-password", atomically: true, encoding: .utf8)
            let config = try Schoolgate.exampleConfig(in: directory)
            let text = try String(contentsOfFile: config, encoding: .utf8)
                .replacingOccurrences(of: "database = \(directory)/schoolgate.sqlite",
                                      with: "database = postgres://\(server.user)@\(server.host):\(server.port)/\(server.database)?schema=\(schema)\n"
                                          + "database-password-file = db-password\nstate-directory = \(directory)")
                .replacingOccurrences(of: "name = Example Academy", with: "name = \(name)")
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
            return (config, serve, try #require(serve.listeningPorts()?.proxy))
        }
        let north = try site("north"), south = try site("south")
        for (proxy, path) in [(north.proxy, "north"), (south.proxy, "south")] {
            _ = try Schoolgate.curl(["-o", "/dev/null", "-x", "http://127.0.0.1:\(proxy)", "http://self-harm.filter-test.invalid/\(path)"])
        }
        for running in [north.serve, south.serve] {
            running.signal(SIGTERM)
            #expect(running.wait() == 0)
        }
        // Either site's DSL sees the trust's incidents and visits.
        let incidents = try Schoolgate.run(["incidents", "list", "--config", north.config, "--as", "trust.dsl", "--json"]).stdout
        let list = try #require(try JSONSerialization.jsonObject(with: Data(incidents.utf8)) as? [[String: Any]], "\(incidents)")
        #expect(list.count == 1 && list[0]["count"] as? Int == 2 && list[0]["category"] as? String == "self-harm", "one pupil address, folded: \(list)")
        let visits = try Schoolgate.run(["visits", "--user", "127.0.0.1", "--config", south.config, "--as", "trust.dsl"]).stdout
        #expect(visits.contains("/north") && visits.contains("/south"), "\(visits)")
        let audit = try Schoolgate.run(["audit", "--config", south.config, "--as", "trust.dsl"]).stdout
        #expect(audit.contains("view incidents") || audit.contains("incident"), "\(audit)")
    }
}
