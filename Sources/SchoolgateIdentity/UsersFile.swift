import Foundation

/// The local users file: one `name:$scrypt$…` line per user, `#` comments. Managed by
/// `schoolgate users`, readable by the service user only.
public struct UsersFile: Sendable, Equatable {
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int?
        public var message: String
        public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
    }

    public struct Account: Sendable, Equatable {
        /// Lower-cased.
        public var name: String
        public var hash: PasswordHash
    }

    /// In file order.
    public private(set) var users: [Account]

    public init() { users = [] }

    /// Reads `path`; a missing file is an empty one (the first `users add` creates it).
    public static func load(_ path: String) throws(Problem) -> UsersFile {
        guard FileManager.default.fileExists(atPath: path) else { return UsersFile() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Problem(file: path, line: nil, message: "cannot be read (check its owner and permissions)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(Problem) -> UsersFile {
        var result = UsersFile()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else {
                throw Problem(file: file, line: index + 1, message: "expected NAME:HASH")
            }
            let name = String(line[..<colon])
            guard isValidName(name) else {
                throw Problem(file: file, line: index + 1, message: "user names use letters, digits, '.', '-', '_' and '@'")
            }
            guard let hash = PasswordHash(encoded: String(line[line.index(after: colon)...])) else {
                throw Problem(file: file, line: index + 1, message: "the hash for '\(name)' is not a $scrypt$ hash (set it again with `schoolgate users passwd \(name)`)")
            }
            guard result.hash(for: name) == nil else {
                throw Problem(file: file, line: index + 1, message: "user '\(name)' appears twice")
            }
            result.users.append(Account(name: name.lowercased(), hash: hash))
        }
        return result
    }

    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-_@".contains($0)) }
    }

    public func hash(for name: String) -> PasswordHash? {
        let key = name.lowercased()
        return users.first { $0.name == key }?.hash
    }

    public mutating func set(_ name: String, hash: PasswordHash) {
        let key = name.lowercased()
        if let index = users.firstIndex(where: { $0.name == key }) { users[index].hash = hash } else { users.append(Account(name: key, hash: hash)) }
    }

    @discardableResult
    public mutating func remove(_ name: String) -> Bool {
        let key = name.lowercased()
        let before = users.count
        users.removeAll { $0.name == key }
        return users.count != before
    }

    public var text: String {
        "# Schoolgate proxy users: managed by `schoolgate users`; hashes are scrypt.\n"
            + users.map { "\($0.name):\($0.hash)\n" }.joined()
    }

    /// Writes a new file beside the old and renames it over, owner-only, so a crash mid-write
    /// never leaves half a users file.
    public func save(to path: String) throws {
        let temporary = path + ".new"
        let created = FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        guard created else { throw Problem(file: temporary, line: nil, message: "cannot be written") }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: temporary)
        // Run as root (sudo), the new file keeps the old one's owner: the service must still read it.
        var old = stat()
        if stat(path, &old) == 0 { _ = chown(temporary, old.st_uid, old.st_gid) }
        guard rename(temporary, path) == 0 else {
            throw Problem(file: path, line: nil, message: "cannot be replaced: \(String(cString: strerror(errno)))")
        }
    }
}
