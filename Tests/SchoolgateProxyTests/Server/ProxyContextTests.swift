import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateProxy

@Suite struct ProxyContextTests {
    /// The local time is cached per minute; a decision must still follow the clock across a
    /// time-rule edge, in both directions.
    @Test func decisionsFollowTheClockAcrossATimeRuleEdge() throws {
        var builder = ListIndexBuilder()
        let source = builder.addSource(ListSource(category: "social", file: "social", format: "domains"))
        #expect(builder.addDomain("tiktok.com", source: source) == nil)
        let staff = Group(name: "staff", blocked: ["social": nil], timeRules: [
            TimeRule(action: .allow, categories: ["social"], days: [.monday], windows: [TimeWindow(start: 12 * 60 + 15, end: 13 * 60)]),
        ])
        let policy = Policy(groups: [staff], index: builder.build(), defaultGroup: "staff")
        let clock = NIOLockedValueBox(Date(timeIntervalSince1970: 0))
        let shared = ProxyContext(configuration: ProxyConfiguration(), policy: policy,
                                  calendar: SchoolCalendar(timeZone: TimeZone(identifier: "UTC")!), logger: Logger(label: "test"),
                                  now: { clock.withLockedValue { $0 } })
        // Monday 2026-11-23 in UTC.
        let monday = Date(timeIntervalSince1970: 1_795_392_000)
        func verdict(at hour: Int, _ minute: Int, _ second: Int) throws -> Decision.Verdict {
            clock.withLockedValue { $0 = monday + Double(hour * 3600 + minute * 60 + second) }
            return shared.decide(host: try HostName("tiktok.com"), path: nil, port: 443, client: nil, who: .anonymous).0.verdict
        }
        #expect(try verdict(at: 12, 14, 0) == .block)
        #expect(try verdict(at: 12, 14, 59) == .block)
        #expect(try verdict(at: 12, 15, 0) == .allow)
        #expect(try verdict(at: 12, 59, 59) == .allow)
        #expect(try verdict(at: 13, 0, 0) == .block)
        #expect(try verdict(at: 12, 30, 0) == .allow, "back in time (a clock step) is a new minute too")
    }
}
