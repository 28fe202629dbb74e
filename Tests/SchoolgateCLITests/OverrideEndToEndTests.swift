import Foundation
import SchoolgateTestSupport
import Testing

@Suite(.enabled(if: Schoolgate.isBuilt && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs the built schoolgate binary and curl"))
struct OverrideEndToEndTests {
    @Test func theICTManagersOverridesReachTheRunningProxyAndAreAudited() async throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-override")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try Schoolgate.exampleConfig(in: directory)
        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        let proxy = try #require(serve.listeningPorts()?.proxy)
        func status() throws -> String {
            try Schoolgate.curl(["-o", "/dev/null", "-w", "%{http_code}", "-x", "http://127.0.0.1:\(proxy)", "http://localhost:1/"]).stdout
        }
        /// Polls past the proxy's 5-second refresh.
        func eventually(_ expected: String) async throws -> String {
            var seen = ""
            for _ in 0..<30 {
                seen = try status()
                if seen == expected { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            return seen
        }
        #expect(try status() == "502", "allowed at first (nothing listens on port 1)")
        let block = try Schoolgate.run(["block", "localhost", "--reason", "exam week", "--config", config, "--as", "ict.manager"])
        #expect(block.status == 0 && block.stdout.hasPrefix("Override #1: blocked localhost for every group."), "\(block.stdout)\(block.stderr)")
        #expect(try await eventually("403") == "403")
        let lesson = try Schoolgate.run(["allow", "localhost", "--group", "pupils-ks3", "--for", "1h", "--reason", "networking lesson",
                                         "--config", config, "--as", "j.teacher"])
        #expect(lesson.status == 0, "\(lesson.stderr)")
        #expect(try await eventually("502") == "502", "the lesson's allow for KS3 beats the block for everyone")
        #expect(try Schoolgate.run(["overrides", "remove", "2", "--config", config, "--as", "j.teacher"]).status == 0)
        #expect(try await eventually("403") == "403")
        let missingReason = try Schoolgate.run(["block", "example.com", "--config", config])
        #expect(missingReason.status != 0 && missingReason.stderr.contains("--reason"))
        let badGroup = try Schoolgate.run(["allow", "example.com", "--group", "teachers", "--reason", "x", "--config", config])
        #expect(badGroup.status != 0 && badGroup.stderr.contains("no group 'teachers'"))
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)

        let list = try Schoolgate.run(["overrides", "list", "--all", "--config", config]).stdout
        #expect(list.contains("exam week") && list.contains("networking lesson") && list.contains("ended"), "\(list)")
        let audit = try Schoolgate.run(["audit", "--config", config, "--as", "dsl"]).stdout
        #expect(audit.contains("ict.manager") && audit.contains("override block") && audit.contains("exam week"))
        #expect(audit.contains("j.teacher") && audit.contains("override allow") && audit.contains("override remove"))
    }
}
