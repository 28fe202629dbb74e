import Foundation
import Testing
@testable import SchoolgateConfig
@testable import SchoolgatePolicy

private let categories = """
    [lists]
    sg = \(Fixtures.directory)/squidguard
    [category gambling]
    squidguard = sg:gambling
    [category adult]
    squidguard = sg:porn
    [category ads]
    adblock = \(Fixtures.path("adblock.txt"))
    hosts = \(Fixtures.path("hosts.txt"))
    """

@Suite struct PolicyConfigTests {
    @Test func loadsAValidConfigIntoAWorkingPolicy() throws {
        let directory = try TemporaryDirectory()
        try directory.write("guest-terms.txt", "Be kind.\n")
        let file = try directory.write("schoolgate.conf", configText(categories: categories, groups: """
            [group pupils]
            addresses = 10.0.0.0/8
            block = gambling, adult
            flag = adult:high
            time = allow gambling sat 10:00-11:00
            [group guests]
            requires = consent
            """, extra: "default-group = guests"))
        let loaded = try PolicyLoader.load(configPath: file)
        #expect(loaded.config.school.name == "Test School")
        #expect(loaded.policy.defaultGroup == "guests")
        #expect(loaded.policy.group(for: Identity(clientAddress: "10.1.2.3")) == "pupils")
        #expect(loaded.stats.first { $0.category == "adult" }?.entries == 2)
        #expect(loaded.stats.first { $0.category == "adult" }?.usage == "black")
        #expect(loaded.emptyLockedSlots == [.iwf, .ctiru])
        let request = PolicyRequest(url: try RequestURL(parsing: "http://bet.example/"), group: "pupils", time: LocalTime(weekday: .monday, hour: 9, minute: 0))
        let decision = loaded.policy.decide(request)
        #expect(decision.verdict == .block)
        #expect(decision.ruleLocation?.line == 16)
    }

    @Test func unknownCategoriesAreNamedWithASuggestion() throws {
        let problems = try loadProblems(configText(categories: categories, groups: """
            [group pupils]
            block = gamblin
            """), in: TemporaryDirectory())
        #expect(problems.map(\.description).contains { $0.hasSuffix("schoolgate.conf:15: [group pupils] block: unknown category 'gamblin' (did you mean 'gambling'?)") })
    }

    @Test(arguments: ["off", "none", "", "false", "disabled"])
    func theLockedSlotsCannotBeSwitchedOff(value: String) throws {
        let problems = try loadProblems(configText(categories: categories, groups: "[group pupils]", extra: "[locked]\niwf = \(value)"), in: TemporaryDirectory())
        #expect(problems.count == 1)
        #expect(problems[0].field == "[locked] iwf")
        #expect(problems[0].message.contains("cannot be switched off"))
    }

    @Test func theLockedSlotsCannotBeAllowedRedefinedOrToggled() throws {
        let problems = try loadProblems(configText(categories: categories + "\n[category ctiru]\ndomains = x", groups: """
            [group staff]
            allow = iwf
            time = allow ctiru mon 09:00-10:00
            """, extra: "[locked]\nenabled = no"), in: TemporaryDirectory())
        let messages = problems.map(\.description)
        #expect(messages.count == 4, "\(messages)")
        #expect(messages.contains { $0.contains("[locked] enabled: the locked section holds only 'iwf' and 'ctiru'") })
        #expect(messages.contains { $0.contains("[category ctiru]: 'ctiru' is the locked CTIRU") })
        #expect(messages.contains { $0.contains("[group staff] allow: the IWF child sexual abuse content list is locked") })
        #expect(messages.contains { $0.contains("[group staff] time: the CTIRU police-assessed terrorist content list is locked") })
    }

