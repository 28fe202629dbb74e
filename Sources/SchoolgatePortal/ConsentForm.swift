import Crypto
import Foundation

/// The accept form's anti-forgery token: an HMAC over the client address and the time the form
/// was served, under a key that lives only in this process. A page elsewhere cannot make a
/// guest's browser agree on their behalf, and a token copied to another device is refused.
struct FormToken: Sendable {
    private let key: SymmetricKey
    static let lifetime: TimeInterval = 3_600

    init(key: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.key = key
    }

    func issue(for client: String, at time: Date) -> String {
        let issued = Int(time.timeIntervalSince1970)
        return "\(issued).\(mac(client, issued))"
    }

    func isValid(_ token: String, for client: String, at time: Date) -> Bool {
        let parts = token.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let issued = Int(parts[0]) else { return false }
        let age = time.timeIntervalSince1970 - Double(issued)
        guard age >= -60, age <= Self.lifetime else { return false }
        let expected = Array(mac(client, issued).utf8)
        let given = Array(parts[1].utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func mac(_ client: String, _ issued: Int) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(client)|\(issued)".utf8), using: key)
        return code.map { String(format: "%02x", $0) }.joined()
    }
}

/// `application/x-www-form-urlencoded`, as browsers send it.
enum FormBody {
    static func decode(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = kv.first.flatMap({ unescape($0) }) else { continue }
            fields[key] = kv.count > 1 ? unescape(kv[1]) ?? "" : ""
        }
        return fields
    }

    private static func unescape(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
