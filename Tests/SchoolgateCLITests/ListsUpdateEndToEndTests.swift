import Foundation
import SchoolgateTestSupport
import Testing

/// A loopback web server for list archives: Python's http.server over a folder of the test's.
final class ArchiveServer {
    let folder: String
    let port: Int
    private let process = Process()
    private let input = Pipe()

    init(folder: String) throws {
        self.folder = folder
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", "-c", """
            import functools, http.server, sys, threading
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
            handler.func.log_message = lambda *a: None
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            print(server.server_address[1], flush=True)
            sys.stdin.read()
            """, folder]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = input
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

@Suite(.enabled(if: Schoolgate.isBuilt && FileManager.default.isExecutableFile(atPath: "/bin/tar"), "needs the built schoolgate binary and tar"))
struct ListsUpdateEndToEndTests {
    /// The example config, its `ut1` root a copy of its own that updates may replace.
    func setUp(_ directory: String, lists: String) throws -> String {
        try TestShell.run("cp -rL '\(lists)' '\(directory)/ut1'")
        let config = try Schoolgate.exampleConfig(in: directory)
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "ut1 = \(Schoolgate.repository)/blocklists/ut1-starter", with: "ut1 = \(directory)/ut1")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    /// `NAME.tar.gz` in `served`, with a `blacklists/` top folder as UT1's archive has.
    func archive(_ lists: String, as name: String, in served: String, change: String = "") throws -> String {
        let build = served + "/build-" + name
        try TestShell.run("mkdir -p '\(build)' && cp -rL '\(lists)' '\(build)/blacklists' \(change.isEmpty ? "" : "&& cd '\(build)/blacklists' && \(change)")")
        try TestShell.run("tar -czf '\(served)/\(name).tar.gz' -C '\(build)' blacklists && rm -rf '\(build)'")
        return try TestShell.run("sha256sum '\(served)/\(name).tar.gz'").split(separator: " ")[0].description
    }

    func withUpdates(_ config: String, _ lines: String) throws {
        try (try String(contentsOfFile: config, encoding: .utf8) + "\n[list-updates]\n" + lines + "\n").write(toFile: config, atomically: true, encoding: .utf8)
    }

    @Test func aVerifiedArchiveIsSwappedInAndAnyFailureChangesNothing() async throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-lists-update")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let served = directory + "/served"
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        let starter = Schoolgate.repository + "/blocklists/ut1-starter"
        let config = try setUp(directory, lists: starter)
        let good = try archive(starter, as: "good", in: served, change: "echo newly-listed.example >> gambling/domains")
        _ = try archive(starter, as: "broken", in: served, change: "rm -rf gambling")
        let server = try ArchiveServer(folder: served)
        let base = "http://127.0.0.1:\(server.port)"
        let original = try String(contentsOfFile: directory + "/ut1/gambling/domains", encoding: .utf8)
        func update(_ lines: String) throws -> Schoolgate.Output {
            let text = try String(contentsOfFile: config, encoding: .utf8)
            let trimmed = text.components(separatedBy: "\n[list-updates]\n").first!
            try trimmed.write(toFile: config, atomically: true, encoding: .utf8)
            try withUpdates(config, lines)
            return try Schoolgate.run(["lists", "update", "--config", config, "--as", "ict.manager", "--no-reload"])
        }
        func unchanged() throws -> Bool {
            try String(contentsOfFile: directory + "/ut1/gambling/domains", encoding: .utf8) == original
        }

        let wrongSum = try update("ut1 = \(base)/good.tar.gz\nut1-sha256 = \(String(repeating: "0", count: 64))")
        #expect(wrongSum.status == 1 && wrongSum.stderr.contains("checksum") && wrongSum.stderr.contains("nothing was changed"), "\(wrongSum.stderr)")
        #expect(try unchanged())
        let broken = try update("ut1 = \(base)/broken.tar.gz")
        #expect(broken.status == 1 && broken.stderr.contains("do not load"), "\(broken.stderr)")
        #expect(try unchanged())
        let missing = try update("ut1 = \(base)/missing.tar.gz")
        #expect(missing.status == 1 && missing.stderr.contains("404"), "\(missing.stderr)")
        #expect(try unchanged() && !FileManager.default.fileExists(atPath: directory + "/ut1.new"))

        let updated = try update("ut1 = \(base)/good.tar.gz\nut1-sha256 = \(good)")
        #expect(updated.status == 0, "\(updated.stderr)")
        #expect(try String(contentsOfFile: directory + "/ut1/gambling/domains", encoding: .utf8).contains("newly-listed.example"))
        #expect(try String(contentsOfFile: directory + "/ut1.previous/gambling/domains", encoding: .utf8) == original, "the last good copy is kept")
        let check = try Schoolgate.run(["check", "http://newly-listed.example/", "--group", "pupils-ks2", "--config", config])
        #expect(check.stdout.hasPrefix("BLOCK"))
        let audit = try Schoolgate.run(["audit", "--config", config, "--as", "dsl"]).stdout
        #expect(audit.contains("lists update failed") && audit.contains("lists update "))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: Schoolgate.repository + "/../shared/blocklists/ut1/global_usage"),
                   "needs the UT1 lists in ../shared/blocklists/ut1"))
    func theRealUT1ArchiveUpdatesARunningProxy() async throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-lists-ut1")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let served = directory + "/served"
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        let ut1 = Schoolgate.repository + "/../shared/blocklists/ut1"
        let config = try setUp(directory, lists: Schoolgate.repository + "/blocklists/ut1-starter")
        let sum = try archive(ut1, as: "blacklists", in: served)
        let server = try ArchiveServer(folder: served)
        try withUpdates(config, "ut1 = http://127.0.0.1:\(server.port)/blacklists.tar.gz\nut1-sha256 = \(sum)\nut1-min-size = 1M")
        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        _ = try #require(serve.listeningPorts())
        let updated = try Schoolgate.run(["lists", "update", "--config", config, "--as", "ict.manager"], timeout: 300)
        #expect(updated.status == 0, "\(updated.stderr)")
        #expect(updated.stdout.contains("Reloaded."), "the running proxy took the new lists: \(updated.stdout)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
        let audit = try Schoolgate.run(["audit", "--config", config, "--as", "dsl"]).stdout
        #expect(audit.contains("list entries: "), "the reload's summary names the grown categories: \(audit)")
    }
}
