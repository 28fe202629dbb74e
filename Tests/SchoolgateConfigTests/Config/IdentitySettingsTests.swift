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

@Suite struct DirectoryAndRadiusSettingsTests {
    let categories = "[category gambling]\ndomains = \(Fixtures.path("plain.txt"))"

    @Test func readsTheDirectoryAndRadiusSections() throws {
        let directory = try TemporaryDirectory()
        try directory.write("ldap-password", "s3cret\n")
        try directory.write("radius-secret", "a-long-shared-secret-here\n")
        try directory.write("schoolgate.conf", configText(categories: categories, groups: """
            [directory]
            url = ldap://dc1.school.local
            bind-dn = CN=schoolgate,OU=Service,DC=school,DC=local
            bind-password-file = ldap-password
            user-base = OU=Users,DC=school,DC=local
            user-attribute = sAMAccountName
            [radius]
            listen = 10.0.0.1:1813
            secret-file = radius-secret
            clients = 10.0.0.2, 10.0.0.3
            [address-users]
            10.3.20.15 = Library-PC-1
            [group staff]
            directory-groups = Staff
            """))
        let config = try PolicyLoader.load(configPath: directory.path + "/schoolgate.conf").config
        let ldap = try #require(config.directory)
        #expect(ldap.host == "dc1.school.local" && ldap.port == 389 && ldap.startTLS, "ldap:// means StartTLS")
        #expect(ldap.bindPassword == "s3cret" && ldap.userAttribute == "sAMAccountName" && ldap.groupBase == "OU=Users,DC=school,DC=local")
        let radius = try #require(config.radius)
        #expect(radius.secret == "a-long-shared-secret-here" && radius.clients == ["10.0.0.2", "10.0.0.3"] && radius.listenPort == 1813)
        #expect(config.addressUsers.map(\.user) == ["library-pc-1"])
    }

    @Test func namesWhatIsWrongInThem() throws {
        let problems = try loadProblems(configText(categories: categories, groups: """
            [directory]
            url = http://dc1
            bind-dn = CN=x
            [radius]
            secret = short
            clients = not-an-address
            [address-users]
            10.0.0.300 = pc
            [group staff]
            """), in: TemporaryDirectory())
        let messages = problems.map { "\($0.field ?? ""): \($0.message)" }
        #expect(messages.contains { $0.hasPrefix("[directory] url: expected ldaps://") }, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("[directory] bind-dn: a bind-dn needs its bind-password-file") })
        #expect(messages.contains { $0.hasPrefix("[directory] user-base:") })
        #expect(messages.contains { $0.hasPrefix("[radius] secret: the shared secret must have at least 16 characters") })
        #expect(messages.contains { $0.hasPrefix("[radius] clients: 'not-an-address' is not an IP address") })
        #expect(messages.contains { $0.hasPrefix("[address-users] 10.0.0.300: '10.0.0.300' is not an address or range") })
    }
}

@Suite struct AdminSettingsTests {
    @Test func theAdminAddressIsNeverTheProxys() throws {
        let categories = "[category gambling]\ndomains = \(Fixtures.path("plain.txt"))"
        let problems = try loadProblems(configText(categories: categories, groups: """
            [proxy]
            listen = 0.0.0.0:3128
            [admin]
            listen = 127.0.0.1:3128
            [group staff]
            """), in: TemporaryDirectory())
        #expect(problems.contains { $0.field == "[admin] listen" && $0.message.hasPrefix("the admin address must not be the proxy's") }, "\(problems)")
    }
}
