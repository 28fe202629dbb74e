import Foundation
import Testing
@testable import SchoolgatePolicy

struct PolicyOverrideTests {
    let t0 = Date(timeIntervalSince1970: 1_795_392_000)
    let policy = Policy(groups: [
        Group(name: "pupils", blocked: ["gambling": nil, "selfharm": nil], flagged: ["selfharm": .high]),
        Group(name: "infants", allowed: ["educational"], walledGarden: true),
        Group(name: "staff"),
    ], index: makeIndex([("gambling", "domains", "bet.example"), ("selfharm", "domains", "harm.example"), ("iwf", "domains", "abuse.example"),
                         ("educational", "domains", "learn.example")]), defaultGroup: "staff")

    func decide(_ host: String, _ group: String, _ overrides: [PolicyOverride], at time: Date? = nil) throws -> Decision {
        let request = PolicyRequest(group: group, host: try HostName(host), time: LocalTime(weekday: .monday, minuteOfDay: 600))
        return policy.decide(request, overrides: OverrideSet(overrides), at: time ?? t0 + 60)
    }

    func override(_ host: String, _ action: PolicyOverride.Action, group: String? = nil, expires: Date? = nil, id: Int64 = 1) -> PolicyOverride {
        PolicyOverride(id: id, host: host, action: action, group: group, reason: "test", actor: "ict", created: t0, expires: expires)
    }

    @Test func anAllowOpensABlockedSiteAndABlockClosesAnOpenOne() throws {
        let allowed = try decide("www.bet.example", "pupils", [override("bet.example", .allow)])
        #expect(allowed.verdict == .allow && allowed.rule == .localOverride && allowed.match?.source.file == "override #1")
        let blocked = try decide("news.example", "staff", [override("news.example", .block, id: 2)])
        #expect(blocked.verdict == .block && blocked.rule == .localOverride && blocked.category == "local")
        #expect(try decide("learn.example", "infants", [override("other.example", .allow)]).verdict == .allow)
        #expect(try decide("other.example", "infants", [override("other.example", .allow)]).verdict == .allow, "a lesson's site in the walled garden")
    }

    @Test func nothingOverridesTheLockedListsAndFlagsStillRaiseIncidents() throws {
        let locked = try decide("abuse.example", "staff", [override("abuse.example", .allow)])
        #expect(locked.verdict == .block && locked.rule == .lockedList)
        let flagged = try decide("harm.example", "pupils", [override("harm.example", .allow)])
        #expect(flagged.verdict == .flag && flagged.rule == .localOverride && flagged.severity == .high)
    }

    @Test func theMostSpecificOverrideInForceWins() throws {
        let everyone = override("bet.example", .block, id: 1)
        let lesson = override("bet.example", .allow, group: "pupils", expires: t0 + 3_600, id: 2)
        #expect(try decide("bet.example", "pupils", [everyone, lesson]).verdict == .allow, "the group's own beats everyone's")
        #expect(try decide("bet.example", "pupils", [everyone, lesson], at: t0 + 3_600).verdict == .block, "the lesson is over")
        #expect(try decide("bet.example", "staff", [everyone, lesson]).verdict == .block)
        let deeper = override("odds.bet.example", .allow, id: 3)
        #expect(try decide("www.odds.bet.example", "staff", [everyone, deeper]).verdict == .allow, "the longer name wins")
        #expect(try decide("bet.example", "staff", [everyone], at: t0 - 1).verdict == .allow, "not yet made")
        var removed = everyone
        removed.removed = t0 + 10
        #expect(try decide("bet.example", "staff", [removed]).verdict == .allow)
    }
}
