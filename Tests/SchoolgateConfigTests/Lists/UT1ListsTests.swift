import Foundation
import Testing
@testable import SchoolgateConfig
@testable import SchoolgatePolicy

/// The real UT1 lists, where this machine has a copy beside the project.
enum UT1 {
    static let path: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.deletingLastPathComponent().appendingPathComponent("shared/blocklists/ut1").path
    }()
    static var isPresent: Bool { FileManager.default.fileExists(atPath: path + "/global_usage") }

    /// Every category folder, and every alias file naming one.
    static func categories() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).filter { name in
            var isDirectory: ObjCBool = false
            let full = path + "/" + name
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else { return false }
            if isDirectory.boolValue { return true }
            return SquidGuardLayout.resolve(base: path, relative: name) != full
        }.sorted()
    }

    /// Every `step`-th line of a category file that is a plain entry.
    static func sample(_ category: String, _ file: String, step: Int) throws -> [String] {
        let text = try String(contentsOfFile: "\(path)/\(category)/\(file)", encoding: .utf8)
        return text.split(separator: "\n").enumerated().filter { $0.offset % step == 0 }.map { String($0.element) }
            .filter { !$0.hasPrefix("#") && !$0.contains(" ") }
    }

    /// Loaded once for all the tests below: every category, each blocked for `pupils`.
    static let loaded: Result<LoadedPolicy, ConfigErrors> = {
        do {
            let directory = NSTemporaryDirectory() + "schoolgate-ut1-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let names = try categories()
            let sections = names.map { "[category \($0.replacingOccurrences(of: "_", with: "-").lowercased())]\nsquidguard = ut1:\($0)" }
            let blocked = names.filter { $0 != "liste_blanche" }.map { $0.replacingOccurrences(of: "_", with: "-").lowercased() }
            let text = """
                [lists]
                ut1 = \(path)
                \(sections.joined(separator: "\n"))
                [group pupils]
                allow = liste-blanche
                block = \(blocked.joined(separator: ", "))
                """
            let file = directory + "/schoolgate.conf"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return .success(try PolicyLoader.load(configPath: file))
        } catch let error as ConfigErrors {
            return .failure(error)
        } catch {
            return .failure(ConfigErrors([ConfigProblem(file: path, line: nil, field: nil, message: "\(error)")]))
        }
    }()
}

@Suite(.enabled(if: UT1.isPresent, "the UT1 lists are not at ../shared/blocklists/ut1 on this machine"))
struct UT1ListsTests {
    func policy() throws -> LoadedPolicy {
        switch UT1.loaded {
        case .success(let loaded): return loaded
        case .failure(let errors):
            Issue.record("UT1 did not load: \(errors)")
            throw errors
        }
    }

    func decide(_ loaded: LoadedPolicy, _ url: String) throws -> Decision {
        loaded.policy.decide(PolicyRequest(url: try RequestURL(parsing: url), group: "pupils", time: LocalTime(weekday: .monday, minuteOfDay: 600)))
    }

    @Test func loadsEveryCategoryAsItStands() throws {
        let loaded = try policy()
        let stats = Dictionary(loaded.stats.map { ($0.category, $0) }, uniquingKeysWith: { a, _ in a })
        // Aliases resolve to their folder: porn is adult, drugs is drogue.
        #expect(stats["porn"]?.entries == stats["adult"]?.entries)
        #expect(stats["drugs"]?.entries == stats["drogue"]?.entries)
        #expect(stats["gambling"]?.usage == "black")
        #expect(stats["liste-blanche"]?.usage == "white")
        for stat in loaded.stats where !stat.locked {
            #expect(stat.entries > 0, "\(stat.category) loaded no entries")
        }
        #expect(loaded.totalEntries > 600_000)
        // A handful of odd lines in 640,000 is expected; a large share would mean a parsing bug.
        #expect(loaded.skippedLines.total < loaded.totalEntries / 1000, "\(loaded.skippedLines.report.prefix(20))")
    }

    @Test func blocksDomainsDrawnFromTheLists() throws {
        let loaded = try policy()
        for (category, step) in [("gambling", 997), ("drogue", 97), ("vpn", 31), ("social_networks", 53), ("agressif", 97)] {
            for entry in try UT1.sample(category, "domains", step: step) {
                let host = try HostName(entry)
                // Names in the white list are allowed by exception; everything else must block.
                let matches = loaded.policy.index.matches(host: host, path: nil)
                if matches.contains(where: { $0.source.category == "liste-blanche" }) { continue }
                let expected = category.replacingOccurrences(of: "_", with: "-")
                #expect(matches.contains { $0.source.category == expected && $0.entry == host.text }, "\(entry) in \(category)")
                // A name covers its subdomains; an IP address has none.
                let visited = host.kind == .domain ? "www.\(host.text)" : host.urlForm
                let decision = try decide(loaded, "https://\(visited)/")
                #expect(decision.verdict == .block, "\(visited) (\(category))")
            }
        }
    }

    @Test func blocksUrlsDrawnFromTheLists() throws {
        let loaded = try policy()
        for (category, step) in [("adult", 41), ("phishing", 211), ("malware", 23)] {
            for entry in try UT1.sample(category, "urls", step: step) {
                guard let url = try? RequestURL(parsing: entry) else { continue }
                let decision = try decide(loaded, "http://" + entry)
                if decision.rule == .exception { continue }
                #expect(decision.verdict == .block, "\(entry) (\(category))")
                if let path = url.path, path != "/" {
                    // Below the listed path, too.
                    let below = try decide(loaded, "http://" + entry + (entry.hasSuffix("/") ? "" : "/") + "deeper/page.html")
                    #expect(below.verdict == .block, "below \(entry)")
                }
            }
        }
    }

    @Test func leavesUnlistedNamesAlone() throws {
        let loaded = try policy()
        for host in ["schoolgate-unlisted-test.example", "a.b.c.d.unlisted.invalid"] {
            #expect(try decide(loaded, "https://\(host)/").verdict == .allow)
        }
    }
}
