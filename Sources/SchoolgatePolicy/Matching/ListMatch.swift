/// One list file (or one part of it) that entries came from: the unit a decision names.
///
/// Its three strings live in one shared object: every match and decision carries a source, and
/// copying one was three retains and three releases, on every listed request.
public struct ListSource: Sendable, Hashable, Codable {
    private final class Storage: Sendable {
        let category: String
        let file: String
        let format: String

        init(category: String, file: String, format: String) {
            self.category = category
            self.file = file
            self.format = format
        }
    }

    private let storage: Storage
    public var category: String { storage.category }
    public var file: String { storage.file }
    public var format: String { storage.format }

    public init(category: String, file: String, format: String) {
        storage = Storage(category: category, file: file, format: format)
    }

    public static func == (a: ListSource, b: ListSource) -> Bool {
        a.storage === b.storage || (a.category == b.category && a.file == b.file && a.format == b.format)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(category)
        hasher.combine(file)
        hasher.combine(format)
    }

    private enum CodingKeys: String, CodingKey { case category, file, format }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(category: try container.decode(String.self, forKey: .category), file: try container.decode(String.self, forKey: .file),
                  format: try container.decode(String.self, forKey: .format))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(category, forKey: .category)
        try container.encode(file, forKey: .file)
        try container.encode(format, forKey: .format)
    }
}

public struct ListMatch: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case domain, url, expression }
    public var source: ListSource
    /// The entry as it stands in normalised form: a domain, `host/path`, or the regular expression.
    public var entry: String { String(entryText) }
    /// A domain match is a suffix of the request's host: held as a slice of it, since building a
    /// string of its own cost an allocation for every listed request.
    var entryText: Substring
    public var kind: Kind

    public init(source: ListSource, entry: String, kind: Kind) {
        self.init(source: source, entryText: Substring(entry), kind: kind)
    }

    init(source: ListSource, entryText: Substring, kind: Kind) {
        self.source = source
        self.entryText = entryText
        self.kind = kind
    }

    public static func == (a: ListMatch, b: ListMatch) -> Bool {
        a.source == b.source && a.entryText == b.entryText && a.kind == b.kind
    }

    private enum CodingKeys: String, CodingKey { case source, entry, kind }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(source: try container.decode(ListSource.self, forKey: .source), entry: try container.decode(String.self, forKey: .entry),
                  kind: try container.decode(Kind.self, forKey: .kind))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(source, forKey: .source)
        try container.encode(entry, forKey: .entry)
        try container.encode(kind, forKey: .kind)
    }
}
