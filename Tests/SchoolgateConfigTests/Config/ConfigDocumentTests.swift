import Testing
@testable import SchoolgateConfig

@Suite struct ConfigDocumentTests {
    @Test func readsSectionsSettingsCommentsAndContinuations() throws {
        let document = try ConfigDocument(file: "a.conf", text: """
            # comment
            [school]
            name = Example Academy   # trailing comment
            [group pupils]
            block = a, b,
                c, d
            url = http://example.com/#anchor
            """)
        #expect(document.sections.map(\.title) == ["[school]", "[group pupils]"])
        #expect(document.sections[0].entries[0].value == "Example Academy")
        #expect(document.sections[1].entries[0].value == "a, b, c, d")
        #expect(document.sections[1].entries[0].line == 5)
        #expect(document.sections[1].entries[1].value == "http://example.com/#anchor")
    }

    @Test func reportsEverySyntaxProblemWithItsLine() {
        #expect {
            _ = try ConfigDocument(file: "a.conf", text: """
                name = outside
                [school
                just words
                [school]
                = value
                [a b c]
                """)
        } throws: { error in
            let problems = (error as? ConfigErrors)?.problems.map(\.description) ?? []
            return problems == [
                "a.conf:1: name: setting outside any [section]",
                "a.conf:2: section header must end with ']'",
                "a.conf:3: expected 'key = value' or a [section] header",
                "a.conf:5: setting with no name before '='",
                "a.conf:6: section header must be [kind] or [kind name]",
            ]
        }
    }
}
