import ArgumentParser
import Dispatch
import Foundation
import Logging
import NIOCore
import SchoolgateAlerts
import SchoolgateConfig
import SchoolgatePolicy
import SchoolgateProxy
import SchoolgateStore
import Synchronization

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the filtering proxy.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "Listen on this port instead of the config's (0 picks a free one).") var port: Int?
    @Option(help: "Event-loop threads (default: one per core).") var threads: Int?

    func run() async throws {
        var configuredLogger = Logger(label: "schoolgate")
        configuredLogger.logLevel = ProcessInfo.processInfo.environment["SCHOOLGATE_DEBUG"] == nil ? .info : .debug
        let logger = configuredLogger
        let loaded = try options.load()
        for line in loaded.skippedLines.report { logger.warning("\(line)") }
        for slot in loaded.emptyLockedSlots {
            logger.warning("locked slot '\(slot.rawValue)' is empty: no file at \(loaded.config.lockedPaths[slot]!)")
        }
        logger.info("loaded \(loaded.totalEntries) list entries in \(String(format: "%.2f", loaded.loadSeconds)) s from \(options.path)")

        let admin = ServeAdmin()
        admin.listsLoaded(loaded)
        let settings = loaded.config.proxy
        var configuration = ProxyConfiguration()
        configuration.host = settings.listenHost
        configuration.port = port ?? settings.listenPort
        configuration.connectPorts = settings.connectPorts
        configuration.sniMismatch = TunnelAction(rawValue: settings.sniMismatch.rawValue) ?? .block
        configuration.missingSNI = TunnelAction(rawValue: settings.missingSNI.rawValue) ?? .allow
        configuration.nonTLS = TunnelAction(rawValue: settings.nonTLS.rawValue) ?? .block
        configuration.bypassSeverity = settings.bypassSeverity
        configuration.clientHelloTimeout = .milliseconds(Int64(settings.clientHelloTimeoutSeconds * 1000))
        configuration.connectTimeout = .milliseconds(Int64(settings.connectTimeoutSeconds * 1000))
        configuration.upstreamIdleTimeout = .milliseconds(Int64(settings.upstreamIdleTimeoutSeconds * 1000))
        configuration.clientTimeout = .milliseconds(Int64(settings.clientTimeoutSeconds * 1000))
        configuration.maxHeaderBytes = settings.maxHeaderBytes
        configuration.maxHeaderCount = settings.maxHeaderCount
        configuration.maxURILength = settings.maxURILength
        configuration.maxConnectionsPerClient = settings.maxConnectionsPerClient
        configuration.interceptHTTP = settings.interceptHTTP
        configuration.interceptTLS = settings.interceptTLS
        configuration.destinationMismatch = TunnelAction(rawValue: settings.destinationMismatch.rawValue) ?? .flag
        configuration.schoolName = loaded.config.school.name
        configuration.reviewContact = loaded.config.school.reviewContact

        let monitoring = loaded.config.monitoring
        let store: any MonitoringStore
        do {
            store = try await StoreOpener.open(monitoring, logger: logger)
        } catch {
            printError("schoolgate: the monitoring database cannot be opened: \(error)")
            throw ExitCode(2)
        }
        let writer = MonitoringWriter(store: store, foldWindow: monitoring.foldWindowSeconds, logger: logger)
        let writing = Task { await writer.run() }
        let retention = Retention(visitDays: monitoring.visitRetentionDays, incidentDays: monitoring.incidentRetentionDays,
                                  auditDays: monitoring.auditRetentionDays)
        let purging = Task {
            while !Task.isCancelled {
                do {
                    let result = try await retention.purge(store, now: Date(), actor: "schoolgate (retention)")
                    logger.info("retention purge: \(result.visits) visits, \(result.incidents) closed incidents, \(result.auditEntries) audit entries")
                } catch {
                    logger.error("retention purge failed: \(error)")
                }
                try? await Task.sleep(for: .seconds(86_400))
            }
        }
        logger.info("monitoring to \(StoreOpener.describe(monitoring))")
        let alertSettings = loaded.config.alerts
        var alerting: Task<Void, Never>?
        if alertSettings.isConfigured {
            var settings = AlertDispatcher.Settings(
                targets: alertSettings.webhooks.map(AlertTarget.webhook) + alertSettings.commands.map(AlertTarget.command),
                minimumSeverity: alertSettings.minimumSeverity, schoolName: loaded.config.school.name)
            settings.maxAttempts = alertSettings.maxAttempts
            settings.retryAfter = alertSettings.retryAfterSeconds
            let dispatcher = AlertDispatcher(store: store, settings: settings, logger: logger)
            alerting = Task { await dispatcher.run() }
            logger.info("alerts for \(alertSettings.minimumSeverity.rawValue) incidents and above to \(settings.targets.count) target(s)")
        } else {
            logger.warning("no [alerts] configured: the DSL is not told of incidents as they happen")
        }

        var accessLog: SquidAccessLog?
        if let path = monitoring.accessLogPath {
            do {
                accessLog = try SquidAccessLog(path: path)
            } catch {
                printError("schoolgate: \(error)")
                throw ExitCode(2)
            }
        }
        let logging = accessLog.map { log in Task { await log.run() } }
        let identity: ServeIdentity
        do {
            identity = try await ServeIdentity(config: loaded.config, store: store, logger: logger)
        } catch {
            printError("schoolgate: \(error)")
            throw ExitCode(2)
        }
        let shared = ProxyContext(configuration: configuration, policy: loaded.policy, calendar: loaded.calendar, logger: logger,
                                  identity: identity.services, names: NameCache(pool: identity.pool), visitSink: { [accessLog] visit, decision in
            writer.submit(visit, sighting: decision.flatMap { IncidentSighting(visit: visit, decision: $0) })
            accessLog?.append(visit)
        })
        try await admin.start(loaded.config.admin, shared: shared, writer: writer, logger: logger)
        let server = try await ProxyServer(shared: shared, threads: threads ?? System.coreCount)
        // `schoolgate allow|block` from the CLI reaches the running proxy within seconds.
        let overriding = Task {
            while !Task.isCancelled {
                if let active = try? await store.overrides(at: Date(), includingEnded: false) { shared.replaceOverrides(OverrideSet(active)) }
                try? await Task.sleep(for: .seconds(5))
            }
        }
        for address in server.interceptAddresses {
            FileHandle.standardOutput.write(Data("schoolgate: intercepting on \(address.ipAddress ?? "?"):\(address.port ?? 0)\n".utf8))
        }
        // Tests and scripts read this line to learn the port.
        logger.info("listening on \(server.localAddress.map { "\($0)" } ?? "?")")
        FileHandle.standardOutput.write(Data("schoolgate: listening on \(server.localAddress?.ipAddress ?? configuration.host):\(server.localAddress?.port ?? configuration.port)\n".utf8))

        // `schoolgate reload` finds this process by its pid file, beside the database.
        let pidFile = ServeCommand.pidFile(in: monitoring.stateDirectory)
        if !FileManager.default.createFile(atPath: pidFile, contents: Data("\(getpid())\n".utf8), attributes: [.posixPermissions: 0o644]) {
            // Serving goes on: only `schoolgate reload` needs the file (SIGHUP still works).
            printError("schoolgate: warning: cannot write \(pidFile): `schoolgate reload` will not find this process; send it SIGHUP instead")
        }
        defer { try? FileManager.default.removeItem(atPath: pidFile) }

        // SIGHUP (systemctl reload): build the new policy off the event loop, swap it in whole;
        // a config or list that fails keeps the old policy serving. Listening addresses and
        // the database need a restart.
        signal(SIGHUP, SIG_IGN)
        let configPath = options.path
        let reload = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "schoolgate.reload"))
        let current = Mutex(loaded)
        reload.setEventHandler {
            do {
                let next = try PolicyLoader.load(configPath: configPath)
                shared.replacePolicy(next.policy, calendar: next.calendar)
                identity.reload(next.config, logger: logger)
                admin.listsLoaded(next)
                let changes = current.withLock { previous in
                    defer { previous = next }
                    return PolicyDiff.summary(from: previous, to: next)
                }
                logger.info("reloaded \(configPath): \(next.totalEntries) list entries in \(String(format: "%.2f", next.loadSeconds)) s")
                Task {
                    try? await store.audit(AuditEntry(time: Date(), actor: "schoolgate (reload)", action: "config reload",
                                                      detail: "\(configPath): \(next.totalEntries) list entries; \(changes)"))
                }
            } catch {
                let problems = (error as? ConfigErrors)?.problems.map(\.description) ?? ["\(error)"]
                logger.error("reload refused, the previous configuration keeps serving: \(problems.joined(separator: "; "))")
                Task {
                    try? await store.audit(AuditEntry(time: Date(), actor: "schoolgate (reload)", action: "config reload refused",
                                                      detail: "\(problems.count) problem(s) in \(configPath): \(problems.prefix(3).joined(separator: "; "))"))
                }
            }
        }
        reload.resume()
        signal(SIGUSR1, SIG_IGN)
        let reopen = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
        reopen.setEventHandler { [accessLog] in
            do {
                try accessLog?.reopen()
                logger.info("access log reopened")
            } catch {
                logger.error("access log could not be reopened: \(error)")
            }
        }
        reopen.resume()
        let signals = [SIGTERM, SIGINT].map { signalNumber -> DispatchSourceSignal in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                logger.info("signal \(signalNumber): shutting down")
                Task { try? await server.shutdown() }
            }
            source.resume()
            return source
        }
        try await server.waitUntilClosed()
        signals.forEach { $0.cancel() }
        reopen.cancel()
        reload.cancel()
        try? await server.shutdown()
        await identity.shutdown()
        await admin.shutdown()
        purging.cancel()
        overriding.cancel()
        alerting?.cancel()
        writing.cancel()
        await writing.value
        logging?.cancel()
        await logging?.value
        let stats = writer.stats
        logger.info("stopped: \(stats.writtenVisits) visits and \(stats.writtenSightings) incident sightings stored, \(stats.droppedVisits) visits dropped")
    }

    static func pidFile(in stateDirectory: String) -> String {
        (stateDirectory as NSString).appendingPathComponent("schoolgate.pid")
    }
}
