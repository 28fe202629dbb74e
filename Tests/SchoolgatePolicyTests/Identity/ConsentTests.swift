import Foundation
import Testing
@testable import SchoolgatePolicy

struct ConsentTermsTests {
    let terms = ConsentTerms(version: "2026-09", text: "Be kind.", idleLimit: 600, sessionLimit: 3_600)
    let start = Date(timeIntervalSince1970: 1_795_392_000)

    func agreed(_ version: String = "2026-09", revoked: Bool = false) -> ConsentRecord {
        ConsentRecord(client: "10.99.0.5", termsVersion: version, consentedAt: start, revokedAt: revoked ? start + 5 : nil)
    }

    @Test func anAgreementLastsUntilTheSessionLimitWithTheTimeLeftCounted() {
        #expect(terms.standing(of: agreed(), lastSeen: start + 100, at: start + 200) == .active(secondsRemaining: 3_400))
        #expect(terms.standing(of: agreed(), lastSeen: start + 3_500, at: start + 3_599) == .active(secondsRemaining: 1))
        #expect(terms.standing(of: agreed(), lastSeen: start + 3_500, at: start + 3_600) == .sessionExpired)
    }

    @Test func anIdleSessionEndsEvenBeforeItsLimit() {
        #expect(terms.standing(of: agreed(), lastSeen: start + 100, at: start + 699).isActive)
        #expect(terms.standing(of: agreed(), lastSeen: start + 100, at: start + 700) == .idleExpired)
        #expect(terms.standing(of: agreed(), lastSeen: nil, at: start + 600) == .idleExpired, "never used: idle from the agreement")
    }

    @Test func newTermsOrARevocationMeanAgreeingAgain() {
        #expect(terms.standing(of: agreed("2025-09"), lastSeen: start, at: start + 1) == .newTerms)
        #expect(terms.standing(of: agreed(revoked: true), lastSeen: start, at: start + 1) == .revoked)
        #expect(terms.standing(of: nil, lastSeen: nil, at: start) == .none)
    }
}

struct CaptiveProbeTests {
    @Test func knowsEachSystemsProbeAndItsExpectedAnswer() {
        #expect(CaptiveProbe.matching(host: "captive.apple.com", path: "/hotspot-detect.html") == .apple)
        #expect(CaptiveProbe.matching(host: "connectivitycheck.gstatic.com", path: "/generate_204") == .android)
        #expect(CaptiveProbe.matching(host: "www.msftconnecttest.com", path: "/connecttest.txt") == .windows)
        #expect(CaptiveProbe.matching(host: "detectportal.firefox.com", path: "/success.txt?ipv4") == .firefox)
        #expect(CaptiveProbe.matching(host: "detectportal.firefox.com", path: "/other") == nil)
        #expect(CaptiveProbe.matching(host: "example.com", path: "/generate_204") == nil)
        #expect(CaptiveProbe.android.success.status == 204 && CaptiveProbe.android.success.body.isEmpty)
        #expect(CaptiveProbe.apple.success.body.contains("<TITLE>Success</TITLE>"))
        #expect(CaptiveProbe.windows.success.body == "Microsoft Connect Test")
        #expect(CaptiveProbe.firefox.success.body == "success\n")
    }
}
