import ArgumentParser
import Foundation
import SchoolgateConfig
import SchoolgatePolicy

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Check the live config against the school's own expectations.", subcommands: [Test.self])

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a file of expectations ('pupils-ks2 must not reach https://…') against the config: PASS or FAIL per line.",
            discussion: """
                One expectation per line; '#' starts a comment:
                  GROUP [as USER] [at DAY HH:MM] must reach URL
                  GROUP ... must not reach URL
                  GROUP ... must see the consent page for URL
                  GROUP ... must sign in for URL
                Without 'at', Monday 10:00 school time is used, so results do not depend on when the test runs.
                The exit status is 1 when any expectation fails, 2 when the file cannot be read or understood.
                """)

        @OptionGroup var options: ConfigOptions
        @Argument(help: "The expectations file.") var file: String
        @Flag(help: "Print only failures and the summary.") var quiet = false

        func run() throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                printError("schoolgate: \(file): cannot be read")
                throw ExitCode(2)
            }
            var expectations: [PolicyExpectation] = []
            var problems: [String] = []
            for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                    .trimmingCharacters(in: .whitespaces) ?? ""
                if line.isEmpty { continue }
                do {
                    expectations.append(try PolicyExpectation(parsing: line, line: index + 1))
                } catch {
                    problems.append("\(file):\(error.description)")
                }
            }
            let loaded = try options.load()
            for expectation in expectations where loaded.policy.groups[expectation.group] == nil {
                problems.append("\(file):line \(expectation.line): no group '\(expectation.group)' in \(options.path)")
            }
            guard problems.isEmpty else {
                for problem in problems { printError("schoolgate: \(problem)") }
                throw ExitCode(2)
            }
            let monday = LocalTime(weekday: .monday, minuteOfDay: 10 * 60)
            var failed = 0
            for expectation in expectations {
                let (passed, decision) = expectation.check(loaded.policy, defaultTime: monday)
                if !passed { failed += 1 }
                guard !passed || !quiet else { continue }
                let why = [decision.verdict.rawValue, decision.rule.rawValue, decision.category, decision.match.map { "\($0.entry) in \($0.source.file)" }]
                    .compactMap { $0 }.joined(separator: ", ")
                print("\(passed ? "PASS" : "FAIL")  line \(expectation.line): \(expectation.group) must \(expectation.outcome.rawValue) \(expectation.url)  (\(why))")
            }
            print("\(expectations.count - failed) of \(expectations.count) expectations hold" + (failed > 0 ? "; \(failed) FAILED" : "."))
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
