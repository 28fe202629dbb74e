import Foundation
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
        (#"shop\d+cart"#, "shop"),
        ("poker|casino", nil),
        // Escapes that take the characters after them, quoting and inline flags: no prefilter.
        (#"\x41bcdef"#, nil),
        (#"casino\u0041royal"#, nil),
        (#"\cMabcdef"#, nil),
        (#"\Qa.b\Edefgh"#, nil),
        ("(?x)ab cd ef", nil),
        ("(?#note)abcdef", nil),
        ("(?:ab)cdef", "cdef"),
        ("ab", nil),
    ] as [(String, String?)])
    func findsTheTextEveryMatchMustContain(pattern: String, required: String?) {
        #expect(ListExpression.requiredLiteral(of: pattern).map { String(decoding: $0, as: UTF8.self) } == required)
    }

    /// Whatever the prefilter decides, the answer is the expression's own.
    @Test func neverHidesAMatch() throws {
        let patterns = [#"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/search\?q=[0-9]+$"#, #".*/ymsgr*\.exe"#, "Casino-?Royal", "abcd*efgh",
                        #"shop\d+cart"#, "(/banner/|/sponsor/)", "x[ab]+yz{1,3}w", #"/\x41bcd"#, "(?x)/a b c d"]
        let subjects = ["1.2.3.4/search?q=42", "1.2.3.4/search?q=x", "example.com/ymsg.exe", "example.com/ymsgrrr.exe",
                        "casino.example/casinoroyal", "casino.example/casino-royal", "casino.example/CASINO-ROYAL", "a.example/abcefgh",
                        "a.example/abcddddefgh", "shop.example/shop12cart", "shop.example/shopcart", "ads.example/x/banner/1",
                        "x.example/xabyzzw", "x.example/xyzw", "x.example/abcd", "example.com/", ""]
        var matched = 0
        for pattern in patterns {
            let expression = try ListExpression(source: 0, pattern: pattern)
            let regex = try NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
            for subject in subjects {
                let expected = regex.firstMatch(in: subject, range: NSRange(subject.startIndex..., in: subject)) != nil
                #expect(expression.matches(subject) == expected, "\(pattern) on \(subject)")
                if expected { matched += 1 }
            }
        }
        #expect(matched >= 10, "the subjects include real matches")
    }
}
