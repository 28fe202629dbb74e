import Foundation
import SchoolgateTestSupport
import Testing

@Suite(.enabled(if: Schoolgate.isBuilt && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs the built schoolgate binary and curl"))
struct ReloadEndToEndTests {
    @Test func sighupSwapsInANewPolicyAndABadOneChangesNothing() async throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-reload")
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

@Suite(.enabled(if: Schoolgate.isBuilt, "needs the built schoolgate binary"))
struct ReloadUnderLoadTests {
    @Test func noRequestFailsWhileTheConfigIsReloadedAgainAndAgain() async throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-reload-load")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try Schoolgate.exampleConfig(in: directory)
        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        let port = try #require(serve.listeningPorts()?.proxy)

        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = ["python3", Schoolgate.repository + "/Tests/SchoolgateCLITests/Support/steady_client.py", String(port)]
        let input = Pipe(), output = Pipe()
        client.standardInput = input
        client.standardOutput = output
        client.standardError = FileHandle.nullDevice
        try client.run()
        _ = output.fileHandleForReading.availableData  // "ready"
        // Five reloads of the full example config (its lists included) while the client browses.
        for _ in 0..<5 {
            try await Task.sleep(for: .milliseconds(400))
            serve.signal(SIGHUP)
        }
        try await Task.sleep(for: .milliseconds(800))
        try input.fileHandleForWriting.close()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        client.waitUntilExit()
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)

        let words = report.split(separator: " ")
        let requests = words.count >= 4 ? Int(words[1]) ?? 0 : 0
        #expect(requests > 20, "the client kept browsing throughout: \(report)")
        #expect(report.hasPrefix("requests \(requests) failures 0"), "\(report)")
        let audit = try Schoolgate.run(["audit", "--config", config, "--as", "test"]).stdout
        #expect(audit.components(separatedBy: "config reload ").count - 1 == 5 && !audit.contains("refused"), "\(audit)")
    }
}

@Suite(.enabled(if: Schoolgate.isBuilt, "needs the built schoolgate binary"))
struct ReloadCommandTests {
    @Test func reloadSaysWhatChangedOrWhyItWasRefused() throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-reload-command")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try Schoolgate.exampleConfig(in: directory)
        let original = try String(contentsOfFile: config, encoding: .utf8)
        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        _ = try #require(serve.listeningPorts())

        try original.replacingOccurrences(of: "block = pornography, gambling, malware, extremism, vpn-proxy, dating, social-media",
                                          with: "block = pornography, gambling, malware, extremism, vpn-proxy, dating, social-media, games")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let reloaded = try Schoolgate.run(["reload", "--config", config, "--as", "ict.manager"])
        #expect(reloaded.status == 0, "\(reloaded.stderr)")
        #expect(reloaded.stdout.contains("groups changed: staff (block +games)"), "\(reloaded.stdout)")

        // Readable as a config, but one of its lists is missing: the running proxy refuses it.
        try (original + "\n[category extra]\ndomains = /nonexistent/extra-list\n").write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try Schoolgate.run(["reload", "--config", config, "--as", "ict.manager"])
        #expect(refused.status == 1 && refused.stderr.contains("reload refused") && refused.stderr.contains("/nonexistent/extra-list"), "\(refused.stderr)")

        try original.write(toFile: config, atomically: true, encoding: .utf8)
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
        let none = try Schoolgate.run(["reload", "--config", config])
        #expect(none.status == 2 && none.stderr.contains("no running schoolgate serve"))
        let audit = try Schoolgate.run(["audit", "--config", config, "--as", "dsl"]).stdout
        #expect(audit.contains("reload requested") && audit.contains("ict.manager"))
    }
}
