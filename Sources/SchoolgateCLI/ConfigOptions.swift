import ArgumentParser
import Foundation
import SchoolgateConfig

/// `--config`, shared by every command that reads the config.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Config file (default: $SCHOOLGATE_CONFIG, else /etc/schoolgate/schoolgate.conf, else config/schoolgate.conf).")
    var config: String?

    var path: String {
        if let config { return config }
        if let fromEnvironment = ProcessInfo.processInfo.environment["SCHOOLGATE_CONFIG"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        let system = "/etc/schoolgate/schoolgate.conf"
        return FileManager.default.fileExists(atPath: system) ? system : "config/schoolgate.conf"
    }

    /// Loads config and lists, or prints every problem and exits non-zero.
    func load() throws -> LoadedPolicy {
        do {
            return try PolicyLoader.load(configPath: path)
        } catch {
            printError("schoolgate: the configuration has problems:")
            for problem in error.problems { printError("  \(problem)") }
            throw ExitCode(2)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
