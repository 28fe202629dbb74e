import Foundation
import SchoolgateTestSupport
import Testing

private let hasTools = Schoolgate.isBuilt && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")

/// Sign-in accounts and guest consent, managed with the CLI while `serve` runs.
@Suite(.enabled(if: hasTools, "needs the built schoolgate binary and curl"))
struct IdentityEndToEndTests {
    func temporaryDirectory() throws -> String {
        let directory = try TestShell.temporaryDirectory("schoolgate-identity")
        return directory
    }

    /// The example config with loopback moved from the KS3 pupils into `group`.
    func config(in directory: String, loopbackIn group: String, extra: String = "") throws -> String {
        let path = try Schoolgate.exampleConfig(in: directory)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "addresses = 10.3.0.0/16, 127.0.0.0/8, ::1", with: "addresses = 10.3.0.0/16")
            .replacingOccurrences(of: "[group \(group)]\n", with: "[group \(group)]\naddresses = 127.0.0.0/8, ::1\n\(extra)")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func status(_ proxy: Int, _ url: String, _ extra: [String] = []) throws -> String {
        try Schoolgate.curl(["-o", "/dev/null", "-w", "%{http_code}", "-x", "http://127.0.0.1:\(proxy)"] + extra + [url]).stdout
    }

    @Test func anAccountAddedWithTheCLISignsInThroughTheProxy() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try config(in: directory, loopbackIn: "staff", extra: "requires = authentication\n")
        let added = try Schoolgate.run(["users", "add", "jsmith", "--password-stdin", "--config", config, "--as", "ict.manager"], input: "correct horse battery\n")
        #expect(added.status == 0, "\(added.stderr)")
        let short = try Schoolgate.run(["users", "add", "short", "--password-stdin", "--config", config], input: "abc\n")
        #expect(short.status != 0 && short.stderr.contains("at least 8 characters"))
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/users")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try Schoolgate.run(["users", "list", "--config", config]).stdout == "jsmith\n")

        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        let proxy = try #require(serve.listeningPorts()?.proxy)
        // localhost:1 refuses connections: a 502 shows the request was let through.
        #expect(try status(proxy, "http://localhost:1/") == "407")
        #expect(try status(proxy, "http://localhost:1/", ["--proxy-user", "jsmith:wrong"]) == "407")
        #expect(try status(proxy, "http://localhost:1/", ["--proxy-user", "jsmith:correct horse battery"]) == "502")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)

        let visits = try Schoolgate.run(["visits", "--user", "jsmith", "--config", config, "--as", "dsl"])
        #expect(visits.stdout.contains("http://localhost:1/"), "the visit is logged under the signed-in name: \(visits.stdout)")
        let audit = try Schoolgate.run(["audit", "--config", config, "--as", "dsl"])
        #expect(audit.stdout.contains("ict.manager") && audit.stdout.contains("users add"))
        #expect(!audit.stdout.contains("correct horse"), "no password anywhere in the trail")
    }

    @Test func aGuestAgreesOnThePageAndARevocationSendsThemBack() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try config(in: directory, loopbackIn: "guests")
        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        let ports = try #require(serve.listeningPorts())
        let page = "http://127.0.0.1:\(try #require(ports.consentPage))/"
        let redirect = try Schoolgate.curl(["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-x", "http://127.0.0.1:\(ports.proxy)", "http://localhost:1/"])
        #expect(redirect.stdout == "302 \(page)")

        let form = try Schoolgate.curl([page]).stdout
        let token = try #require(form.range(of: "name=\"token\" value=\"").map { String(form[$0.upperBound...].prefix { $0 != "\"" }) })
        let accepted = try Schoolgate.curl(["-o", "/dev/null", "-w", "%{http_code}", "--data", "token=\(token)&name=Visitor&agree=yes", page + "accept"])
        #expect(accepted.stdout == "303")
        #expect(try status(ports.proxy, "http://localhost:1/") == "502", "let through after agreeing")

        let listed = try Schoolgate.run(["consent", "list", "--config", config, "--as", "ict.manager"])
        #expect(listed.stdout.contains("127.0.0.1") && listed.stdout.contains("Visitor") && listed.stdout.contains("in force"), "\(listed.stdout)")
        let revoked = try Schoolgate.run(["consent", "revoke", "127.0.0.1", "--config", config, "--as", "ict.manager"])
        #expect(revoked.stdout == "Ended 1 agreement(s).\n", "\(revoked.stderr)")
        // The running proxy reads revocations every 5 s; poll a little beyond that.
        var after = ""
        for _ in 0..<40 {
            after = try status(ports.proxy, "http://localhost:1/")
            if after == "302" { break }
            Thread.sleep(forTimeInterval: 0.25)
        }
        #expect(after == "302")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
        let audit = try Schoolgate.run(["audit", "--config", config, "--as", "dsl"])
        #expect(audit.stdout.contains("consent revoke") && audit.stdout.contains("view consents"))
    }
}

@Suite(.enabled(if: hasTools && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") || FileManager.default.fileExists(atPath: "/root/.pyenv/shims/python3"),
                "needs the built schoolgate binary, curl and python3"))
struct RadiusEndToEndTests {
    static let client = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/radius_client.py").path
    static let secret = "a-long-shared-secret-for-tests"

