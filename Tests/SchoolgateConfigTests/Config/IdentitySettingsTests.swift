import Foundation
import Testing
@testable import SchoolgateConfig
@testable import SchoolgatePolicy

@Suite struct IdentitySettingsTests {
    let categories = "[category gambling]\ndomains = \(Fixtures.path("plain.txt"))"

    @Test func readsTheConsentAndSignInSections() throws {
        let directory = try TemporaryDirectory()
        try directory.write("terms.txt", "Be kind.\n")
        try directory.write("schoolgate.conf", configText(categories: categories, groups: """
            [consent]
            terms = terms.txt
            terms-version = 2026-09
            idle-timeout = 30m
            session-limit = 8h
            listen = 10.99.0.1:80
            portal-url = https://wifi.example.sch.uk/
            [authentication]
            users-file = /etc/schoolgate/users
            realm = Example Academy
            cache = 10m
            max-failures = 5
            [group guests]
            requires = consent
            """))
        let config = try PolicyLoader.load(configPath: directory.path + "/schoolgate.conf").config
        #expect(config.consent.termsText == "Be kind.\n" && config.consent.termsVersion == "2026-09")
        #expect(config.consent.idleSeconds == 1_800 && config.consent.sessionSeconds == 28_800)
        #expect(config.consent.httpListen == ("10.99.0.1", 80))
        #expect(config.consent.portalURL == "https://wifi.example.sch.uk/")
        #expect(config.authentication.usersFile == "/etc/schoolgate/users" && config.authentication.realm == "Example Academy")
        #expect(config.authentication.cacheSeconds == 600 && config.authentication.maxFailures == 5)
    }

    @Test func namesEachBadSettingAndMissingTerms() throws {
        let problems = try loadProblems(configText(categories: categories, groups: """
            [consent]
            terms = missing.txt
            idle-timeout = soon
            listen = nowhere
            https-listen = 0.0.0.0:443
            portal-url = wifi.example
            colour = blue
            [authentication]
            realm = "quoted"
            max-failures = -1
            [group guests]
            requires = consent
            """), in: TemporaryDirectory())
        let messages = problems.map { "\($0.line ?? 0) \($0.field ?? ""): \($0.message)" }
        #expect(messages.contains { $0.hasPrefix("9 [consent] idle-timeout: expected a duration") }, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("10 [consent] listen: expected ADDRESS:PORT") })
        #expect(messages.contains { $0.hasPrefix("11 [consent] https-listen: the HTTPS page needs 'certificate' and 'private-key'") })
        #expect(messages.contains { $0.hasPrefix("12 [consent] portal-url: expected an http:// or https:// URL") })
        #expect(messages.contains { $0.hasPrefix("13 [consent] colour: unknown setting") })
        #expect(messages.contains { $0.hasPrefix("15 [authentication] realm: a realm is plain text without quotes") })
        #expect(messages.contains { $0.hasPrefix("16 [authentication] max-failures: expected a positive whole number") })
        #expect(messages.contains { $0.contains("[consent] terms:") && $0.contains("missing.txt cannot be read: a group requires consent") })
    }

    @Test func termsAreNeededOnlyWhenAGroupRequiresConsent() throws {
        let problems = try loadProblems(configText(categories: categories, groups: "[group staff]\nrequires = authentication"), in: TemporaryDirectory())
        #expect(problems.isEmpty, "\(problems)")
    }
}
