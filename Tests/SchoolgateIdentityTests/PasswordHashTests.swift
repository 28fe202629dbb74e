import Foundation
import Testing
@testable import SchoolgateIdentity

struct PasswordHashTests {
    @Test func verifiesTheRightPasswordOnlyAndSaltsEachHash() throws {
        let hash = try PasswordHash.make(password: "correct horse", logRounds: 10)
        #expect(hash.verify("correct horse"))
        #expect(!hash.verify("correct horsE"))
        #expect(!hash.verify(""))
        let again = try PasswordHash.make(password: "correct horse", logRounds: 10)
        #expect(again.salt != hash.salt && again.hash != hash.hash)
    }

    @Test func roundTripsThroughItsStoredFormAndRefusesOtherForms() throws {
        let hash = try PasswordHash.make(password: "pässwörd ✓", logRounds: 10)
        let text = hash.description
        #expect(text.hasPrefix("$scrypt$ln=10,r=8,p=1$"))
        let parsed = try #require(PasswordHash(encoded: text))
        #expect(parsed == hash && parsed.verify("pässwörd ✓"))
        #expect(PasswordHash(encoded: "5f4dcc3b5aa765d61d8327deb882cf99") == nil, "a plain MD5 is never a hash we accept")
        #expect(PasswordHash(encoded: "$apr1$abc$def") == nil)
        #expect(PasswordHash(encoded: "$scrypt$ln=2,r=8,p=1$c2FsdHNhbHQ=$" + String(repeating: "A", count: 44)) == nil, "too cheap a cost")
    }

    @Test func matchesTheRFC7914TestVector() throws {
        // RFC 7914 §12: P="password", S="NaCl", N=1024, r=8, p=16, first 32 bytes of the 64.
        let derived = try PasswordHash.derive("password", salt: Array("NaCl".utf8), logRounds: 10, blockSize: 8, parallelism: 16)
        #expect(derived.map { String(format: "%02x", $0) }.joined() == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162")
    }
}

struct UsersFileTests {
    @Test func savesOwnerOnlyAndReadsBack() throws {
        let path = NSTemporaryDirectory() + "users-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        var users = UsersFile()
        users.set("JSmith", hash: try PasswordHash.make(password: "one two three", logRounds: 10))
        users.set("head@example.sch.uk", hash: try PasswordHash.make(password: "four five six", logRounds: 10))
        try users.save(to: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let loaded = try UsersFile.load(path)
        #expect(loaded == users)
        #expect(loaded.hash(for: "jsmith")?.verify("one two three") == true, "names are case-insensitive")
        var removed = loaded
        #expect(removed.remove("JSMITH") && !removed.remove("nobody"))
        #expect(removed.users.map(\.name) == ["head@example.sch.uk"])
    }

    @Test func namesTheLineOfABadEntry() throws {
        let good = try PasswordHash.make(password: "password1", logRounds: 10).description
        func problem(_ text: String) -> String? {
            do {
                _ = try UsersFile.parse(text, file: "/etc/schoolgate/users")
                return nil
            } catch {
                return error.description
            }
        }
        #expect(problem("# users\nada:\(good)\n") == nil)
        #expect(problem("# users\nada\n") == "/etc/schoolgate/users:2: expected NAME:HASH")
        #expect(problem("ada:5f4dcc3b5aa765d61d8327deb882cf99\n")?.hasPrefix("/etc/schoolgate/users:1: the hash for 'ada' is not a $scrypt$ hash") == true)
        #expect(problem("ada:\(good)\nADA:\(good)\n") == "/etc/schoolgate/users:2: user 'ADA' appears twice")
        #expect(problem("a d a:\(good)\n")?.contains(":1: user names use") == true)
        #expect(try UsersFile.load("/nonexistent/users").users.isEmpty, "a missing file is an empty one")
    }
}
