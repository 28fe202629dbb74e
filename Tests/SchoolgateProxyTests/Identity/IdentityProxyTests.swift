import Foundation
import NIOPosix
import Testing
@testable import SchoolgateIdentity
@testable import SchoolgatePolicy
@testable import SchoolgateProxy

/// Sign-in and guest consent through the real proxy, driven by curl.
@Suite(.enabled(if: Tools.exists("curl") && Tools.exists("python3") && Tools.exists("openssl"), "needs curl, python3 and openssl"))
struct IdentityProxyTests {
    func curl(_ proxy: Int, _ arguments: [String]) throws -> RunResult {
        try run(["curl", "-s", "-k", "--max-time", "10", "-x", "http://127.0.0.1:\(proxy)"] + arguments)
    }

    func loopbackOnly(_ configuration: inout ProxyConfiguration) {
        configuration.upstreamAllowed = { $0.text == "localhost" || $0.text == "127.0.0.1" }
    }

    /// A users file with one account, checked on a real thread pool (scrypt at its lowest cost,
    /// so the suite stays fast; the cost is read from the hash, as in production).
    func signIn(maxFailures: Int = 10) throws -> (IdentityServices, NIOThreadPool) {
        var users = UsersFile()
        users.set("jsmith", hash: try PasswordHash.make(password: "correct horse", logRounds: 10))
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        var settings = CredentialVerifier.Settings()
        settings.maxFailures = maxFailures
        var identity = IdentityServices()
        identity.verifier = CredentialVerifier(checker: LocalUsersChecker(users: users), settings: settings, pool: pool)
        identity.realm = "Test School"
        return (identity, pool)
    }

    @Test func asksForSignInThenLogsTheVerifiedUser() async throws {
        let (identity, pool) = try signIn()
        defer { pool.shutdownGracefully { _ in } }
        let visits = VisitCollector()
        try await withTestProxy(loopbackOnly, visits: visits, requires: .authentication, identity: identity) { proxy, origin in
            let url = "http://localhost:\(origin.httpPort)/signed"
            let anonymous = try curl(proxy, ["-D", "-", url])
            #expect(anonymous.output.hasPrefix("HTTP/1.1 407"), "\(anonymous.output)")
            #expect(anonymous.output.contains("Proxy-Authenticate: Basic realm=\"Test School\""))
            let wrong = try curl(proxy, ["-D", "-", "--proxy-user", "jsmith:wrong password", url])
            #expect(wrong.output.hasPrefix("HTTP/1.1 407"))
            #expect(!wrong.output.contains("origin saw"))
            let right = try curl(proxy, ["-D", "-", "--proxy-user", "JSmith:correct horse", url, url])
            #expect(right.output.components(separatedBy: "origin saw GET /signed").count == 3, "\(right.output)")
            #expect(!right.output.contains("authorization"), "credentials are not forwarded")
            let tunnel = try curl(proxy, ["--proxy-user", "jsmith:correct horse", "https://localhost:\(origin.httpsPort)/tunnelled"])
            #expect(tunnel.output.contains("origin saw GET /tunnelled"))
            let refusedTunnel = try curl(proxy, ["-o", "/dev/null", "-w", "%{http_connect}", "https://localhost:\(origin.httpsPort)/"])
            #expect(refusedTunnel.output == "407")
        }
        let signed = visits.visits.filter { $0.status == 200 }
        #expect(signed.count == 3 && signed.allSatisfy { $0.user == "jsmith" }, "\(signed.map(\.user))")
        let asked = visits.visits.filter { $0.status == 407 }
        #expect(!asked.isEmpty && asked.allSatisfy { $0.user == nil }, "the unsigned requests were logged, by address only")
    }

    @Test func refusesAClientAddressThatKeepsGuessing() async throws {
        let (identity, pool) = try signIn(maxFailures: 3)
        defer { pool.shutdownGracefully { _ in } }
        try await withTestProxy(loopbackOnly, requires: .authentication, identity: identity) { proxy, origin in
            let url = "http://localhost:\(origin.httpPort)/"
            var codes: [String] = []
            for attempt in 0..<4 {
                codes.append(try curl(proxy, ["-o", "/dev/null", "-w", "%{http_code}", "--proxy-user", "jsmith:guess\(attempt)", url]).output)
            }
            #expect(codes == ["407", "407", "407", "429"])
            // Even the right password waits out the window: the guesser learns nothing.
            #expect(try curl(proxy, ["-o", "/dev/null", "-w", "%{http_code}", "--proxy-user", "jsmith:correct horse", url]).output == "429")
        }
    }