    @Test func lockedListsLoadWhenPresentAndBlockEveryone() throws {
        let directory = try TemporaryDirectory()
        try directory.write("locked/iwf.txt", "abuse.example/images\n")
        try directory.write("locked/ctiru.txt", "terror.example\n")
        let file = try directory.write("schoolgate.conf", configText(categories: categories, groups: "[group staff]\nallow = ads"))
        let loaded = try PolicyLoader.load(configPath: file)
        #expect(loaded.emptyLockedSlots.isEmpty)
        let time = LocalTime(weekday: .monday, minuteOfDay: 600)
        let iwf = loaded.policy.decide(PolicyRequest(url: try RequestURL(parsing: "http://abuse.example/images/x"), group: "staff", time: time))
        #expect(iwf.rule == .lockedList)
        let ctiru = loaded.policy.decide(PolicyRequest(url: try RequestURL(parsing: "https://www.terror.example/"), group: "staff", time: time))
        #expect(ctiru.rule == .lockedList)
    }

    @Test func badSettingsNameFileLineAndField() throws {
        let problems = try loadProblems(configText(categories: categories, groups: """
            [group pupils]
            flag = adult:severe, gambling
            time = allow gambling funday 10:00-11:00
            time = block gambling mon 11:00-10:00
            time = sometimes
            addresses = 10.0.0.0/33
            walled-garden = perhaps
            requires = magic
            colour = blue
            """, extra: "timezone = Mars/Olympus"), in: TemporaryDirectory())
        let messages = problems.map { "\($0.line ?? 0) \($0.field ?? ""): \($0.message)" }
        #expect(messages.contains { $0.hasPrefix("4 [school] timezone: unknown time zone 'Mars/Olympus'") })
        #expect(messages.contains { $0.hasPrefix("15 [group pupils] flag: 'adult:severe' should be CATEGORY:SEVERITY") })
        #expect(messages.contains { $0.hasPrefix("15 [group pupils] flag: 'gambling' should be CATEGORY:SEVERITY") })
        #expect(messages.contains { $0.hasPrefix("16 [group pupils] time: 'funday' is not a day list") })
        #expect(messages.contains { $0.hasPrefix("17 [group pupils] time: '11:00-10:00' is not a time window") })
        #expect(messages.contains { $0.hasPrefix("18 [group pupils] time: expected 'allow|block CATEGORY") })
        #expect(messages.contains { $0.hasPrefix("19 [group pupils] addresses: '10.0.0.0/33' is not an address range") })
        #expect(messages.contains { $0.hasPrefix("20 [group pupils] walled-garden: expected yes or no") })
        #expect(messages.contains { $0.hasPrefix("21 [group pupils] requires: expected none, authentication or consent") })
        #expect(messages.contains { $0.hasPrefix("22 [group pupils] colour: unknown setting") })
        #expect(problems.allSatisfy { $0.file.hasSuffix("schoolgate.conf") })
    }

    @Test func anEmptyCategoryIsAHardError() throws {
        let problems = try loadProblems(configText(categories: categories + "\n[category nothing]\nsquidguard = sg:empty", groups: "[group pupils]\nblock = nothing"), in: TemporaryDirectory())
        #expect(problems.map(\.description).contains { $0.hasSuffix("[category nothing]: the category is empty: its lists gave no usable entries") })
    }

    @Test func anUnreadableListIsAHardErrorNamingTheFile() throws {
        let problems = try loadProblems(configText(categories: "[category x]\ndomains = missing.txt", groups: "[group pupils]\nblock = x"), in: TemporaryDirectory())
        #expect(problems.count == 1)
        #expect(problems[0].field == "[category x] domains")
        #expect(problems[0].message.contains("missing.txt: cannot open"))
    }

    @Test func anUnknownListRootIsNamed() throws {
        let problems = try loadProblems(configText(categories: "[category x]\nsquidguard = nowhere:adult", groups: "[group pupils]"), in: TemporaryDirectory())
        #expect(problems.map(\.message).contains("no list root 'nowhere' in [lists] (define it before the categories that use it)"))
    }

