import Foundation
import Testing
@testable import SchoolgateConfig
@testable import SchoolgatePolicy

private func read(_ format: ListFormat, _ fixture: String) throws -> (ListIndex, ListProblems, Int) {
    var reader = ListReader()
    let count = try reader.read(format, path: Fixtures.path(fixture), category: "test")
    return (reader.builder.build(), reader.problems, count)
}

private func matched(_ index: ListIndex, _ host: String) throws -> Bool {
    !index.matches(host: try HostName(host), path: nil).isEmpty
}

@Suite struct ListFormatTests {
    @Test func hostsFilesGiveTheirNamesAndSkipHousekeeping() throws {
        let (index, problems, count) = try read(.hosts, "hosts.txt")
        #expect(count == 3)
        #expect(try matched(index, "ads.example"))
        #expect(try matched(index, "other.example"))
        #expect(try matched(index, "www.tracker.example"))
        #expect(try !matched(index, "localhost"))
        let reported = problems.kept.map { "\($0.line): \($0.reason)" }
        #expect(reported == [
            "7: a hosts line must start with an IP address",
            "8: an address with no name after it",
            "9: bad..example: empty label (two dots together)",
        ])
        #expect(problems.kept.allSatisfy { $0.file.hasSuffix("hosts.txt") })
    }

    @Test func plainListsNormaliseAndReportBadLines() throws {
        let (index, problems, count) = try read(.domains, "plain.txt")
        #expect(count == 4)
        for host in ["plain.example", "upper.example", "spaced.example", "with-comment.example"] {
            #expect(try matched(index, host), "\(host)")
        }
        #expect(problems.kept.map(\.line) == [6, 7])
        #expect(problems.kept[0].reason.contains("URL in a domains list"))
        #expect(problems.kept[1].reason.contains("character '!'"))
    }

    @Test func adblockDomainRulesAndExceptions() throws {
        let (index, problems, count) = try read(.adblock, "adblock.txt")
        #expect(count == 3)
        #expect(try matched(index, "ads.example"))
        #expect(try matched(index, "cdn.ads.example"))
        #expect(try !matched(index, "good.ads.example"))
        #expect(try !matched(index, "www.good.ads.example"))
        #expect(problems.kept.map(\.line) == [6, 7, 8, 9])
        #expect(problems.kept.allSatisfy { $0.reason.hasPrefix("unsupported adblock rule") })
    }

    @Test func squidGuardFoldersReadDomainsUrlsAndExpressions() throws {
        var reader = ListReader()
        let gambling = try reader.read(.squidguard, path: Fixtures.path("squidguard/gambling"), category: "gambling")
        let adult = try reader.read(.squidguard, path: Fixtures.path("squidguard/adult"), category: "adult")
        #expect(gambling == 3)
        #expect(adult == 2)
        let index = reader.builder.build()
        #expect(index.matches(try RequestURL(parsing: "http://www.bet.example/")).map(\.source.category) == ["gambling"])
        #expect(index.matches(try RequestURL(parsing: "http://games.example/poker/table")).map(\.kind) == [.url])
        #expect(index.matches(try RequestURL(parsing: "http://example.org/XXX")).map(\.kind) == [.expression])
        let problems = reader.problems.kept.map { "\(($0.file as NSString).lastPathComponent):\($0.line): \($0.reason)" }
        #expect(problems == ["domains:2: a space is not allowed in a host name", "expressions:2: not a valid regular expression (Unmatched ( or \\()"])
    }

    @Test func aMissingFileIsAHardErrorNamingIt() {
        var reader = ListReader()
        #expect {
            try reader.read(.domains, path: "/nonexistent/list.txt", category: "x")
        } throws: { error in
            let error = error as? ListFileError
            return error?.path == "/nonexistent/list.txt" && error?.reason.contains("No such file") == true
        }
        #expect(throws: ListFileError.self) { try reader.read(.squidguard, path: "/nonexistent", category: "x") }
    }

    @Test func aFileWithoutATrailingNewlineKeepsItsLastLine() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("list", "first.example\r\nlast.example")
        var reader = ListReader()
        #expect(try reader.read(.domains, path: file, category: "x") == 2)
        #expect(try matched(reader.builder.build(), "last.example"))
    }

    @Test func linesLongerThanTheReadBlockAreKeptWhole() throws {
        let directory = try TemporaryDirectory()
        // 1.5 MiB of padding entries spans read blocks; the entry after it must still be found.
        let padding = (0..<100_000).map { "pad\($0).example" }.joined(separator: "\n")
        let file = try directory.write("list", padding + "\nlast-one.example\n")
        var reader = ListReader()
        #expect(try reader.read(.domains, path: file, category: "x") == 100_001)
        let index = reader.builder.build()
        #expect(try matched(index, "last-one.example"))
        #expect(try matched(index, "pad54321.example"))
    }

    @Test func onlyTheFirstProblemsOfAFileAreKeptButAllAreCounted() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("list", (0..<50).map { "bad entry \($0)" }.joined(separator: "\n"))
        var reader = ListReader()
        _ = try reader.read(.domains, path: file, category: "x")
        #expect(reader.problems.kept.count == ListProblems.keptPerFile)
        #expect(reader.problems.total == 50)
        #expect(reader.problems.report.last == "\(file): 30 more skipped lines not shown")
    }

    @Test func ut1AliasFilesAreFollowed() {
        let resolved = SquidGuardLayout.resolve(base: Fixtures.path("squidguard"), relative: "porn")
        #expect(resolved == Fixtures.path("squidguard/adult"))
        #expect(SquidGuardLayout.usage(ofFolder: resolved) == "black")
    }
}