    func send(_ port: Int, _ status: String, user: String, address: String, secret: String = secret) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.client, "127.0.0.1", String(port), secret, status, user, address, "AA-BB-CC-00-11-22"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aWiFiSignInNamesTheUserOfAnAddressUntilItStops() throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-radius")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try Schoolgate.exampleConfig(in: directory)
        try (try String(contentsOfFile: config, encoding: .utf8) + """

            [radius]
            listen = 127.0.0.1:0
            secret = \(Self.secret)
            clients = 127.0.0.1

            [address-users]
            127.0.0.0/8 = shared-device
            """).write(toFile: config, atomically: true, encoding: .utf8)
        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        let ports = try #require(serve.listeningPorts())
        let radius = try #require(ports.radius)
        func visit(_ path: String) throws {
            _ = try Schoolgate.curl(["-o", "/dev/null", "-x", "http://127.0.0.1:\(ports.proxy)", "http://localhost:1/\(path)"])
        }

        try visit("before")
        #expect(try send(radius, "start", user: "KS3.Pupil", address: "127.0.0.1") == "acknowledged")
        #expect(try send(radius, "start", user: "intruder", address: "127.0.0.1", secret: "the-wrong-secret-entirely") == "no answer",
                "a forged message is dropped unanswered")
        try visit("signed-in")
        _ = try Schoolgate.curl(["-o", "/dev/null", "-x", "http://127.0.0.1:\(ports.proxy)", "http://self-harm.filter-test.invalid/"])
        #expect(try send(radius, "stop", user: "ks3.pupil", address: "127.0.0.1") == "acknowledged")
        try visit("after")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)

        let pupil = try Schoolgate.run(["visits", "--user", "ks3.pupil", "--config", config, "--as", "dsl"]).stdout
        #expect(pupil.contains("/signed-in") && !pupil.contains("/before") && !pupil.contains("/after"), "\(pupil)")
        let shared = try Schoolgate.run(["visits", "--user", "shared-device", "--config", config, "--as", "dsl"]).stdout
        #expect(shared.contains("/before") && shared.contains("/after") && !shared.contains("/signed-in"), "\(shared)")
        #expect(try Schoolgate.run(["visits", "--user", "intruder", "--config", config, "--as", "dsl"]).stdout.contains("No visits"))
        let incidents = try Schoolgate.run(["incidents", "list", "--user", "ks3.pupil", "--config", config, "--as", "dsl"]).stdout
        #expect(incidents.contains("self-harm") && incidents.contains("ks3.pupil"), "the incident names the signed-in pupil: \(incidents)")
    }
}

@Suite(.enabled(if: hasTools && TestDirectory.isInstalled, "needs the built schoolgate binary, curl and Debian's slapd"))
struct DirectoryEndToEndTests {
    @Test func aDirectoryAccountSignsInAndGetsItsDirectoryGroupsPolicy() throws {
        let slapd = try TestDirectory()
        let directory = try TestShell.temporaryDirectory("schoolgate-ldap")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try Schoolgate.exampleConfig(in: directory)
        try "service-password-1\n".write(toFile: directory + "/ldap-password", atomically: true, encoding: .utf8)
        var text = try String(contentsOfFile: config, encoding: .utf8)
        // Loopback signs in as staff would; jsmith is in "KS3 Pupils" in the directory.
        text = text.replacingOccurrences(of: "addresses = 10.3.0.0/16, 127.0.0.0/8, ::1", with: "addresses = 10.3.0.0/16")
            .replacingOccurrences(of: "[group staff]\n", with: "[group staff]\naddresses = 127.0.0.0/8, ::1\nrequires = authentication\n")
        text += """

            [directory]
            url = ldaps://localhost:\(slapd.ldapsPort)
            bind-dn = uid=schoolgate,ou=people,dc=school,dc=test
            bind-password-file = ldap-password
            user-base = ou=people,dc=school,dc=test
            group-base = ou=groups,dc=school,dc=test
            group-object-class = groupOfNames
            ca-file = \(slapd.folder)/cert.pem
            """
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        let proxy = try #require(serve.listeningPorts()?.proxy)
        func status(_ credentials: String?, _ url: String) throws -> String {
            try Schoolgate.curl(["-o", "/dev/null", "-w", "%{http_code}", "-x", "http://127.0.0.1:\(proxy)"]
                + (credentials.map { ["--proxy-user", $0] } ?? []) + [url]).stdout
        }
        #expect(try status(nil, "http://localhost:1/") == "407")
        #expect(try status("jsmith:wrong-password", "http://localhost:1/") == "407")
        #expect(try status("locked:correct-horse-2", "http://localhost:1/") == "407", "a locked account stays out")
        #expect(try status("jsmith:correct-horse-1", "http://localhost:1/lesson") == "502", "let through (nothing listens there)")
        // As a KS3 pupil now: games are blocked for KS3 pupils, never for staff.
        #expect(try status("jsmith:correct-horse-1", "http://games.filter-test.invalid/") == "403")
        slapd.stop()
        #expect(try status("jsmith:correct-horse-1", "http://localhost:1/cached") == "502", "verified sign-ins are cached")
        #expect(try status("jsmith:other-password", "http://localhost:1/") == "503", "directory down: a clear 503")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
        let visits = try Schoolgate.run(["visits", "--user", "jsmith", "--config", config, "--as", "dsl", "--json"]).stdout
        let records = try #require(try JSONSerialization.jsonObject(with: Data(visits.utf8)) as? [[String: Any]], "\(visits)")
        #expect(!records.isEmpty && records.allSatisfy { $0["group"] as? String == "pupils-ks3" }, "\(records)")
    }
}
