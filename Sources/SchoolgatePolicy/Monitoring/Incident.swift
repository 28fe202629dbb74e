import Foundation

/// A concern for the Designated Safeguarding Lead: repeated sightings of one user, site and
/// category within the fold window, gathered into one record.
public struct Incident: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case new, acknowledged, escalated, closed
    }

    public var id: Int64
    public var created: Date
    public var lastSeen: Date
    public var subject: String
    public var group: String
    public var client: String
    public var category: String
    public var severity: Severity
    public var site: String
    public var count: Int
    public var status: Status
    public var assignee: String?
    public var escalatedTo: String?
    public var outcome: String?
    public var notes: [Note]

    public struct Note: Sendable, Equatable, Codable {
        public var time: Date
        public var author: String
        public var text: String

        public init(time: Date, author: String, text: String) {
            self.time = time
            self.author = author
            self.text = text
        }
    }

    public init(id: Int64, created: Date, lastSeen: Date, subject: String, group: String, client: String, category: String,
                severity: Severity, site: String, count: Int, status: Status, assignee: String? = nil,
                escalatedTo: String? = nil, outcome: String? = nil, notes: [Note] = []) {
        self.id = id
        self.created = created
        self.lastSeen = lastSeen
        self.subject = subject
        self.group = group
        self.client = client
        self.category = category
        self.severity = severity
        self.site = site
        self.count = count
        self.status = status
        self.assignee = assignee
        self.escalatedTo = escalatedTo
        self.outcome = outcome
        self.notes = notes
    }
}

/// What the DSL can do to an incident.
public enum IncidentAction: Sendable, Equatable {
    case acknowledge
    case assign(to: String)
    case note(String)
    case escalate(to: String)
    case close(outcome: String)

    public var name: String {
        switch self {
        case .acknowledge: "acknowledge"
        case .assign: "assign"
        case .note: "note"
        case .escalate: "escalate"
        case .close: "close"
        }
    }

    /// The incident after the action, or why the action is not allowed. Pure, so the rules of
    /// the workflow are the same whichever store holds the incident.
    public func apply(to incident: Incident, by actor: String, at time: Date) -> Result<Incident, IncidentActionError> {
        var updated = incident
        if incident.status == .closed {
            return .failure(IncidentActionError("incident \(incident.id) is closed; it cannot be changed (\(name))"))
        }
        switch self {
        case .acknowledge:
            guard incident.status == .new else {
                return .failure(IncidentActionError("incident \(incident.id) is \(incident.status.rawValue); only a new incident can be acknowledged"))
            }
            updated.status = .acknowledged
        case .assign(let person):
            guard !person.trimmingCharacters(in: .whitespaces).isEmpty else { return .failure(IncidentActionError("assign needs a person")) }
            updated.assignee = person
        case .note(let text):
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { return .failure(IncidentActionError("a note needs some text")) }
            updated.notes.append(Incident.Note(time: time, author: actor, text: text))
        case .escalate(let target):
            guard !target.trimmingCharacters(in: .whitespaces).isEmpty else { return .failure(IncidentActionError("escalate needs to say to whom")) }
            guard incident.status != .escalated else {
                return .failure(IncidentActionError("incident \(incident.id) is already escalated (to \(incident.escalatedTo ?? "?"))"))
            }
            updated.status = .escalated
            updated.escalatedTo = target
        case .close(let outcome):
            guard !outcome.trimmingCharacters(in: .whitespaces).isEmpty else { return .failure(IncidentActionError("closing needs an outcome")) }
            updated.status = .closed
            updated.outcome = outcome
        }
        return .success(updated)
    }
}

public struct IncidentActionError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Who did what, when: every view of browsing data and every change is written here.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var time: Date
    public var actor: String
    public var action: String
    public var detail: String

    public init(time: Date, actor: String, action: String, detail: String) {
        self.time = time
        self.actor = actor
        self.action = action
        self.detail = detail
    }
}

extension IncidentAction {
    /// The audit trail's line for an action on incident `id` (notes are not repeated there).
    public static func describe(_ action: IncidentAction, id: Int64) -> String {
        switch action {
        case .acknowledge: "incident \(id)"
        case .assign(let person): "incident \(id) to \(person)"
        case .note: "incident \(id): note added"
        case .escalate(let target): "incident \(id) to \(target)"
        case .close(let outcome): "incident \(id): \(outcome)"
        }
    }
}