    @Test func aWalledGardenWithNothingAllowedIsRefused() throws {
        let problems = try loadProblems(configText(categories: categories, groups: "[group ks1]\nwalled-garden = yes"), in: TemporaryDirectory())
        #expect(problems.map(\.message).contains("a walled garden with no 'allow' categories would block everything"))
    }

    @Test func anUnreadableConfigIsAnError() {
        #expect {
            _ = try PolicyLoader.load(configPath: "/nonexistent/schoolgate.conf")
        } throws: { error in
            (error as? ConfigErrors)?.problems.first?.message.hasPrefix("cannot read the config file") == true
        }
    }

    @Test func dayLists() {
        #expect(GroupParser.days("mon-fri") == Set([.monday, .tuesday, .wednesday, .thursday, .friday]))
        #expect(GroupParser.days("sat,sun") == Set([.saturday, .sunday]))
        #expect(GroupParser.days("mon,wed-thu") == Set([.monday, .wednesday, .thursday]))
        #expect(GroupParser.days("daily") == Set(Weekday.allCases))
        #expect(GroupParser.days("fri-mon") == nil)
        #expect(GroupParser.days("funday") == nil)
    }

    @Test func timeWindowsIncludeMidnightAtTheEnd() {
        #expect(GroupParser.window("00:00-24:00") == TimeWindow(start: 0, end: 1440))
        #expect(GroupParser.window("13:00-12:00") == nil)
        #expect(GroupParser.window("9:5-10:00") == nil)
    }

    @Test func theShippedExampleConfigLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let loaded = try PolicyLoader.load(configPath: root.appendingPathComponent("config/schoolgate.conf").path)
        #expect(loaded.skippedLines.total == 0)
        #expect(loaded.config.groups.map(\.name) == ["pupils-ks1", "pupils-ks2", "pupils-ks3", "pupils-ks4", "staff", "guests"])
        for category in ["pornography", "gambling", "self-harm", "extremism", "drugs", "violence", "malware", "vpn-proxy"] {
            let test = try HostName("\(category == "pornography" ? "adult" : category == "vpn-proxy" ? "vpn" : category).filter-test.invalid")
            let decision = loaded.policy.decide(PolicyRequest(group: "pupils-ks2", host: test, time: LocalTime(weekday: .monday, minuteOfDay: 600)))
            #expect(decision.verdict == .block, "\(category)")
            #expect(decision.category == category)
        }
    }
}

@Suite struct ProxySettingsTests {
    @Test func readsEveryLimitAndRefusesNonsense() throws {
        let directory = try TemporaryDirectory()
        try directory.write("list", "x.example\n")
        let base = "[category c]\ndomains = list\n[group g]\n"
        let file = try directory.write("schoolgate.conf", base + """
            [proxy]
            listen = 0.0.0.0:8080
            connect-ports = 443, 8443
            client-timeout = 45s
            upstream-idle-timeout = 2m
            max-header-bytes = 65536
            max-connections-per-client = 2000
            bypass-severity = off
            sni-mismatch = flag
            """)
        let settings = try PolicyLoader.load(configPath: file).config.proxy
        #expect(settings.listenHost == "0.0.0.0" && settings.listenPort == 8080)
        #expect(settings.connectPorts == [443, 8443])
        #expect(settings.clientTimeoutSeconds == 45)
        #expect(settings.upstreamIdleTimeoutSeconds == 120)
        #expect(settings.maxHeaderBytes == 65536)
        #expect(settings.maxConnectionsPerClient == 2000)
        #expect(settings.bypassSeverity == nil)
        #expect(settings.sniMismatch == .flag)
        let problems = try loadProblems(base + "[proxy]\nlisten = nowhere\nmax-header-count = many\nclient-timeout = soon\nnon-tls = maybe\n", in: directory)
        #expect(problems.map(\.field) == ["[proxy] listen", "[proxy] non-tls", "[proxy] max-header-count", "[proxy] client-timeout"])
    }
}
