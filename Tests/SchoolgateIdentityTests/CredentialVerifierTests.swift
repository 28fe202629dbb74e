import Foundation
import NIOPosix
import Synchronization
import Testing
@testable import SchoolgateIdentity
@testable import SchoolgatePolicy

struct CredentialVerifierTests {
    /// Counts checks, so the cache can be seen working.
    final class CountingChecker: CredentialChecker {
        let calls = Mutex(0)
        func check(user: String, password: String) throws -> CredentialCheck {
            calls.withLock { $0 += 1 }
            return user == "ada" && password == "right" ? .valid(user: "ada", directoryGroups: ["Staff"]) : user == "old" ? .locked : .invalid
        }
    }

    func header(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test func verifiesOnThePoolAndThenAnswersFromTheCacheUntilItExpires() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }
        let clock = Mutex(Date(timeIntervalSince1970: 1_000_000))
        let checker = CountingChecker()
        var settings = CredentialVerifier.Settings()
        settings.cacheFor = 60
        let verifier = CredentialVerifier(checker: checker, settings: settings, pool: pool, now: { clock.withLock { $0 } })
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        #expect(verifier.cached(header: header("ada", "right")) == nil)
        #expect(try await verifier.verify(header: header("ada", "right"), client: "10.0.0.1", on: loop).get() == .verified(user: "ada", directoryGroups: ["Staff"]))
        #expect(verifier.cached(header: header("ada", "right")) == .verified(user: "ada", directoryGroups: ["Staff"]))
        #expect(try await verifier.verify(header: header("ada", "right"), client: "10.0.0.1", on: loop).get() == .verified(user: "ada", directoryGroups: ["Staff"]))
        #expect(checker.calls.withLock { $0 } == 1)
        clock.withLock { $0 += 61 }
        #expect(verifier.cached(header: header("ada", "right")) == nil)
        #expect(try await verifier.verify(header: header("old", "x"), client: "10.0.0.1", on: loop).get() == .rejected, "a locked account is refused")
        #expect(try await verifier.verify(header: "Basic !!!", client: "10.0.0.1", on: loop).get() == .rejected)
        #expect(try await verifier.verify(header: "Negotiate abc", client: "10.0.0.1", on: loop).get() == .rejected)
    }

    @Test func limitsFailuresPerAddressWithinTheWindow() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }
        let clock = Mutex(Date(timeIntervalSince1970: 1_000_000))
        var settings = CredentialVerifier.Settings()
        settings.maxFailures = 2
        settings.failureWindow = 300
        let verifier = CredentialVerifier(checker: CountingChecker(), settings: settings, pool: pool, now: { clock.withLock { $0 } })
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        func attempt(_ password: String, from client: String = "10.0.0.9") async throws -> CredentialVerifier.Outcome {
            try await verifier.verify(header: header("ada", password), client: client, on: loop).get()
        }
        #expect(try await attempt("a") == .rejected)
        #expect(try await attempt("b") == .rejected)
        #expect(try await attempt("right") == .rateLimited)
        #expect(try await attempt("right", from: "10.0.0.10") == .verified(user: "ada", directoryGroups: ["Staff"]), "other devices are unaffected")
        clock.withLock { $0 += 301 }
        #expect(try await attempt("right") == .verified(user: "ada", directoryGroups: ["Staff"]), "the window passes")
    }

    @Test func decodesBasicCredentialsWithColonsInThePassword() {
        let credentials = BasicCredentials(header: header("ada", "pa:ss word"))
        #expect(credentials?.user == "ada" && credentials?.password == "pa:ss word")
        #expect(BasicCredentials(header: header("", "x")) == nil)
    }
}

struct ConsentRegistryTests {
    let start = Date(timeIntervalSince1970: 1_795_392_000)

    @Test func keepsTheNewestAgreementAndTakesRevocationsFromTheStore() {
        let registry = ConsentRegistry(terms: ConsentTerms(version: "1", text: "", idleLimit: 600, sessionLimit: 3_600))
        let given = ConsentRecord(client: "10.99.0.5", name: "Ada", termsVersion: "1", consentedAt: start)
        registry.record(given)
        #expect(registry.use(by: "10.99.0.5", at: start + 500)?.name == "Ada")
        #expect(registry.use(by: "10.99.0.5", at: start + 1_000) != nil, "use at 500 kept it from going idle")
        // The store has it now (with an id), and another guest's too; activity is kept.
        var stored = given
        stored.id = 1
        registry.refresh(from: [stored, ConsentRecord(id: 2, client: "10.99.0.6", termsVersion: "1", consentedAt: start)])
        #expect(registry.standing(of: "10.99.0.5", at: start + 1_500, touch: false).isActive)
        // A newer agreement given here, not yet stored, survives a refresh with the older one.
        registry.record(ConsentRecord(client: "10.99.0.6", termsVersion: "1", consentedAt: start + 1_000))
        registry.refresh(from: [stored, ConsentRecord(id: 2, client: "10.99.0.6", termsVersion: "1", consentedAt: start)])
        #expect(registry.standing(of: "10.99.0.6", at: start + 1_500, touch: false) == .active(secondsRemaining: 3_100))
        // The store's copy may come back a rounding error away from the one given here.
        let given2 = ConsentRecord(client: "10.99.0.7", termsVersion: "1", consentedAt: Date(timeIntervalSinceReferenceDate: 815_000_000.123456789))
        registry.record(given2)
        var stored2 = given2
        stored2.id = 3
        stored2.consentedAt = Date(timeIntervalSince1970: given2.consentedAt.timeIntervalSince1970)
        stored2.revokedAt = stored2.consentedAt + 1
        registry.refresh(from: [stored, stored2])
        #expect(registry.standing(of: "10.99.0.7", at: given2.consentedAt + 2) == .revoked)
        // `consent revoke` in the store ends the session here.
        stored.revokedAt = start + 1_600
        registry.refresh(from: [stored])
        #expect(registry.standing(of: "10.99.0.5", at: start + 1_700) == .revoked)
        #expect(registry.use(by: "10.99.0.5", at: start + 1_700) == nil)
    }
}
