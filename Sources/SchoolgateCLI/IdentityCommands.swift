import ArgumentParser
import Foundation
import SchoolgateIdentity
import SchoolgatePolicy
import SchoolgateStore

/// `schoolgate users`: the local users file the proxy checks sign-ins against.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage proxy sign-in accounts in the local users file (scrypt hashes).",
        subcommands: [Add.self, Passwd.self, Remove.self, List.self])

    struct PasswordInput: ParsableArguments {
        @Flag(help: "Read the password from the first line of standard input (for scripts).") var passwordStdin = false

        func read(for name: String) throws -> String {
            let password: String
            if passwordStdin {
                password = readLine(strippingNewline: true) ?? ""
            } else {
                let first = Terminal.readSecret("New password for \(name): ")
                guard Terminal.readSecret("Again: ") == first else { throw ValidationError("the two passwords differ; nothing was changed") }
                password = first
            }
            guard password.count >= 8 else { throw ValidationError("a password needs at least 8 characters; nothing was changed") }
            return password
        }
    }

    /// Loads the file, applies `change`, saves it whole, and records who did what.
    static func change(_ options: MonitoringOptions, action: String, name: String, _ change: (inout UsersFile) throws -> Void) async throws {
        let (store, settings) = try await options.store()
        let path = settings.authentication.usersFile
        var users: UsersFile
        do {
            users = try UsersFile.load(path)
        } catch {
            printError("schoolgate: \(error)")
            throw ExitCode(2)
        }
        try change(&users)
        try users.save(to: path)
        try await options.audited(store, action: "users \(action)", detail: "\(name) in \(path)")
        print("\(action == "remove" ? "Removed" : "Saved") \(name) in \(path). `systemctl reload schoolgate` puts it into use.")
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user.")
        @OptionGroup var options: MonitoringOptions
        @OptionGroup var input: PasswordInput
        @Argument(help: "The user name (letters, digits, . - _ @).") var name: String

        func run() async throws {
            guard UsersFile.isValidName(name) else { throw ValidationError("user names use letters, digits, '.', '-', '_' and '@'") }
            let settings = try options.settings()
            if (try? UsersFile.load(settings.authentication.usersFile))?.hash(for: name) != nil {
                throw ValidationError("\(name) exists already: use `schoolgate users passwd \(name)`")
            }
            let hash = try PasswordHash.make(password: try input.read(for: name))
            try await UsersCommand.change(options, action: "add", name: name) { $0.set(name, hash: hash) }
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password.")
        @OptionGroup var options: MonitoringOptions
        @OptionGroup var input: PasswordInput
        @Argument var name: String

        func run() async throws {
            let settings = try options.settings()
            guard (try? UsersFile.load(settings.authentication.usersFile))?.hash(for: name) != nil else {
                throw ValidationError("no user \(name) in \(settings.authentication.usersFile)")
            }
            let hash = try PasswordHash.make(password: try input.read(for: name))
            try await UsersCommand.change(options, action: "passwd", name: name) { $0.set(name, hash: hash) }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user.")
        @OptionGroup var options: MonitoringOptions
        @Argument var name: String

        func run() async throws {
            try await UsersCommand.change(options, action: "remove", name: name) { users in
                guard users.remove(name) else { throw ValidationError("no user \(name)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List user names (never hashes).")
        @OptionGroup var options: MonitoringOptions

        func run() async throws {
            let settings = try options.settings()
            let users: UsersFile
            do {
                users = try UsersFile.load(settings.authentication.usersFile)
            } catch {
                printError("schoolgate: \(error)")
                throw ExitCode(2)
            }
            if options.json { print(try jsonText(users.users.map(\.name))); return }
            if users.users.isEmpty { print("No users in \(settings.authentication.usersFile)."); return }
            for user in users.users { print(user.name) }
        }
    }
}

/// `schoolgate consent`: the guests' agreements to the acceptable-use terms.
struct ConsentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent", abstract: "Guests' agreements to the acceptable-use terms.", subcommands: [List.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Agreements given, newest first.")
        @OptionGroup var options: MonitoringOptions
        @Option(help: "Since: 7d, 2026-11-01, … (default: 30 days ago).") var since = "30d"
        @Option(help: "At most this many.") var limit = 500

        func run() async throws {
            let (store, settings) = try await options.store()
            let zone = settings.school.timeZone
            let start = try WhenArgument.parse(since, timeZone: zone)
            try await options.audited(store, action: "view consents", detail: "since \(WhenArgument.format(start, timeZone: zone))")
            let records = try await store.consents(since: start, limit: limit)
            if options.json { print(try jsonText(records)); return }
            if records.isEmpty { print("No guest agreements since \(WhenArgument.format(start, timeZone: zone))."); return }
            let terms = settings.consent
            print(table(["ID", "TIME", "ADDRESS", "DEVICE", "NAME", "TERMS", "STATE"], records.map { record in
                let state = record.revokedAt != nil ? "revoked" : record.termsVersion != terms.termsVersion ? "old terms"
                    : Date().timeIntervalSince(record.consentedAt) >= terms.sessionSeconds ? "expired" : "in force"
                return [String(record.id ?? 0), WhenArgument.format(record.consentedAt, timeZone: zone), record.client, record.mac ?? "-",
                        record.name ?? "-", record.termsVersion, state]
            }))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a guest's agreement (the running proxy sends them back to the page within seconds).")
        @OptionGroup var options: MonitoringOptions
        @Argument(help: "The guest's device address.") var client: String?
        @Flag(help: "End every guest's agreement.") var all = false

        func validate() throws {
            if (client == nil) == !all { throw ValidationError("give one device address, or --all") }
        }

        func run() async throws {
            let (store, _) = try await options.store()
            let count = try await store.revokeConsents(client: all ? nil : client, by: options.who, at: Date())
            if options.json { print(try jsonText(["revoked": count])); return }
            print("Ended \(count) agreement(s).")
        }
    }
}

enum Terminal {
    /// Reads a line with the terminal's echo off.
    static func readSecret(_ prompt: String) -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        let isTerminal = tcgetattr(STDIN_FILENO, &saved) == 0
        if isTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSANOW, &quiet)
        }
        defer {
            if isTerminal {
                tcsetattr(STDIN_FILENO, TCSANOW, &saved)
                FileHandle.standardError.write(Data("\n".utf8))
            }
        }
        return readLine(strippingNewline: true) ?? ""
    }
}
