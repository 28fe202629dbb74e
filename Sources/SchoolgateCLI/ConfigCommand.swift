import ArgumentParser
import SchoolgateConfig

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check the configuration.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the config and every list it names; print each problem with file, line and field.")

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let loaded = try options.load()
            for line in loaded.skippedLines.report { print("warning: \(line)") }
            for slot in loaded.emptyLockedSlots {
                print("warning: locked slot '\(slot.rawValue)' is empty: no file at \(loaded.config.lockedPaths[slot]!)")
            }
            print("\(options.path): OK: \(loaded.config.groups.count) groups, \(loaded.config.categories.count) categories, \(loaded.totalEntries) list entries, \(loaded.skippedLines.total) skipped lines")
        }
    }
}
