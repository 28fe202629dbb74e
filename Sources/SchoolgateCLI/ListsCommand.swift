import ArgumentParser
import Foundation
import SchoolgateConfig

struct ListsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lists", abstract: "Inspect and update the filter lists.", subcommands: [Stats.self, ListsUpdateCommand.self])

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Entries per category and how long loading took.")

        @OptionGroup var options: ConfigOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let loaded = try options.load()
            if json {
                struct Output: Codable {
                    var categories: [CategoryStats]
                    var totalEntries: Int
                    var skippedLines: Int
                    var loadSeconds: Double
                    var indexBytes: Int
                }
                let output = Output(categories: loaded.stats, totalEntries: loaded.totalEntries, skippedLines: loaded.skippedLines.total,
                                    loadSeconds: loaded.loadSeconds, indexBytes: loaded.policy.index.memoryFootprint)
                print(try jsonText(output))
                return
            }
            let width = max(12, loaded.stats.map(\.category.count).max() ?? 0)
            print("category".padding(toLength: width, withPad: " ", startingAt: 0) + "  entries  usage")
            for stat in loaded.stats {
                let usage = stat.locked ? "locked" : (stat.usage ?? "-")
                let entries = String(stat.entries)
                print(stat.category.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                      + String(repeating: " ", count: max(0, 7 - entries.count)) + entries + "  " + usage)
            }
            print("total \(loaded.totalEntries) entries (\(loaded.skippedLines.total) lines skipped), index \(loaded.policy.index.memoryFootprint / 1024) KiB, loaded in \(String(format: "%.3f", loaded.loadSeconds)) s")
        }
    }
}

func jsonText(_ value: some Encodable, pretty: Bool = true) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
