import Foundation
import SchoolgateTestSupport
import Testing

private let hasGoAccess = Schoolgate.isBuilt && FileManager.default.isExecutableFile(atPath: "/usr/bin/goaccess")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")

@Suite(.enabled(if: hasGoAccess, "needs the built schoolgate binary, curl and goaccess"))
struct AccessLogEndToEndTests {
    @Test func goAccessReadsTheAccessLogAcrossARotation() async throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-goaccess")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try Schoolgate.exampleConfig(in: directory)

        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        let port = try #require(serve.listeningPorts()?.proxy)
        let proxy = "http://127.0.0.1:\(port)"
        for index in 0..<5 { _ = try Schoolgate.curl(["-o", "/dev/null", "-x", proxy, "http://gambling.filter-test.invalid/\(index)"]) }
        _ = try Schoolgate.curl(["-o", "/dev/null", "-x", proxy, "https://www.bet365.com/"])
        try await Task.sleep(for: .milliseconds(600))
        // logrotate's way: move the file, then SIGUSR1.
        try FileManager.default.moveItem(atPath: directory + "/access.log", toPath: directory + "/access.log.1")
        serve.signal(SIGUSR1)
        try await Task.sleep(for: .milliseconds(300))
        for index in 0..<3 { _ = try Schoolgate.curl(["-o", "/dev/null", "-x", proxy, "http://localhost:1/\(index)"]) }
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)

        func requests(in file: String) throws -> Int {
            let report = directory + "/report-\(UUID().uuidString).json"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/goaccess")
            process.arguments = [file, "--no-global-config", "--log-format=%x.%^ %~%L %h %^/%s %b %m %U %e %^ %^",
                                 "--date-format=%s", "--time-format=%s", "-o", report]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
            let general = json?["general"] as? [String: Any]
            #expect(general?["failed_requests"] as? Int == 0)
            return general?["total_requests"] as? Int ?? -1
        }
        #expect(try requests(in: directory + "/access.log.1") == 6)
        #expect(try requests(in: directory + "/access.log") == 3)
        let lines = try String(contentsOfFile: directory + "/access.log.1", encoding: .utf8).split(separator: "\n")
        #expect(lines.contains { $0.contains(" TCP_DENIED/403 ") && $0.contains(" CONNECT www.bet365.com:443 ") })
    }
}
