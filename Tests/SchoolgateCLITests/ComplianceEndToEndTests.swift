import Foundation
import Testing

@Suite(.enabled(if: Schoolgate.isBuilt && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs the built schoolgate binary and curl"))
struct ComplianceEndToEndTests {
    func statuses(_ config: String) throws -> [String: (status: String, evidence: String)] {
        let output = try Schoolgate.run(["compliance", "--config", config, "--json", "--as", "governor"]).stdout
        let items = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]], "\(output)")
        return Dictionary(uniqueKeysWithValues: items.map { ($0["id"] as! String, ($0["status"] as! String, $0["evidence"] as! String)) })
    }

    @Test func reportsWhatIsMissingAndSeesItPutRight() throws {
        let directory = NSTemporaryDirectory() + "schoolgate-compliance-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/locked", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try Schoolgate.exampleConfig(in: directory)

        var before = try statuses(config)
        #expect(before["iwf"]?.status == "not met" && before["review"]?.status == "not met" && before["roles"]?.status == "not met")
        #expect(before["visits"]?.status == "not met" && before["alerts"]?.status == "not met")
        #expect(before["categories-pupils-ks3"]?.status == "met" && before["categories-pupils-ks1"]?.evidence == "allow-list only (walled garden)")
        #expect(before["categories-staff"]?.status == "partly" && before["categories-staff"]?.evidence.contains("self-harm") == true)
        #expect(before["guests"]?.status == "met" && before["retention"]?.status == "met")

        // Put some of it right: the locked lists, the people, a review, and some browsing.
        try "iwf-listed.invalid\n".write(toFile: directory + "/locked/iwf.txt", atomically: true, encoding: .utf8)
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "default-group = guests", with: "default-group = guests\ndsl = A. Safeguard\nict-lead = B. Network\ngovernor = C. Board")
            .replacingOccurrences(of: "iwf = locked/iwf.txt", with: "iwf = \(directory)/locked/iwf.txt")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        let proxy = try #require(serve.listeningPorts()?.proxy)
        _ = try Schoolgate.curl(["-o", "/dev/null", "-x", "http://127.0.0.1:\(proxy)", "http://gambling.filter-test.invalid/"])
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
        let recorded = try Schoolgate.run(["compliance", "--config", config, "--record-review", "DSL, ICT lead and governor; staff flags to add",
                                           "--html", directory + "/report.html", "--as", "C. Board"])
        #expect(recorded.status == 0 && recorded.stdout.contains("items met."), "\(recorded.stderr)")

        before = try statuses(config)
        #expect(before["iwf"]?.status == "met" && before["iwf"]?.evidence.hasPrefix("1 entries") == true, "\(before["iwf"]!)")
        #expect(before["ctiru"]?.status == "not met")
        #expect(before["roles"]?.status == "met" && before["roles"]?.evidence.contains("DSL: A. Safeguard") == true)
        #expect(before["review"]?.status == "met" && before["review"]?.evidence.contains("staff flags to add") == true)
        #expect(before["visits"]?.status == "met")
        let page = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(page.contains("<h1>Filtering and monitoring: Example Academy</h1>") && page.contains("IWF child sexual abuse content list"))
        let audit = try Schoolgate.run(["audit", "--config", config, "--as", "dsl"]).stdout
        #expect(audit.contains("filtering and monitoring review") && audit.contains("view compliance report"))
    }
}
