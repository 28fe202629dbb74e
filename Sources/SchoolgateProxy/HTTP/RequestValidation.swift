import Foundation
import NIOHTTP1

/// Checks a request head before anything of it is forwarded. The decoder already refuses much of
/// this, but a proxy must not depend on its parser agreeing with every origin's: these are the
/// ambiguities behind request smuggling (RFC 9112 §6.3, §11.2), refused outright.
enum RequestValidation {
    struct Refusal: Equatable {
        var status: HTTPResponseStatus
        var reason: String
    }

    static func check(_ head: HTTPRequestHead, maxURILength: Int) -> Refusal? {
        if head.uri.utf8.count > maxURILength {
            return Refusal(status: .uriTooLong, reason: "The address is longer than \(maxURILength) characters.")
        }
        for (name, value) in head.headers {
            if name.isEmpty || name.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f || $0 == UInt8(ascii: ":") }) {
                return Refusal(status: .badRequest, reason: "A header name contains characters it may not.")
            }
            if value.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a || $0 == 0x00 }) {
                return Refusal(status: .badRequest, reason: "A header value contains a line break or NUL (folded or injected header).")
            }
        }
        let lengths = head.headers["content-length"].flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let codings = head.headers["transfer-encoding"].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if !lengths.isEmpty, !codings.isEmpty {
            return Refusal(status: .badRequest, reason: "Both Content-Length and Transfer-Encoding were sent.")
        }
        if lengths.count > 1 {
            return Refusal(status: .badRequest, reason: "More than one Content-Length was sent.")
        }
        if let length = lengths.first {
            let digits = length.trimmingCharacters(in: .whitespaces)
            if digits.isEmpty || digits.count > 18 || !digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                return Refusal(status: .badRequest, reason: "Content-Length is not a number.")
            }
        }
        if !codings.isEmpty, codings.last != "chunked" {
            return Refusal(status: .badRequest, reason: "Transfer-Encoding must end with chunked.")
        }
        return nil
    }
}
