import Foundation
import Testing
@testable import SchoolgatePolicy

private let monday1200 = LocalTime(weekday: .monday, hour: 12, minute: 0)

private func policy(_ groups: [Group], index: ListIndex? = nil) -> Policy {
    let index = index ?? makeIndex([
        ("gambling", "domains", "bet365.com"),
        ("social", "domains", "tiktok.com"),
        ("selfharm", "domains", "harm.example"),
        ("extremism", "domains", "extreme.example"),
        ("educational", "domains", "bbc.co.uk"),
        ("educational", "domains", "tiktok.com"),
        ("iwf", "urls", "abuse.example/images"),
        ("ctiru", "domains", "terror.example"),
        ("games", "domains", "roblox.com"),
    ])
    return Policy(groups: groups, index: index, defaultGroup: groups.last?.name ?? "")
}

private func decide(_ policy: Policy, _ url: String, group: String, at time: LocalTime = monday1200,
                    authenticated: Bool = true, consented: Bool = true) throws -> Decision {
    var request = PolicyRequest(url: try RequestURL(parsing: url), group: group, time: time)
    request.isAuthenticated = authenticated
    request.hasConsented = consented
    return policy.decide(request)
}

@Suite struct PolicyDecisionTests {
    let pupils = Group(name: "pupils", blocked: ["gambling": nil, "social": nil, "selfharm": nil], flagged: ["selfharm": .high, "extremism": .critical], allowed: ["educational"])

    @Test func blocksABlockedCategoryAndNamesTheEntry() throws {
        let decision = try decide(policy([pupils]), "https://www.bet365.com/", group: "pupils")
        #expect(decision.verdict == .block)
        #expect(decision.rule == .blockedCategory)
        #expect(decision.category == "gambling")
        #expect(decision.match?.entry == "bet365.com")
        #expect(decision.severity == nil)
    }

    @Test func theMostSpecificMatchIsTheOneReported() throws {
        let index = makeIndex([
            ("gambling", "domains", "example.com"),
            ("gambling", "domains", "www.example.com"),
            ("games", "domains", "www.example.com"),
            ("adult", "urls", "example.com/a"),
            ("games", "urls", "example.com/a/b"),
            ("adult", "expressions", "exam"),
        ])
        let everything = Group(name: "pupils", blocked: ["gambling": nil, "games": nil, "adult": nil])
        let policy = policy([everything], index: index)
        // A URL entry over a domain, the longer URL over the shorter, its text host then path.
        let deep = try decide(policy, "http://www.example.com/a/b/c", group: "pupils")
        #expect(deep.match?.entry == "example.com/a/b")
        #expect(deep.match?.kind == .url)
        #expect(deep.category == "games")
        let shallow = try decide(policy, "http://www.example.com/a/x", group: "pupils")
        #expect(shallow.match?.entry == "example.com/a")
        // Without a visible path: the longer domain; the same entry in two lists, the category first by name.
        let tunnel = try decide(policy, "https://www.example.com/", group: "pupils")
        #expect(tunnel.match?.entry == "www.example.com")
        #expect(tunnel.category == "gambling")
        // An expression only when no entry names the site.
        let other = try decide(policy, "https://examples.org/", group: "pupils")
        #expect(other.match?.kind == .expression)
        #expect(other.match?.entry == "exam")
    }

    @Test func allowsWhatNoListNames() throws {
        let decision = try decide(policy([pupils]), "https://example.org/", group: "pupils")
        #expect(decision.verdict == .allow)
        #expect(decision.rule == .defaultAllow)
        #expect(decision.match == nil)
    }

    @Test func anExceptionBeatsABlock() throws {
        // tiktok.com is in both "social" (blocked) and "educational" (allowed).
        let decision = try decide(policy([pupils]), "https://tiktok.com/", group: "pupils")
        #expect(decision.verdict == .allow)
        #expect(decision.rule == .exception)
        #expect(decision.category == "educational")
    }

    @Test func flaggedCategoriesAllowAndRaiseAnIncident() throws {
        let decision = try decide(policy([pupils]), "https://extreme.example/", group: "pupils")
        #expect(decision.verdict == .flag)
        #expect(decision.rule == .flaggedCategory)
        #expect(decision.severity == .critical)
        #expect(decision.raisesIncident)
    }

