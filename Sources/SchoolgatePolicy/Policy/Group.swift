/// What a group may do: the per-group half of the policy.
public struct Group: Sendable, Equatable {
    public enum IdentityRequirement: String, Sendable, Codable {
        case none
        /// Browsing waits for proxy authentication (staff, older pupils on managed devices).
        case authentication
        /// Browsing waits for agreement to the acceptable-use terms (guests).
        case consent
    }

    public var name: String
    public var members: GroupMembers
    /// Categories refused, with the config line that said so.
    public var blocked: [String: ConfigLocation?]
    /// Categories that raise an incident for the DSL, whether or not they are also blocked.
    public var flagged: [String: Severity]
    /// Exception categories: a name listed in one of these is allowed even when a blocked category also lists it.
    public var allowed: [String]
    /// Allow-list only: anything not in `allowed` (or allowed by a time rule) is refused.
    public var walledGarden: Bool
    public var timeRules: [TimeRule]
    public var requires: IdentityRequirement
    public var safeSearch: SafeSearchLevel
    public var location: ConfigLocation?

    public init(
        name: String, members: GroupMembers = GroupMembers(), blocked: [String: ConfigLocation?] = [:],
        flagged: [String: Severity] = [:], allowed: [String] = [], walledGarden: Bool = false,
        timeRules: [TimeRule] = [], requires: IdentityRequirement = .none, safeSearch: SafeSearchLevel = .off,
        location: ConfigLocation? = nil
    ) {
        self.name = name
        self.members = members
        self.blocked = blocked
        self.flagged = flagged
        self.allowed = allowed
        self.walledGarden = walledGarden
        self.timeRules = timeRules
        self.requires = requires
        self.safeSearch = safeSearch
        self.location = location
    }
}

public struct GroupMembers: Sendable, Equatable {
    /// Lower-cased user names.
    public var users: Set<String>
    /// Lower-cased directory (LDAP / AD) group names.
    public var directoryGroups: Set<String>
    public var addressRanges: [AddressRange]

    public init(users: Set<String> = [], directoryGroups: Set<String> = [], addressRanges: [AddressRange] = []) {
        self.users = users
        self.directoryGroups = directoryGroups
        self.addressRanges = addressRanges
    }
}

/// Who is asking, as far as the proxy knows.
public struct Identity: Sendable, Equatable {
    public var user: String?
    public var directoryGroups: [String]
    public var clientAddress: String?

    public init(user: String? = nil, directoryGroups: [String] = [], clientAddress: String? = nil) {
        self.user = user
        self.directoryGroups = directoryGroups
        self.clientAddress = clientAddress
    }
}

/// A CIDR range, IPv4 or IPv6.
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]
    public let prefixLength: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let address = Self.parseAddress(first) else { return nil }
        let maxLength = address.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maxLength).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = maxLength
        }
        bytes = address
    }

    public func contains(_ address: [UInt8]) -> Bool {
        guard address.count == bytes.count else { return false }
        var remaining = prefixLength
        for index in bytes.indices where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if address[index] & mask != bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// An IPv4 address as a number: every request from a school's IPv4 network is placed in its
    /// group this way, without building an array for the address.
    public func contains(ipv4 address: UInt32) -> Bool {
        guard bytes.count == 4 else { return false }
        let network = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        let mask: UInt32 = prefixLength == 0 ? 0 : ~0 << UInt32(32 - prefixLength)
        return address & mask == network & mask
    }

    /// 4 bytes for IPv4 (and IPv4-mapped IPv6), 16 for IPv6.
    public static func parseAddress(_ text: some StringProtocol) -> [UInt8]? {
        if let v4 = IPv4.parseDottedStrict(Substring(text)) {
            return [UInt8(v4 >> 24), UInt8((v4 >> 16) & 0xff), UInt8((v4 >> 8) & 0xff), UInt8(v4 & 0xff)]
        }
        var inner = Substring(text)
        if inner.first == "[", inner.last == "]" { inner = inner.dropFirst().dropLast() }
        guard let v6 = IPv6.parse(inner) else { return nil }
        if let v4 = IPv6.mappedIPv4(v6) {
            return [UInt8(v4 >> 24), UInt8((v4 >> 16) & 0xff), UInt8((v4 >> 8) & 0xff), UInt8(v4 & 0xff)]
        }
        return v6
    }

    public var description: String {
        let address = bytes.count == 4 ? bytes.map(String.init).joined(separator: ".") : IPv6.format(bytes)
        return "\(address)/\(prefixLength)"
    }
}
