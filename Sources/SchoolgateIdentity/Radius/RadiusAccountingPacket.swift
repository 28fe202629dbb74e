import Crypto
import Foundation

/// A RADIUS Accounting-Request (RFC 2866) as a Wi-Fi controller sends it when someone signs in
/// (Start), stays (Interim-Update) and leaves (Stop). Only the attributes that say who is at
/// which address are kept.
public struct RadiusAccountingPacket: Sendable, Equatable {
    public enum StatusType: UInt32, Sendable {
        case start = 1, stop = 2, interimUpdate = 3, accountingOn = 7, accountingOff = 8
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case tooShort
        case notAccountingRequest(code: UInt8)
        case badLength
        case badAttribute
        /// The authenticator does not match the shared secret: forged, or the secret is wrong.
        case badAuthenticator

        public var description: String {
            switch self {
            case .tooShort: "shorter than a RADIUS header"
            case .notAccountingRequest(let code): "code \(code) is not an Accounting-Request (4)"
            case .badLength: "its length field does not match the datagram"
            case .badAttribute: "an attribute runs past the end"
            case .badAuthenticator: "the authenticator does not match the shared secret"
            }
        }
    }

    public var identifier: UInt8
    public var authenticator: [UInt8]
    public var status: StatusType?
    public var userName: String?
    public var framedIPAddress: String?
    public var callingStationID: String?
    public var sessionID: String?
    public var interimInterval: UInt32?

    /// Parses and checks a datagram against the shared secret (RFC 2866 §3: the Request
    /// Authenticator is MD5 over the packet with a zero authenticator, then the secret).
    public init(datagram bytes: [UInt8], secret: [UInt8]) throws(ParseError) {
        guard bytes.count >= 20 else { throw .tooShort }
        guard bytes[0] == 4 else { throw .notAccountingRequest(code: bytes[0]) }
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard length >= 20, length <= bytes.count, length <= 4096 else { throw .badLength }
        let packet = Array(bytes[..<length])
        identifier = packet[1]
        authenticator = Array(packet[4..<20])
        var zeroed = packet
        for index in 4..<20 { zeroed[index] = 0 }
        let expected = Array(Insecure.MD5.hash(data: zeroed + secret))
        guard expected.count == authenticator.count,
              zip(expected, authenticator).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { throw .badAuthenticator }

        var offset = 20
        while offset < length {
            guard offset + 2 <= length else { throw .badAttribute }
            let type = packet[offset], attributeLength = Int(packet[offset + 1])
            guard attributeLength >= 2, offset + attributeLength <= length else { throw .badAttribute }
            let value = Array(packet[(offset + 2)..<(offset + attributeLength)])
            switch type {
            case 1: userName = String(decoding: value, as: UTF8.self)
            case 8 where value.count == 4: framedIPAddress = value.map(String.init).joined(separator: ".")
            case 31: callingStationID = String(decoding: value, as: UTF8.self)
            case 40 where value.count == 4: status = StatusType(rawValue: Self.integer(value))
            case 44: sessionID = String(decoding: value, as: UTF8.self)
            case 85 where value.count == 4: interimInterval = Self.integer(value)
            default: break
            }
            offset += attributeLength
        }
    }

    static func integer(_ bytes: [UInt8]) -> UInt32 {
        bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The Accounting-Response that acknowledges this request (RFC 2866 §4.2), without
    /// attributes; the controller retransmits until it gets one.
    public func response(secret: [UInt8]) -> [UInt8] {
        var header: [UInt8] = [5, identifier, 0, 20]
        let digest = Array(Insecure.MD5.hash(data: header + authenticator + secret))
        header += digest
        return header
    }
}