    @Test func answers503WhenTheDirectoryCannotBeAsked() async throws {
        struct DirectoryDown: CredentialChecker {
            struct Unreachable: Error {}
            func check(user: String, password: String) throws -> CredentialCheck { throw Unreachable() }
        }
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }
        var identity = IdentityServices()
        identity.verifier = CredentialVerifier(checker: DirectoryDown(), pool: pool)
        try await withTestProxy(loopbackOnly, requires: .authentication, identity: identity) { proxy, origin in
            let result = try curl(proxy, ["-v", "-D", "-", "--proxy-user", "jsmith:anything", "http://localhost:\(origin.httpPort)/"])
            #expect(result.output.hasPrefix("HTTP/1.1 503"), "\(result.output) \(result.error)")
            #expect(result.output.contains("sign-in service is not answering"))
        }
    }

    @Test func sendsAGuestToTheConsentPageUntilTheyAgree() async throws {
        let registry = ConsentRegistry(terms: ConsentTerms(version: "7", text: "Be kind."))
        var identity = IdentityServices()
        identity.consents = registry
        identity.portalURL = "http://127.0.0.9:8080/"
        let visits = VisitCollector()
        try await withTestProxy(loopbackOnly, visits: visits, requires: .consent, identity: identity) { proxy, origin in
            let page = "http://localhost:\(origin.httpPort)/guest"
            let before = try curl(proxy, ["-D", "-", page])
            #expect(before.output.hasPrefix("HTTP/1.1 302"), "\(before.output)")
            #expect(before.output.contains("Location: http://127.0.0.9:8080/"))
            #expect(before.output.contains("Cache-Control: no-store"))
            #expect(before.output.contains("Connection: close"))
            let tunnel = try curl(proxy, ["-o", "/dev/null", "-w", "%{http_connect}", "https://localhost:\(origin.httpsPort)/"])
            #expect(tunnel.output == "511")
            let apple = try curl(proxy, ["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "http://captive.apple.com/hotspot-detect.html"])
            #expect(apple.output == "302 http://127.0.0.9:8080/")

            registry.record(ConsentRecord(client: "127.0.0.1", name: "Ada Visitor", termsVersion: "7", consentedAt: Date()))
            #expect(try curl(proxy, [page]).output.contains("origin saw GET /guest"))
            #expect(try curl(proxy, ["https://localhost:\(origin.httpsPort)/secure"]).output.contains("origin saw GET /secure"))
            // Probes now get the answer each system expects, without leaving the proxy.
            #expect(try curl(proxy, ["http://captive.apple.com/hotspot-detect.html"]).output.contains("<TITLE>Success</TITLE>"))
            #expect(try curl(proxy, ["-o", "/dev/null", "-w", "%{http_code}", "http://connectivitycheck.gstatic.com/generate_204"]).output == "204")
            #expect(try curl(proxy, ["http://www.msftconnecttest.com/connecttest.txt"]).output == "Microsoft Connect Test")
            #expect(try curl(proxy, ["http://detectportal.firefox.com/success.txt"]).output == "success\n")

            // New terms: back to the page.
            registry.replaceTerms(ConsentTerms(version: "8", text: "Be kinder."))
            #expect(try curl(proxy, ["-o", "/dev/null", "-w", "%{http_code}", page]).output == "302")
        }
        let allowed = visits.visits.filter { $0.host == "localhost" && $0.status == 200 }
        #expect(allowed.count == 2 && allowed.allSatisfy { $0.user == "guest:Ada Visitor" }, "\(allowed.map(\.user))")
        let redirected = visits.visits.filter { $0.status == 302 }
        #expect(redirected.count >= 3 && redirected.allSatisfy { $0.verdict == .needsConsent }, "\(redirected.map(\.verdict))")
    }
}
