import Testing
@testable import SchoolgatePolicy

/// Builds an index from (category, format, entry) triples.
func makeIndex(_ entries: [(category: String, kind: String, entry: String)]) -> ListIndex {
    var builder = ListIndexBuilder()
    var sources: [String: UInt32] = [:]
    for (category, kind, entry) in entries {
        let key = "\(category)/\(kind)"
        let source = sources[key] ?? builder.addSource(ListSource(category: category, file: "\(category).\(kind)", format: kind))
        sources[key] = source
        switch kind {
        case "domains": #expect(builder.addDomain(entry, source: source) == nil)
        case "exceptions": #expect(builder.addDomain(entry, source: source, exception: true) == nil)
        case "urls": #expect(builder.addURL(entry, source: source) == nil)
        case "expressions": #expect(builder.addExpression(entry, source: source) == nil)
        default: Issue.record("unknown kind \(kind)")
        }
    }
    return builder.build()
}

func categories(_ index: ListIndex, _ url: String) throws -> Set<String> {
    Set(index.matches(try RequestURL(parsing: url)).map(\.source.category))
}

@Suite struct ListIndexTests {
    @Test func aDomainEntryCoversItsSubdomainsButNotLookalikes() throws {
        let index = makeIndex([("gambling", "domains", "bet365.com")])
        #expect(try categories(index, "http://bet365.com/") == ["gambling"])
        #expect(try categories(index, "http://www.bet365.com/") == ["gambling"])
        #expect(try categories(index, "http://a.b.c.bet365.com/") == ["gambling"])
        #expect(try categories(index, "http://BET365.COM./") == ["gambling"])
        #expect(try categories(index, "http://notbet365.com/").isEmpty)
        #expect(try categories(index, "http://bet365.com.evil.example/").isEmpty)
        #expect(try categories(index, "http://com/").isEmpty)
    }

    @Test func theMatchedEntryIsReported() throws {
        let index = makeIndex([("gambling", "domains", "bet365.com")])
        let match = try #require(index.matches(try RequestURL(parsing: "http://www.bet365.com/x")).first)
        #expect(match.entry == "bet365.com")
        #expect(match.kind == .domain)
        #expect(match.source.file == "gambling.domains")
    }

    @Test func ipEntriesMatchOnlyTheWholeAddressInAnyNotation() throws {
        let index = makeIndex([("malware", "domains", "178.128.25.172")])
        #expect(try categories(index, "http://178.128.25.172/") == ["malware"])
        #expect(try categories(index, "http://2994739628/") == ["malware"])
        #expect(try categories(index, "http://0xb2.0x80.0x19.0xac/") == ["malware"])
        #expect(try categories(index, "http://128.25.172/").isEmpty)
        #expect(try categories(index, "http://1.178.128.25.172.example/").isEmpty)
    }

    @Test func internationalEntriesMatchEitherSpelling() throws {
        let index = makeIndex([("shop", "domains", "bücher.example")])
        #expect(try categories(index, "http://xn--bcher-kva.example/") == ["shop"])
        #expect(try categories(index, "http://www.BÜCHER.example/") == ["shop"])
    }

    @Test func urlEntriesMatchOnSegmentBoundaries() throws {
        let index = makeIndex([("adult", "urls", "example.com/watch")])
        #expect(try categories(index, "http://example.com/watch") == ["adult"])
        #expect(try categories(index, "http://example.com/watch/") == ["adult"])
        #expect(try categories(index, "http://example.com/watch/123") == ["adult"])
        #expect(try categories(index, "http://example.com/watch?v=1") == ["adult"])
        #expect(try categories(index, "http://www.example.com/Watch") == ["adult"])
        #expect(try categories(index, "http://example.com//watch") == ["adult"])
        #expect(try categories(index, "http://example.com/x/../watch") == ["adult"])
        #expect(try categories(index, "http://example.com/%77atch") == ["adult"])
        #expect(try categories(index, "http://example.com/watchdog").isEmpty)
        #expect(try categories(index, "http://example.com/").isEmpty)
        #expect(try categories(index, "http://example.com/other/watch").isEmpty)
    }

    @Test func aShortPrefixIsFoundEvenWhenALongerEntrySharesIt() throws {
        let index = makeIndex([
            ("adult", "urls", "example.com/a"),
            ("games", "urls", "example.com/a/b/c"),
        ])
        #expect(try categories(index, "http://example.com/a/b/c/d") == ["adult", "games"])
        #expect(try categories(index, "http://example.com/a/b") == ["adult"])
    }

