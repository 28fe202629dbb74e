import ArgumentParser
import Foundation
import SchoolgatePolicy

/// `schoolgate reload`: asks the running `serve` to reload (as SIGHUP and `systemctl reload`
/// do) and waits for its verdict in the audit trail, so the ICT manager sees at once whether
/// the new config is serving or was refused.
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload", abstract: "Reload the running proxy's config and lists; say whether they were taken or refused.")
    @OptionGroup var options: MonitoringOptions
    @Option(help: "How long to wait for the verdict, in seconds.") var wait = 60

    func run() async throws {
        let (store, settings) = try await options.store()
        let pidFile = ServeCommand.pidFile(in: settings.monitoring.stateDirectory)
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
              kill(pid, 0) == 0 else {
            printError("schoolgate: no running schoolgate serve found (no live process in \(pidFile))")
            throw ExitCode(2)
        }
        let asked = Date()
        try await options.audited(store, action: "reload requested", detail: "process \(pid)")
        guard kill(pid, SIGHUP) == 0 else {
            printError("schoolgate: cannot signal process \(pid): \(String(cString: strerror(errno)))")
            throw ExitCode(2)
        }
        let deadline = Date() + Double(wait)
        while Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            let entries = try await store.auditTrail(since: asked, limit: 20)
            guard let verdict = entries.first(where: { $0.action == "config reload" || $0.action == "config reload refused" }) else { continue }
            if verdict.action == "config reload" {
                print("Reloaded. \(verdict.detail)")
                return
            }
            printError("schoolgate: reload refused; the previous configuration keeps serving. \(verdict.detail)")
            printError("Run `schoolgate config check` for every problem.")
            throw ExitCode(1)
        }
        printError("schoolgate: no verdict within \(wait) s; see the service log")
        throw ExitCode(1)
    }
}
