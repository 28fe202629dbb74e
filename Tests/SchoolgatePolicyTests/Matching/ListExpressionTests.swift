import Testing
@testable import SchoolgatePolicy

struct ListExpressionTests {
    @Test(arguments: [
        // UT1's own expressions.
        (#"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/search\?q=[0-9]+$"#, "/search?q="),
        (#"(/banner/|/sponsor/|/event.ng/|/Advertisement/|adverts/)"#, nil),
        (#".*/ymsgr*\.exe"#, "/ymsg"),
        (#"((google\..*/search.q=cache)|(images.google.[a-z]+/images.q=tbn))"#, nil),
        // Optional characters leave the run; case is folded.
        ("Casino-?Royal", "casino"),
        ("abcd*efgh", "efgh"),
        ("abcde{0,2}fg", "abcd"),
        ("poker|casino", nil),
        // glibc's word and position escapes are not the character after the backslash.
        (#"\<casino\>"#, "casino"),
        (#"poker\wcasino"#, "casino"),
        // Letters whose escapes mean different things in other dialects (`\d` is a digit to ICU,
        // not to glibc), back-references and the rest: no prefilter.
        (#"shop\d+cart"#, nil),
        (#"\x41bcdef"#, nil),
        (#"casino\u0041royal"#, nil),
        (#"(ab)\1cdef"#, nil),
        // Bracket expressions by POSIX's rules: a backslash in one is a backslash, a `]` first in
        // one is one of its characters; `[:digit:]` and its kind stop the prefilter.
        (#"ab[]x]cdefg"#, "cdefg"),
        (#"[\]a|bcd]xyz"#, nil),
        ("[[:digit:]]+abcdef", nil),
        ("(ab)cdef", "cdef"),
        ("ab", nil),
    ] as [(String, String?)])
    func findsTheTextEveryMatchMustContain(pattern: String, required: String?) {
        #expect(ListExpression.requiredLiteral(of: pattern).map { String(decoding: $0, as: UTF8.self) } == required)
    }

    /// Whatever the prefilter decides, the answer is the expression's own.
    @Test func neverHidesAMatch() throws {
        let patterns = [#"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/search\?q=[0-9]+$"#, #".*/ymsgr*\.exe"#, "Casino-?Royal", "abcd*efgh",
                        #"shop\d+cart"#, "(/banner/|/sponsor/)", "x[ab]+yz{1,3}w", #"/\x41bcd"#, #"\<casino\>"#,
                        "[[:digit:]]+abcdef", #"[\]a|bcd]xyz"#, "ab[]x]cdefg"]
        let subjects = ["1.2.3.4/search?q=42", "1.2.3.4/search?q=x", "example.com/ymsg.exe", "example.com/ymsgrrr.exe",
                        "casino.example/casinoroyal", "casino.example/casino-royal", "casino.example/CASINO-ROYAL", "a.example/abcefgh",
                        "a.example/abcddddefgh", "shop.example/shop12cart", "shop.example/shopddcart", "ads.example/x/banner/1",
                        "x.example/xabyzzw", "x.example/xyzw", "x.example/x41bcd", "casino.example/", "mycasino.example/",
                        "x.example/7abcdef", #"x.example/\a"#, "x.example/bcd]xyz", "x.example/ab]cdefg", "example.com/", ""]
        var matched = 0
        for pattern in patterns {
            let expression = try ListExpression(source: 0, pattern: pattern)
            let unfiltered = try PosixExpression(pattern)
            for subject in subjects {
                let expected = unfiltered.matches(subject)
                #expect(expression.matches(subject) == expected, "\(pattern) on \(subject)")
                if expected { matched += 1 }
            }
        }
        #expect(matched >= 15, "the subjects include real matches")
    }

    /// squidGuard's dialect, not ICU's or PCRE's: what UT1's lines were written for.
    @Test func readsExpressionsAsSquidGuardDoes() throws {
        let casino = try PosixExpression(#"\<casino\>"#)
        #expect(casino.matches("casino.example/"))
        #expect(casino.matches("example.com/CASINO/x"), "case is ignored")
        #expect(!casino.matches("mycasino.example/"))
        #expect(try !PosixExpression(#"shop\d+cart"#).matches("shop.example/shop12cart"), "\\d is not a digit to glibc")
        #expect(try PosixExpression("[[:digit:]]{3}/win").matches("lottery.example/123/win"))
    }

    @Test(arguments: [("(unclosed", "Unmatched ( or \\("), ("(?i)casino", "Invalid preceding regular expression"),
                       ("a{2,1}", "Invalid content of \\{\\}"), ("[z-a]", "Invalid range end")])
    func refusesWhatIsNotAPosixExpressionAndSaysWhy(pattern: String, words: String) {
        let error = #expect(throws: PosixExpression.Invalid.self) { try PosixExpression(pattern) }
        #expect(error?.description == words, "regerror's words for \(pattern)")
    }
}