    @Test func aBlockedAndFlaggedCategoryBlocksAndStillRaisesAnIncident() throws {
        let decision = try decide(policy([pupils]), "https://harm.example/", group: "pupils")
        #expect(decision.verdict == .block)
        #expect(decision.severity == .high)
    }

    @Test func lockedListsBlockEveryoneBeforeAnyException() throws {
        let everything = Group(name: "staff", allowed: ["iwf", "ctiru", "educational"])
        let policy = policy([everything])
        let iwf = try decide(policy, "http://abuse.example/images/1.jpg", group: "staff")
        #expect(iwf.verdict == .block)
        #expect(iwf.rule == .lockedList)
        #expect(iwf.severity == .critical)
        let ctiru = try decide(policy, "https://www.terror.example/", group: "staff")
        #expect(ctiru.rule == .lockedList)
        #expect(ctiru.category == "ctiru")
        // Even for a group that has not consented yet: the locked lists come first.
        let guest = Group(name: "guests", requires: .consent)
        #expect(try decide(Self.policyWith(guest), "https://terror.example/", group: "guests", consented: false).rule == .lockedList)
    }

    static func policyWith(_ group: Group) -> Policy { policy([group]) }

    @Test func identityRequirementsWaitForConsentOrAuthentication() throws {
        let guests = Group(name: "guests", requires: .consent)
        let staff = Group(name: "staff", requires: .authentication)
        let policy = policy([guests, staff])
        #expect(try decide(policy, "https://example.org/", group: "guests", consented: false).verdict == .needsConsent)
        #expect(try decide(policy, "https://example.org/", group: "guests", consented: true).verdict == .allow)
        #expect(try decide(policy, "https://example.org/", group: "staff", authenticated: false).verdict == .needsAuthentication)
        #expect(try decide(policy, "https://example.org/", group: "staff", authenticated: true).verdict == .allow)
    }

    @Test func aWalledGardenAllowsOnlyItsAllowList() throws {
        let ks1 = Group(name: "ks1", allowed: ["educational"], walledGarden: true)
        let policy = policy([ks1])
        #expect(try decide(policy, "https://www.bbc.co.uk/bitesize", group: "ks1").verdict == .allow)
        let elsewhere = try decide(policy, "https://example.org/", group: "ks1")
        #expect(elsewhere.verdict == .block)
        #expect(elsewhere.rule == .walledGarden)
    }

    @Test func anUnknownGroupIsRefusedNotGuessed() throws {
        let decision = try decide(policy([pupils]), "https://example.org/", group: "nobody")
        #expect(decision.verdict == .block)
        #expect(decision.rule == .unknownGroup)
    }
}

@Suite struct TimeRuleTests {
    // Social media allowed at lunch on weekdays; games blocked in lesson time.
    let staff = Group(
        name: "staff", blocked: ["social": nil],
        timeRules: [
            TimeRule(action: .allow, categories: ["social"], days: Set([.monday, .tuesday, .wednesday, .thursday, .friday]),
                     windows: [TimeWindow(start: 12 * 60 + 15, end: 13 * 60)]),
            TimeRule(action: .block, categories: ["games"], days: [.monday], windows: [TimeWindow(start: 9 * 60, end: 15 * 60)]),
        ])

