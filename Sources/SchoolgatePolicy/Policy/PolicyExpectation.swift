/// One line of a school's policy test file: something the filter must (or must not) do,
/// checked against the live policy after every change.
///
///     pupils-ks2 must not reach https://www.bet365.com/
///     staff at fri 12:30 must reach https://www.facebook.com/
///     guests must see the consent page for http://example.com/
///     staff must sign in for http://example.com/
///     pupils-ks3 as j.bloggs must reach https://www.bbc.co.uk/bitesize
public struct PolicyExpectation: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case reach = "reach"
        case notReach = "not reach"
        case consentPage = "see the consent page for"
        case signIn = "sign in for"
    }

    public var group: String
    public var user: String?
    public var time: LocalTime?
    public var outcome: Outcome
    public var url: RequestURL
    public var line: Int

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    static let grammar = "expected 'GROUP [as USER] [at DAY HH:MM] must reach|must not reach|must see the consent page for|must sign in for URL'"

    public init(parsing text: String, line: Int) throws(ParseError) {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard words.count >= 4, let must = words.firstIndex(where: { $0.lowercased() == "must" }), must >= 1 else {
            throw ParseError(line: line, message: Self.grammar)
        }
        self.line = line
        group = words[0]
        var index = 1
        while index < must {
            switch words[index].lowercased() {
            case "as" where index + 1 < must:
                user = words[index + 1]
                index += 2
            case "at" where index + 2 < must:
                guard let day = Weekday(abbreviation: words[index + 1]), let minute = Self.minuteOfDay(words[index + 2]) else {
                    throw ParseError(line: line, message: "'at \(words[index + 1]) \(words[index + 2])': expected a day and a time, e.g. 'at fri 12:30'")
                }
                time = LocalTime(weekday: day, minuteOfDay: minute)
                index += 3
            default:
                throw ParseError(line: line, message: "'\(words[index])' is not understood here; " + Self.grammar)
            }
        }
        let rest = words[(must + 1)...]
        guard let urlText = rest.last, rest.count >= 2 else { throw ParseError(line: line, message: Self.grammar) }
        let phrase = rest.dropLast().joined(separator: " ").lowercased()
        guard let outcome = Outcome(rawValue: phrase) else {
            throw ParseError(line: line, message: "'must \(phrase)' is not one of: must reach, must not reach, must see the consent page for, must sign in for")
        }
        self.outcome = outcome
        do {
            url = try RequestURL(parsing: urlText)
        } catch {
            throw ParseError(line: line, message: "'\(urlText)' is not a URL: \(error.reason)")
        }
    }

    static func minuteOfDay(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute) else { return nil }
        return hour * 60 + minute
    }

    /// Checks the expectation: a guest or a device that has not signed in is asked about as
    /// such, so "must see the consent page" and "must sign in" test the identity rules too.
    public func check(_ policy: Policy, defaultTime: LocalTime) -> (passed: Bool, decision: Decision) {
        var request = PolicyRequest(url: url, group: group, user: user, time: time ?? defaultTime)
        request.hasConsented = outcome != .consentPage
        request.isAuthenticated = outcome != .signIn
        let decision = policy.decide(request)
        let passed: Bool
        switch outcome {
        case .reach: passed = decision.verdict == .allow || decision.verdict == .flag
        case .notReach: passed = decision.verdict == .block
        case .consentPage: passed = decision.verdict == .needsConsent
        case .signIn: passed = decision.verdict == .needsAuthentication
        }
        return (passed, decision)
    }
}
