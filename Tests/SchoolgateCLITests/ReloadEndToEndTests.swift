import Foundation
import Testing

@Suite(.enabled(if: Schoolgate.isBuilt && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs the built schoolgate binary and curl"))
struct ReloadEndToEndTests {
    @Test func sighupSwapsInANewPolicyAndABadOneChangesNothing() async throws {
        let directory = NSTemporaryDirectory() + "schoolgate-reload-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func write(_ blocked: String) throws {
            try "\(blocked)\n".write(toFile: directory + "/blocked", atomically: true, encoding: .utf8)
            try """
                [monitoring]
                database = \(directory)/db.sqlite
                access-log = off
                [category local]
                domains = blocked
                [group everyone]
                addresses = 127.0.0.0/8
                block = local
                """.write(toFile: directory + "/schoolgate.conf", atomically: true, encoding: .utf8)
        }
        // Loopback IP literals: deciding needs no DNS, and an allowed one is refused locally (port 1).
        try write("127.0.0.2")
        let serve = try RunningSchoolgate(["serve", "--config", directory + "/schoolgate.conf", "--port", "0"])
        let port = try #require(serve.listeningPorts()?.proxy)
        func status(_ host: String) throws -> String {
            try Schoolgate.curl(["-o", "/dev/null", "-w", "%{http_code}", "-x", "http://127.0.0.1:\(port)", "http://\(host):1/"]).stdout
        }
        #expect(try status("127.0.0.2") == "403")
        #expect(try status("127.0.0.3") == "502", "allowed, and nothing listens on port 1")

        try write("127.0.0.3")
        serve.signal(SIGHUP)
        try await Task.sleep(for: .milliseconds(800))
        #expect(try status("127.0.0.3") == "403")
        #expect(try status("127.0.0.2") == "502")

        // A broken config is refused and the last good policy keeps serving.
        try "[group everyone]\nblock = nonexistent\n".write(toFile: directory + "/schoolgate.conf", atomically: true, encoding: .utf8)
        serve.signal(SIGHUP)
        try await Task.sleep(for: .milliseconds(800))
        #expect(try status("127.0.0.3") == "403")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)

        try write("127.0.0.3")
        let audit = try Schoolgate.run(["audit", "--config", directory + "/schoolgate.conf", "--as", "test"])
        #expect(audit.stdout.contains("config reload "))
        #expect(audit.stdout.contains("config reload refused"))
    }
}
