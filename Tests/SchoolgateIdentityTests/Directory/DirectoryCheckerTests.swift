import Foundation
import NIOPosix
import Testing
@testable import SchoolgateIdentity
import SchoolgateTestSupport

@Suite(.enabled(if: TestDirectory.isInstalled && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs Debian's slapd and openssl"),
       .serialized)
struct DirectoryCheckerTests {
    func settings(_ directory: TestDirectory, startTLS: Bool = false, caFile: String? = nil) -> DirectoryChecker.Settings {
        var settings = DirectoryChecker.Settings(host: "localhost", port: startTLS ? directory.ldapPort : directory.ldapsPort, startTLS: startTLS,
                                                 userBase: "ou=people,dc=school,dc=test", groupBase: "ou=groups,dc=school,dc=test")
        settings.bindDN = "uid=schoolgate,ou=people,dc=school,dc=test"
        settings.bindPassword = "service-password-1"
        settings.caFile = caFile ?? directory.folder + "/cert.pem"
        settings.groupObjectClass = "groupOfNames"
        return settings
    }

    @Test func signsInOverLDAPSAndStartTLSWithTheUsersGroups() throws {
        let directory = try TestDirectory()
        for startTLS in [false, true] {
            let checker = try DirectoryChecker(settings: settings(directory, startTLS: startTLS), group: MultiThreadedEventLoopGroup.singleton)
            let result = try checker.check(user: "JSmith", password: "correct-horse-1")
            guard case .valid(let user, let groups) = result else {
                Issue.record("expected a valid sign-in, got \(result) (StartTLS: \(startTLS))")
                continue
            }
            #expect(user == "jsmith")
            #expect(Set(groups) == ["KS3 Pupils", "Chess Club"])
        }
    }

    @Test func refusesWrongPasswordsLockedAccountsUnknownUsersAndEmptyPasswords() throws {
        let directory = try TestDirectory()
        let checker = try DirectoryChecker(settings: settings(directory), group: MultiThreadedEventLoopGroup.singleton)
        #expect(try checker.check(user: "jsmith", password: "correct-horse-2") == .invalid)
        #expect(try checker.check(user: "locked", password: "correct-horse-2") == .invalid, "ppolicy: the right password on a locked account")
        #expect(try checker.check(user: "nobody", password: "correct-horse-1") == .invalid)
        #expect(try checker.check(user: "jsmith", password: "") == .invalid, "never an unauthenticated bind")
        #expect(try checker.check(user: "*", password: "correct-horse-1") == .invalid, "the name is a value, not a filter")
    }

    @Test func saysItCannotAnswerWhenTheDirectoryIsDownOrUntrusted() async throws {
        let directory = try TestDirectory()
        let untrusted = try DirectoryChecker(settings: settings(directory, caFile: "/etc/ssl/certs/ca-certificates.crt"), group: MultiThreadedEventLoopGroup.singleton)
        #expect(throws: (any Error).self, "a certificate the school did not vouch for") { try untrusted.check(user: "jsmith", password: "correct-horse-1") }
        directory.stop()
        let checker = try DirectoryChecker(settings: settings(directory), group: MultiThreadedEventLoopGroup.singleton)
        #expect(throws: (any Error).self) { try checker.check(user: "jsmith", password: "correct-horse-1") }
        // Through the verifier, that is "unavailable": the proxy answers 503, not 407.
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }
        let verifier = CredentialVerifier(checker: checker, pool: pool)
        let header = "Basic " + Data("jsmith:correct-horse-1".utf8).base64EncodedString()
        #expect(try await verifier.verify(header: header, client: "10.0.0.1", on: MultiThreadedEventLoopGroup.singleton.next()).get() == .unavailable)
    }
}
