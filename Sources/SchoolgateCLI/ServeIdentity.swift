import Foundation
import Logging
import NIOCore
import NIOPosix
import SchoolgateConfig
import SchoolgateIdentity
import SchoolgatePolicy
import SchoolgatePortal
import SchoolgateProxy
import SchoolgateStore

/// The identity side of `serve`: proxy sign-ins against the users file, and, when a group
/// requires consent, the guests' captive page with its registry kept in step with the store.
final class ServeIdentity: Sendable {
    let services: IdentityServices
    private let portal: PortalServer?
    private let refreshing: Task<Void, Never>?
    /// Slow, blocking checks (password hashes, DNS for intercepted traffic) run here.
    let pool: NIOThreadPool
    private let radius: RadiusAccountingServer?
    let addressSessions: AddressSessions

    init(config: PolicyConfig, store: any MonitoringStore, logger: Logger) async throws {
        var services = IdentityServices()
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        self.pool = pool

        let needsSignIn = config.groups.contains { $0.requires == .authentication }
        let users = try Self.loadUsers(config.authentication, logger: logger, required: needsSignIn)
        var verifierSettings = CredentialVerifier.Settings()
        verifierSettings.cacheFor = config.authentication.cacheSeconds
        verifierSettings.maxFailures = config.authentication.maxFailures
        verifierSettings.failureWindow = config.authentication.failureWindowSeconds
        let directory = try config.directory.map(Self.directoryChecker)
        services.verifier = CredentialVerifier(checker: ChainedChecker(local: LocalUsersChecker(users: users), directory: directory),
                                               settings: verifierSettings, pool: pool)
        services.realm = config.authentication.realm

        // Who is at an address: Wi-Fi sign-ins by RADIUS accounting, then fixed assignments.
        let sessions = AddressSessions(defaultLifetime: config.radius?.sessionLifetimeSeconds ?? 8 * 3_600)
        sessions.replaceFixed(config.addressUsers)
        addressSessions = sessions
        services.userAtAddress = { sessions.user(at: $0, now: Date()) }
        if let settings = config.radius {
            let server = try await RadiusAccountingServer(host: settings.listenHost, port: settings.listenPort, secret: Array(settings.secret.utf8),
                                                          clients: settings.clients, sessions: sessions, group: MultiThreadedEventLoopGroup.singleton,
                                                          logger: logger)
            radius = server
            FileHandle.standardOutput.write(Data("schoolgate: RADIUS accounting on \(server.localAddress?.ipAddress ?? "?"):\(server.localAddress?.port ?? 0)\n".utf8))
        } else {
            radius = nil
        }

        guard config.groups.contains(where: { $0.requires == .consent }) else {
            portal = nil
            refreshing = nil
            self.services = services
            return
        }
        let consent = config.consent
        let registry = ConsentRegistry(terms: Self.terms(consent))
        registry.refresh(from: try await store.consents(since: Date().addingTimeInterval(-consent.sessionSeconds), limit: 100_000))
        var settings = PortalSettings()
        (settings.httpHost, settings.httpPort) = consent.httpListen
        if let https = consent.httpsListen, let certificate = consent.certificatePath, let key = consent.privateKeyPath {
            settings.https = (https.host, https.port, certificate, key)
        }
        settings.schoolName = config.school.name
        let portal = ConsentPortal(settings: settings, registry: registry) { record in
            Task {
                do {
                    _ = try await store.recordConsent(NeighbourTable.completing(record))
                } catch {
                    logger.error("a guest's consent could not be stored: \(error)")
                }
            }
        }
        let server = try await PortalServer(portal: portal, settings: settings, logger: logger)
        let bound = server.localAddresses
        services.portalURL = consent.publicURL ?? bound.last.map { address in
            let scheme = bound.count > 1 ? "https" : "http"
            let host = address.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? consent.httpListen.host
            return "\(scheme)://\(host):\(address.port ?? 0)/"
        } ?? consent.portalURL
        portal.publicURL = services.portalURL
        for address in bound {
            FileHandle.standardOutput.write(Data("schoolgate: consent page on \(address.ipAddress ?? "?"):\(address.port ?? 0)\n".utf8))
        }
        services.consents = registry
        // A `consent revoke` from the CLI reaches the running proxy within seconds.
        refreshing = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                if let records = try? await store.consents(since: Date().addingTimeInterval(-registry.terms.sessionLimit), limit: 100_000) {
                    registry.refresh(from: records)
                }
            }
        }
        self.portal = server
        self.services = services
    }

    /// Directory connections (one per sign-in check, made from the thread pool) and RADIUS use
    /// NIO's shared group: neither needs threads of its own.
    static func directoryChecker(_ settings: DirectorySettings) throws -> DirectoryChecker {
        var checker = DirectoryChecker.Settings(host: settings.host, port: settings.port, startTLS: settings.startTLS,
                                                userBase: settings.userBase, groupBase: settings.groupBase)
        checker.bindDN = settings.bindDN
        checker.bindPassword = settings.bindPassword
        checker.userAttribute = settings.userAttribute
        checker.userObjectClass = settings.userObjectClass
        checker.groupMemberAttribute = settings.groupMemberAttribute
        checker.groupObjectClass = settings.groupObjectClass
        checker.groupNameAttribute = settings.groupNameAttribute
        checker.caFile = settings.caFile
        checker.timeoutSeconds = settings.timeoutSeconds
        return try DirectoryChecker(settings: checker, group: MultiThreadedEventLoopGroup.singleton)
    }

    static func terms(_ consent: ConsentSettings) -> ConsentTerms {
        ConsentTerms(version: consent.termsVersion, text: consent.termsText, idleLimit: consent.idleSeconds, sessionLimit: consent.sessionSeconds)
    }

    static func loadUsers(_ settings: AuthenticationSettings, logger: Logger, required: Bool) throws -> UsersFile {
        let users = try UsersFile.load(settings.usersFile)
        if required, users.users.isEmpty {
            logger.warning("a group requires sign-in but \(settings.usersFile) has no users: add them with `schoolgate users add NAME`")
        }
        return users
    }

    /// A reload: new terms (a new version sends guests back to the page) and a re-read users file.
    func reload(_ config: PolicyConfig, logger: Logger) {
        addressSessions.replaceFixed(config.addressUsers)
        services.consents?.replaceTerms(Self.terms(config.consent))
        do {
            let directory = try config.directory.map(Self.directoryChecker)
            let local = LocalUsersChecker(users: try Self.loadUsers(config.authentication, logger: logger, required: false))
            services.verifier?.replaceChecker(ChainedChecker(local: local, directory: directory))
        } catch {
            logger.error("users file not reloaded, the previous one stays: \(error)")
        }
    }

    func shutdown() async {
        refreshing?.cancel()
        await radius?.close()
        try? await portal?.shutdown()
        try? await pool.shutdownGracefully()
    }
}
