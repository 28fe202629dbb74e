import Foundation
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore

@Suite struct SquidAccessLogTests {
    let time = Date(timeIntervalSince1970: 1_764_079_105.869)

    @Test func writesSquidsNativeFormat() {
        var allowed = Visit(time: time, user: nil, group: "ks3", client: "10.3.0.7", method: "GET", host: "example.com",
                            url: "http://example.com/a", verdict: .allow, rule: .defaultAllow, status: 200, bytesOut: 411, durationMilliseconds: 180)
        #expect(SquidAccessLog.line(for: allowed) == "1764079105.869    180 10.3.0.7 TCP_MISS/200 411 GET http://example.com/a - HIER_DIRECT/example.com -")
        allowed.user = "J Smith@school"
        allowed.verdict = .block
        allowed.status = 403
        #expect(SquidAccessLog.line(for: allowed) == "1764079105.869    180 10.3.0.7 TCP_DENIED/403 411 GET http://example.com/a J%20Smith%40school HIER_NONE/- -")
        let tunnel = Visit(time: time + 0.0004, user: "pupil1", group: "ks3", client: "::1", method: "CONNECT", host: "example.com",
                           url: "example.com:443", verdict: .allow, rule: .defaultAllow, status: 200, bytesOut: 52_000, durationMilliseconds: 1_234_567)
        #expect(SquidAccessLog.line(for: tunnel) == "1764079105.869 1234567 ::1 TCP_TUNNEL/200 52000 CONNECT example.com:443 pupil1 HIER_DIRECT/example.com -")
    }

    @Test func keepsEveryLineToTenFieldsWhateverTheURLHolds() {
        let odd = Visit(time: time, user: nil, group: "g", client: "1.2.3.4", method: "GET", host: "h", url: "http://h/a b\nc",
                        verdict: .allow, rule: .defaultAllow, status: 200)
        #expect(SquidAccessLog.line(for: odd).split(separator: " ", omittingEmptySubsequences: true).count == 10)
    }

    @Test func escapesWhatWouldSplitAFieldAndPadsItsNumbers() {
        let visit = Visit(time: Date(timeIntervalSince1970: 1_764_079_105.0004), user: "Zoë O'Neil", group: "g", client: "10.0.0.1",
                          method: "GET", host: "h", url: "http://h/a b\nc\rd/é", verdict: .needsConsent, rule: .defaultAllow,
                          status: 7, bytesOut: 9_876_543_210, durationMilliseconds: 0)
        #expect(SquidAccessLog.line(for: visit) == "1764079105.000      0 10.0.0.1 TCP_DENIED/007 9876543210 GET http://h/a%20b%0Ac%0Dd/é Zo%C3%AB%20O%27Neil HIER_NONE/- -")
    }

    @Test func appendsFlushesAndReopensAfterRotation() throws {
        let directory = NSTemporaryDirectory() + "schoolgate-log-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try SquidAccessLog(path: directory + "/logs/access.log")
        let visit = Visit(time: time, user: nil, group: "g", client: "1.2.3.4", method: "GET", host: "h", url: "http://h/",
                          verdict: .allow, rule: .defaultAllow, status: 200)
        log.append(visit)
        log.flush()
        try FileManager.default.moveItem(atPath: directory + "/logs/access.log", toPath: directory + "/logs/access.log.1")
        log.append(visit)
        try log.reopen()
        log.append(visit)
        log.flush()
        #expect(try String(contentsOfFile: directory + "/logs/access.log.1", encoding: .utf8).split(separator: "\n").count == 2,
                "what was buffered before the reopen goes to the old file")
        #expect(try String(contentsOfFile: directory + "/logs/access.log", encoding: .utf8).split(separator: "\n").count == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/logs/access.log")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
