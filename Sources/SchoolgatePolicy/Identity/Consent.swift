import Foundation

/// A guest's agreement to the acceptable-use terms, as the school keeps it.
public struct ConsentRecord: Sendable, Equatable, Codable {
    public var id: Int64?
    /// The client address the guest agreed from: the address the proxy later sees.
    public var client: String
    /// The device's hardware address from the router's neighbour table, where it was known.
    public var mac: String?
    /// A name the guest chose to give; never verified, so shown as given.
    public var name: String?
    public var termsVersion: String
    public var consentedAt: Date
    public var revokedAt: Date?

    public init(id: Int64? = nil, client: String, mac: String? = nil, name: String? = nil, termsVersion: String, consentedAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.client = client
        self.mac = mac
        self.name = name
        self.termsVersion = termsVersion
        self.consentedAt = consentedAt
        self.revokedAt = revokedAt
    }
}

/// The acceptable-use terms in force, and how long an agreement to them lasts.
public struct ConsentTerms: Sendable, Equatable {
    public var version: String
    public var text: String
    /// A session ends after this long without a request.
    public var idleLimit: TimeInterval
    /// And after this long whatever happens: guests agree again each day.
    public var sessionLimit: TimeInterval

    public init(version: String, text: String, idleLimit: TimeInterval = 2 * 3_600, sessionLimit: TimeInterval = 12 * 3_600) {
        self.version = version
        self.text = text
        self.idleLimit = idleLimit
        self.sessionLimit = sessionLimit
    }

    /// Why a guest must (again) see the terms, or how long their session has left.
    public enum Standing: Sendable, Equatable {
        case active(secondsRemaining: Int)
        case none
        case revoked
        case newTerms
        case idleExpired
        case sessionExpired

        public var isActive: Bool { if case .active = self { true } else { false } }
    }

    /// The standing of an agreement last used at `lastSeen`, judged at `now`.
    public func standing(of record: ConsentRecord?, lastSeen: Date?, at now: Date) -> Standing {
        guard let record else { return .none }
        if record.revokedAt != nil { return .revoked }
        if record.termsVersion != version { return .newTerms }
        let end = record.consentedAt.addingTimeInterval(sessionLimit)
        if now >= end { return .sessionExpired }
        if now.timeIntervalSince(lastSeen ?? record.consentedAt) >= idleLimit { return .idleExpired }
        return .active(secondsRemaining: Int(end.timeIntervalSince(now).rounded(.down)))
    }
}
