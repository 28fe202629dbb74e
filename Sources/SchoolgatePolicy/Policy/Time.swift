import Foundation

public enum Weekday: Int, Sendable, Codable, CaseIterable, Comparable {
    case monday = 1, tuesday, wednesday, thursday, friday, saturday, sunday

    public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.rawValue < rhs.rawValue }

    public init?(abbreviation: some StringProtocol) {
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        guard let index = names.firstIndex(of: abbreviation.lowercased().prefix(3).description),
              abbreviation.count >= 3 else { return nil }
        self.init(rawValue: index + 1)
    }

    public var abbreviation: String { ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][rawValue - 1] }
}

/// Wall-clock time in the school's time zone: all that time rules look at.
public struct LocalTime: Sendable, Equatable, Codable, CustomStringConvertible {
    public var weekday: Weekday
    /// Minutes since local midnight, 0..<1440.
    public var minuteOfDay: Int

    public init(weekday: Weekday, minuteOfDay: Int) {
        self.weekday = weekday
        self.minuteOfDay = minuteOfDay
    }

    public init(weekday: Weekday, hour: Int, minute: Int) {
        self.init(weekday: weekday, minuteOfDay: hour * 60 + minute)
    }

    public var description: String {
        "\(weekday.abbreviation) \(TimeWindow.format(minuteOfDay))"
    }

    private enum CodingKeys: String, CodingKey { case weekday, time }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(weekday.abbreviation, forKey: .weekday)
        try container.encode(TimeWindow.format(minuteOfDay), forKey: .time)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let day = try container.decode(String.self, forKey: .weekday)
        let time = try container.decode(String.self, forKey: .time).split(separator: ":").compactMap { Int($0) }
        guard let weekday = Weekday(abbreviation: day), time.count == 2 else {
            throw DecodingError.dataCorruptedError(forKey: .weekday, in: container, debugDescription: "expected weekday 'mon' and time 'HH:MM'")
        }
        self.init(weekday: weekday, hour: time[0], minute: time[1])
    }
}

/// Converts instants to the school's local time. The clock itself stays outside the policy:
/// callers pass the instant in.
public struct SchoolCalendar: Sendable {
    public let timeZone: TimeZone
    private let calendar: Calendar

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    public func localTime(at instant: Date) -> LocalTime {
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: instant)
        // Foundation counts Sunday as 1.
        let weekday = Weekday(rawValue: ((parts.weekday ?? 2) + 5) % 7 + 1) ?? .monday
        return LocalTime(weekday: weekday, minuteOfDay: (parts.hour ?? 0) * 60 + (parts.minute ?? 0))
    }
}

/// `12:15-13:00`: from the start minute (included) to the end minute (excluded), within a day.
public struct TimeWindow: Sendable, Equatable, Codable {
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    public func contains(_ minute: Int) -> Bool { minute >= start && minute < end }

    public static func format(_ minute: Int) -> String {
        let hours = minute / 60, minutes = minute % 60
        return (hours < 10 ? "0" : "") + "\(hours):" + (minutes < 10 ? "0" : "") + "\(minutes)"
    }
}

public struct TimeRule: Sendable, Equatable {
    public enum Action: String, Sendable, Codable { case allow, block }
    public var action: Action
    public var categories: [String]
    public var days: Set<Weekday>
    public var windows: [TimeWindow]
    public var location: ConfigLocation?

    public init(action: Action, categories: [String], days: Set<Weekday>, windows: [TimeWindow], location: ConfigLocation? = nil) {
        self.action = action
        self.categories = categories
        self.days = days
        self.windows = windows
        self.location = location
    }

    public func applies(at time: LocalTime) -> Bool {
        days.contains(time.weekday) && windows.contains { $0.contains(time.minuteOfDay) }
    }
}