    @Test(arguments: [
        (LocalTime(weekday: .monday, hour: 12, minute: 14), Decision.Verdict.block),
        (LocalTime(weekday: .monday, hour: 12, minute: 15), .allow),
        (LocalTime(weekday: .friday, hour: 12, minute: 59), .allow),
        (LocalTime(weekday: .friday, hour: 13, minute: 0), .block),
        (LocalTime(weekday: .saturday, hour: 12, minute: 30), .block),
    ])
    func anAllowWindowIncludesItsStartAndExcludesItsEnd(time: LocalTime, expected: Decision.Verdict) throws {
        let decision = try decide(policy([staff]), "https://tiktok.com/", group: "staff", at: time)
        #expect(decision.verdict == expected)
        if expected == .allow { #expect(decision.rule == .timeRuleAllow) }
    }

    @Test func aBlockWindowBlocksAnOtherwiseAllowedCategory() throws {
        let policy = policy([staff])
        let during = try decide(policy, "https://roblox.com/", group: "staff", at: LocalTime(weekday: .monday, hour: 9, minute: 0))
        #expect(during.verdict == .block)
        #expect(during.rule == .timeRuleBlock)
        let after = try decide(policy, "https://roblox.com/", group: "staff", at: LocalTime(weekday: .monday, hour: 15, minute: 0))
        #expect(after.verdict == .allow)
        let tuesday = try decide(policy, "https://roblox.com/", group: "staff", at: LocalTime(weekday: .tuesday, hour: 10, minute: 0))
        #expect(tuesday.verdict == .allow)
    }

    @Test func schoolCalendarConvertsToLocalTimeAcrossDaylightSaving() throws {
        let calendar = SchoolCalendar(timeZone: try #require(TimeZone(identifier: "Europe/London")))
        // 2026-07-01 11:30 UTC is a Wednesday, 12:30 BST; 2026-12-01 12:30 UTC is a Tuesday, 12:30 GMT.
        #expect(calendar.localTime(at: Date(timeIntervalSince1970: 1_782_905_400)) == LocalTime(weekday: .wednesday, hour: 12, minute: 30))
        #expect(calendar.localTime(at: Date(timeIntervalSince1970: 1_796_128_200)) == LocalTime(weekday: .tuesday, hour: 12, minute: 30))
    }
}

@Suite struct GroupResolutionTests {
    let policy = Policy(groups: [
        Group(name: "staff", members: GroupMembers(users: ["mrs.jones"], directoryGroups: ["staff"], addressRanges: [AddressRange("10.10.0.0/16")!])),
        Group(name: "ks2", members: GroupMembers(directoryGroups: ["ks2 pupils"], addressRanges: [AddressRange("10.0.0.0/8")!, AddressRange("fd00:2::/32")!])),
        Group(name: "guests"),
    ], index: .empty, defaultGroup: "guests")

    @Test func aNamedUserComesFirst() {
        #expect(policy.group(for: Identity(user: "Mrs.Jones", clientAddress: "10.2.3.4")) == "staff")
    }

    @Test func thenDirectoryGroups() {
        #expect(policy.group(for: Identity(user: "pupil1", directoryGroups: ["KS2 Pupils"])) == "ks2")
    }

    @Test func thenTheMostSpecificAddressRange() {
        #expect(policy.group(for: Identity(clientAddress: "10.10.1.1")) == "staff")
        #expect(policy.group(for: Identity(clientAddress: "10.2.1.1")) == "ks2")
        #expect(policy.group(for: Identity(clientAddress: "fd00:2::42")) == "ks2")
        #expect(policy.group(for: Identity(clientAddress: "::ffff:10.2.1.1")) == "ks2")
    }

    @Test func unknownDevicesGetTheDefaultGroup() {
        #expect(policy.group(for: Identity(clientAddress: "192.0.2.1")) == "guests")
        #expect(policy.group(for: Identity()) == "guests")
    }

    @Test func addressRangesParseAndRefuse() {
        #expect(AddressRange("10.0.0.0/8")?.contains([10, 200, 1, 1]) == true)
        #expect(AddressRange("10.0.0.0/8")?.contains([11, 0, 0, 1]) == false)
        #expect(AddressRange("0.0.0.0/0")?.contains([1, 2, 3, 4]) == true)
        #expect(AddressRange("192.0.2.7")?.prefixLength == 32)
        #expect(AddressRange("10.0.0.0/33") == nil)
        #expect(AddressRange("banana/8") == nil)
    }

    @Test func theNumericIPv4CheckAgreesWithTheByteCheck() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let network = UInt32.random(in: .min ... .max, using: &generator)
            let length = Int.random(in: 0...32, using: &generator)
            // Addresses near the network (sharing a random number of leading bits) and anywhere.
            let shared = Int.random(in: 0...32, using: &generator)
            let near = shared == 0 ? UInt32.random(in: .min ... .max, using: &generator)
                : network & ~0 << UInt32(32 - shared) | UInt32.random(in: .min ... .max, using: &generator) & ~(~0 << UInt32(32 - shared))
            let bytes = { (v: UInt32) in [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
            let range = AddressRange(bytes(network).map(String.init).joined(separator: ".") + "/\(length)")!
            #expect(range.contains(ipv4: near) == range.contains(bytes(near)), "\(range) \(near)")
        }
        #expect(AddressRange("fd00:2::/32")?.contains(ipv4: 0x0a00_0001) == false)
    }
}
