import Testing
@testable import SchoolgatePolicy

struct PolicyExpectationTests {
    func policy() throws -> Policy {
        Policy(groups: [
            Group(name: "pupils", blocked: ["gambling": nil], allowed: ["educational"],
                  timeRules: [TimeRule(action: .allow, categories: ["gambling"], days: [.friday], windows: [TimeWindow(start: 15 * 60, end: 16 * 60)])]),
            Group(name: "infants", allowed: ["educational"], walledGarden: true),
            Group(name: "guests", requires: .consent),
            Group(name: "staff", requires: .authentication),
        ], index: makeIndex([("gambling", "domains", "bet.example"), ("educational", "domains", "learn.example")]), defaultGroup: "guests")
    }

    func check(_ line: String) throws -> Bool {
        try PolicyExpectation(parsing: line, line: 1).check(try policy(), defaultTime: LocalTime(weekday: .monday, minuteOfDay: 600)).passed
    }

    @Test func passesWhatThePolicyDoesAndFailsWhatItDoesNot() throws {
        #expect(try check("pupils must not reach https://www.bet.example/"))
        #expect(try !check("pupils must reach https://www.bet.example/"))
        #expect(try check("pupils at fri 15:30 must reach https://bet.example/"), "the time rule")
        #expect(try check("infants must reach http://learn.example/lesson"))
        #expect(try check("infants must not reach http://other.example/"))
        #expect(try check("guests must see the consent page for http://other.example/"))
        #expect(try !check("pupils must see the consent page for http://other.example/"))
        #expect(try check("staff must sign in for http://other.example/"))
        #expect(try check("staff as head must reach http://other.example/"))
    }

    @Test func readsEachPartAndSaysWhatItCouldNot() throws {
        let expectation = try PolicyExpectation(parsing: "pupils as J.Bloggs at fri 15:30 must not reach https://bet.example/", line: 7)
        #expect(expectation.group == "pupils" && expectation.user == "J.Bloggs" && expectation.outcome == .notReach)
        #expect(expectation.time == LocalTime(weekday: .friday, minuteOfDay: 930))
        func problem(_ line: String) -> String? {
            do { _ = try PolicyExpectation(parsing: line, line: 3); return nil } catch { return error.description }
        }
        #expect(problem("pupils should reach http://a.example/")?.hasPrefix("line 3: expected 'GROUP") == true)
        #expect(problem("pupils must visit http://a.example/")?.contains("'must visit' is not one of") == true)
        #expect(problem("pupils at funday 10:00 must reach http://a.example/")?.contains("expected a day and a time") == true)
        #expect(problem("pupils must reach http://[bad/")?.contains("is not a URL") == true)
        #expect(problem("pupils maybe must reach http://a.example/")?.contains("'maybe' is not understood") == true)
    }
}
