import ArgumentParser
import Foundation
import SchoolgateConfig
import SchoolgatePolicy
import SchoolgateStore

/// What `allow` and `block` share: the site, who for, how long, and why.
struct OverrideOptions: ParsableArguments {
    @OptionGroup var monitoring: MonitoringOptions
    @Argument(help: "The site: a domain (covering its subdomains) or a URL.") var site: String
    @Option(help: "Only for this group (default: every group).") var group: String?
    @Option(help: "How reports and the block page name it (default: local).") var category: String?
    @Option(help: "Why: kept in the audit trail.") var reason: String
    @Option(name: .customLong("for"), help: "For this long only: 50m, 2h, 7d (default: until removed).") var duration: String?

    func record(_ action: PolicyOverride.Action) async throws {
        let (store, settings) = try await monitoring.store()
        let host: HostName
        do {
            host = site.contains("://") ? try RequestURL(parsing: site).host : try HostName(site)
        } catch {
            throw ValidationError("'\(site)' is not a domain or URL")
        }
        if let group, !settings.groups.contains(where: { $0.name == group }) {
            throw ValidationError("no group '\(group)' (groups: \(settings.groups.map(\.name).joined(separator: ", ")))")
        }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason is needed: the audit trail keeps why") }
        if LockedSlot.allCases.contains(where: { $0.category == category }) {
            throw ValidationError("'\(category!)' is a locked list; overrides cannot speak for it")
        }
        let now = Date()
        var expires: Date?
        if let duration {
            guard let seconds = ProxySettings.duration(duration) else { throw ValidationError("--for '\(duration)': expected 50m, 2h or 7d") }
            expires = now + seconds
        }
        let override = PolicyOverride(host: host.text, action: action, group: group, category: category, reason: reason, actor: monitoring.who,
                                      created: now, expires: expires)
        let id = try await store.addOverride(override)
        let zone = settings.school.timeZone
        let scope = group.map { "for \($0)" } ?? "for every group"
        let until = expires.map { " until \(WhenArgument.format($0, timeZone: zone))" } ?? ""
        if monitoring.json {
            var stored = override
            stored.id = id
            print(try jsonText(stored))
        } else {
            print("Override #\(id): \(action == .allow ? "allowed" : "blocked") \(host.text) \(scope)\(until). The running proxy applies it within 5 s.")
        }
        if action == .allow {
            printError("note: the IWF and CTIRU lists still block, whatever an override says.")
        }
    }
}

struct AllowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "allow", abstract: "Allow a site locally (above the lists; never above IWF or CTIRU).")
    @OptionGroup var options: OverrideOptions
    func run() async throws { try await options.record(.allow) }
}

struct BlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "block", abstract: "Block a site locally, for everyone or one group.")
    @OptionGroup var options: OverrideOptions
    func run() async throws { try await options.record(.block) }
}

struct OverridesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overrides", abstract: "Local allow/block overrides: list them, or end one early.", subcommands: [List.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Overrides in force (or every one ever made, with --all).")
        @OptionGroup var options: MonitoringOptions
        @Flag(help: "Include ended and removed ones.") var all = false

        func run() async throws {
            let (store, settings) = try await options.store()
            let now = Date()
            let overrides = try await store.overrides(at: now, includingEnded: all)
            if options.json { print(try jsonText(overrides)); return }
            if overrides.isEmpty { print(all ? "No overrides have been made." : "No overrides in force."); return }
            let zone = settings.school.timeZone
            print(table(["ID", "ACTION", "SITE", "GROUP", "UNTIL", "BY", "REASON"], overrides.map { override in
                let state = override.isActive(at: now) ? override.expires.map { WhenArgument.format($0, timeZone: zone) } ?? "until removed" : "ended"
                return [String(override.id ?? 0), override.action.rawValue, override.host, override.group ?? "everyone", state, override.actor, override.reason]
            }))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End an override now.")
        @OptionGroup var options: MonitoringOptions
        @Argument var id: Int64

        func run() async throws {
            let (store, _) = try await options.store()
            do {
                let removed = try await store.removeOverride(id: id, by: options.who, at: Date())
                print("Ended override #\(id) (\(removed.action.rawValue) \(removed.host)). The running proxy applies it within 5 s.")
            } catch let error as StoreError {
                throw ValidationError(error.message)
            }
        }
    }
}