    @Test func urlEntriesWithQueriesMatchAtParameterBoundaries() throws {
        let index = makeIndex([("video", "urls", "example.com/watch?v=abc")])
        #expect(try categories(index, "http://example.com/watch?v=abc") == ["video"])
        #expect(try categories(index, "http://example.com/watch?v=abc&t=10") == ["video"])
        #expect(try categories(index, "http://example.com/watch?v=abcd").isEmpty)
        #expect(try categories(index, "http://example.com/watch?v=xyz").isEmpty)
    }

    @Test func urlEntriesNeedAVisiblePath() throws {
        let index = makeIndex([("adult", "urls", "example.com/watch")])
        #expect(index.matches(host: try HostName("example.com"), path: nil).isEmpty)
    }

    @Test func aUrlEntryForAWholeSiteIsADomainEntry() throws {
        let index = makeIndex([("adult", "urls", "example.com/")])
        #expect(index.matches(host: try HostName("www.example.com"), path: nil).map(\.kind) == [.domain])
    }

    @Test func expressionsAreCaseInsensitiveOverHostAndPath() throws {
        let index = makeIndex([("adult", "expressions", "(porn|xxx)")])
        #expect(try categories(index, "http://example.com/XXX-video") == ["adult"])
        #expect(try categories(index, "https://PORN.example.com/") == ["adult"])
        #expect(try categories(index, "http://example.com/history").isEmpty)
    }

    @Test func exceptionsRemoveTheirCategory() throws {
        let index = makeIndex([
            ("ads", "domains", "example.com"),
            ("ads", "exceptions", "cdn.example.com"),
            ("tracking", "domains", "cdn.example.com"),
        ])
        #expect(try categories(index, "http://example.com/") == ["ads"])
        #expect(try categories(index, "http://img.cdn.example.com/") == ["tracking"])
    }

    @Test func anEntryInSeveralListsReportsEach() throws {
        let index = makeIndex([
            ("gambling", "domains", "example.com"),
            ("games", "domains", "example.com"),
            ("games", "domains", "example.com"),
        ])
        let matches = index.matches(try RequestURL(parsing: "http://example.com/"))
        #expect(matches.count == 2)
        #expect(Set(matches.map(\.source.category)) == ["gambling", "games"])
    }

    @Test func badEntriesAreRefusedWithAReason() {
        var builder = ListIndexBuilder()
        let source = builder.addSource(ListSource(category: "x", file: "x", format: "domains"))
        #expect(builder.addDomain("exa mple.com", source: source)?.reason.contains("not allowed") == true)
        #expect(builder.addURL("http://exa mple.com/x", source: source) != nil)
        #expect(builder.addExpression("(unclosed", source: source)?.hasPrefix("not a valid regular expression (Unmatched ( ") == true)
    }
}

@Suite struct FingerprintTableTests {
    @Test func findsEveryKeyInsertedAndNoOther() {
        var generator = SystemRandomNumberGenerator()
        var builder = FingerprintTable.Builder()
        var inserted: [UInt64: UInt32] = [:]
        for value in 0..<50_000 {
            let key = generator.next() as UInt64
            inserted[key] = UInt32(value)
            builder.insert(key, UInt32(value))
        }
        let table = builder.build { first, _ in first }
        #expect(table.count == inserted.count)
        for (key, value) in inserted { #expect(table.value(for: key) == value) }
        for _ in 0..<10_000 {
            let key = generator.next() as UInt64
            if inserted[key] == nil { #expect(table.value(for: key) == nil) }
        }
    }

    @Test func mergesDuplicateKeys() {
        var builder = FingerprintTable.Builder()
        builder.insert(42, 1)
        builder.insert(7, 5)
        builder.insert(42, 2)
        let table = builder.build { $0 + $1 }
        #expect(table.count == 2)
        #expect(table.value(for: 42) == 3)
        #expect(table.value(for: 7) == 5)
    }

    @Test func anEmptyTableFindsNothing() {
        var builder = FingerprintTable.Builder()
        #expect(builder.build { a, _ in a }.value(for: 1) == nil)
        #expect(FingerprintTable.empty.value(for: 0) == nil)
    }
}
