import Crypto
import CryptoExtras
import Foundation

/// A salted, deliberately slow password hash: scrypt (RFC 7914) from swift-crypto, written as
/// `$scrypt$ln=14,r=8,p=1$SALT$HASH` (base64) so the cost can rise later without breaking old lines.
public struct PasswordHash: Sendable, Equatable, CustomStringConvertible {
    public var logRounds: Int
    public var blockSize: Int
    public var parallelism: Int
    public var salt: [UInt8]
    public var hash: [UInt8]

    /// 2^14 rounds with r = 8 use 16 MiB and about 50 ms: slow for a guesser, fine for a login
    /// that is then cached.
    public static let defaultLogRounds = 14

    public static func make(password: String, logRounds: Int = defaultLogRounds) throws -> PasswordHash {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = generator.next() }
        let hash = try derive(password, salt: salt, logRounds: logRounds, blockSize: 8, parallelism: 1)
        return PasswordHash(logRounds: logRounds, blockSize: 8, parallelism: 1, salt: salt, hash: hash)
    }

    public init(logRounds: Int, blockSize: Int, parallelism: Int, salt: [UInt8], hash: [UInt8]) {
        self.logRounds = logRounds
        self.blockSize = blockSize
        self.parallelism = parallelism
        self.salt = salt
        self.hash = hash
    }

    /// Parses the stored form; nil for anything else (a plain or unknown hash is never accepted).
    public init?(encoded: String) {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt" else { return nil }
        var parameters: [String: Int] = [:]
        for pair in parts[2].split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let value = Int(kv[1]) else { return nil }
            parameters[String(kv[0])] = value
        }
        guard let ln = parameters["ln"], (10...20).contains(ln), let r = parameters["r"], (1...32).contains(r),
              let p = parameters["p"], (1...16).contains(p),
              let salt = Data(base64Encoded: String(parts[3])), salt.count >= 8,
              let hash = Data(base64Encoded: String(parts[4])), hash.count >= 16 else { return nil }
        self.init(logRounds: ln, blockSize: r, parallelism: p, salt: Array(salt), hash: Array(hash))
    }

    public var description: String {
        "$scrypt$ln=\(logRounds),r=\(blockSize),p=\(parallelism)$\(Data(salt).base64EncodedString())$\(Data(hash).base64EncodedString())"
    }

    /// Slow by design: call it off the event loop.
    public func verify(_ password: String) -> Bool {
        guard let candidate = try? Self.derive(password, salt: salt, logRounds: logRounds, blockSize: blockSize, parallelism: parallelism) else {
            return false
        }
        // Compared in constant time, so timing tells a guesser nothing about how close they were.
        guard candidate.count == hash.count else { return false }
        return zip(candidate, hash).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func derive(_ password: String, salt: [UInt8], logRounds: Int, blockSize: Int, parallelism: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: 32,
                                           rounds: 1 << logRounds, blockSize: blockSize, parallelism: parallelism)
        return key.withUnsafeBytes { Array($0) }
    }
}
