/// What the proxy learns from a TLS ClientHello without decrypting anything.
public struct ClientHello: Equatable, Sendable {
    /// The `server_name` (SNI) host name, as sent; nil when the client sent none.
    public var serverName: String?
    /// ALPN protocol names in the client's order (`h2`, `http/1.1`).
    public var alpn: [String]
    /// An Encrypted Client Hello extension is present: the real name may be hidden inside it.
    public var offersEncryptedClientHello: Bool

    public init(serverName: String? = nil, alpn: [String] = [], offersEncryptedClientHello: Bool = false) {
        self.serverName = serverName
        self.alpn = alpn
        self.offersEncryptedClientHello = offersEncryptedClientHello
    }
}

public enum ClientHelloParseResult: Equatable, Sendable {
    case needMoreData
    case complete(ClientHello)
    /// The bytes are not a TLS ClientHello (plain HTTP through a tunnel, SSH, a broken client).
    case notTLS(String)
    /// Longer than the proxy is willing to buffer before deciding.
    case tooLarge
}

/// Reads a ClientHello from the first bytes a client sends, however they arrive.
///
/// Our own rather than NIO's `SNIHandler`, which reads only the first TLS record: a ClientHello
/// may be split across several handshake records (RFC 8446 §5.1 allows it, and clients with
/// post-quantum key shares produce hellos larger than a typical first record), and across TCP
/// segments in any pattern. The parser is given everything received so far and either answers or
/// asks for more, so it is trivially correct for byte-at-a-time delivery. It does no I/O.
public enum ClientHelloParser {
    /// Hellos above this are refused rather than buffered (Envoy's TLS inspector caps at 64 KiB;
    /// real hellos, even with ML-KEM key shares, are under 3 KiB).
    public static let maximumSize = 16 * 1024

    private static let handshakeRecord: UInt8 = 22
    private static let clientHelloType: UInt8 = 1
    private static let maximumRecordLength = 16_384 + 2_048

    public static func parse(_ bytes: some RandomAccessCollection<UInt8>) -> ClientHelloParseResult {
        let data = Array(bytes)
        var handshake: [UInt8] = []
        var offset = 0
        while true {
            // Once the handshake header is in, the message length says whether we are done.
            if handshake.count >= 4 {
                guard handshake[0] == clientHelloType else {
                    return .notTLS("first handshake message is type \(handshake[0]), not ClientHello")
                }
                let length = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
                if length > maximumSize { return .tooLarge }
                if handshake.count >= 4 + length {
                    return parseBody(handshake[4..<(4 + length)])
                }
            }
            guard data.count - offset >= 5 else {
                return data.count > maximumSize + 5 * 8 ? .tooLarge : .needMoreData
            }
            let type = data[offset], major = data[offset + 1], minor = data[offset + 2]
            guard type == handshakeRecord else {
                return .notTLS(offset == 0 ? "first byte 0x\(hex(type)) does not start a TLS handshake record" : "record of type \(type) before the ClientHello was complete")
            }
            guard major == 3, minor <= 4 else { return .notTLS("record version \(major).\(minor) is not TLS") }
            let length = Int(data[offset + 3]) << 8 | Int(data[offset + 4])
            guard length > 0, length <= maximumRecordLength else { return .notTLS("TLS record length \(length) is out of range") }
            guard data.count - offset - 5 >= length else {
                return data.count > maximumSize + 5 * 8 ? .tooLarge : .needMoreData
            }
            handshake.append(contentsOf: data[(offset + 5)..<(offset + 5 + length)])
            offset += 5 + length
            if handshake.count > maximumSize + 4 { return .tooLarge }
        }
    }

    private static func parseBody(_ body: ArraySlice<UInt8>) -> ClientHelloParseResult {
        var reader = ByteReader(body)
        guard reader.skip(2 + 32),                              // legacy_version, random
              reader.skipVector(lengthBytes: 1),                // legacy_session_id
              reader.skipVector(lengthBytes: 2),                // cipher_suites
              reader.skipVector(lengthBytes: 1) else {          // legacy_compression_methods
            return .notTLS("malformed ClientHello")
        }
        var hello = ClientHello()
        // A hello with no extensions at all (very old clients) is legal and has no SNI.
        if reader.isAtEnd { return .complete(hello) }
        guard var extensions = reader.vector(lengthBytes: 2), reader.isAtEnd else {
            return .notTLS("malformed ClientHello extensions")
        }
        var seen: Set<UInt16> = []
        while !extensions.isAtEnd {
            guard let type = extensions.uint16(), var content = extensions.vector(lengthBytes: 2) else {
                return .notTLS("malformed ClientHello extension")
            }
            // GREASE values (RFC 8701) are 0x?A?A and carry nothing; they may even repeat.
            if type & 0x0f0f == 0x0a0a, type >> 8 == type & 0xff { continue }
            guard seen.insert(type).inserted else { return .notTLS("extension \(type) appears twice") }
            switch type {
            case 0x0000:
                guard let name = serverName(&content) else { return .notTLS("malformed server_name extension") }
                hello.serverName = name
            case 0x0010:
                guard let protocols = alpn(&content) else { return .notTLS("malformed ALPN extension") }
                hello.alpn = protocols
            case 0xfe0d:
                hello.offersEncryptedClientHello = true
            default:
                break
            }
        }
        return .complete(hello)
    }

    /// RFC 6066 §3: a list of (type, name); the first `host_name` (type 0) is the one.
    private static func serverName(_ content: inout ByteReader) -> String?? {
        guard var list = content.vector(lengthBytes: 2), content.isAtEnd else { return nil }
        var found: String?
        while !list.isAtEnd {
            guard let type = list.uint8(), let name = list.vector(lengthBytes: 2) else { return nil }
            if type == 0, found == nil {
                let bytes = name.remaining
                // A name with controls or non-ASCII is not a DNS name; refuse rather than guess.
                guard !bytes.isEmpty, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
                found = String(decoding: bytes, as: UTF8.self)
            }
        }
        return .some(found)
    }

    private static func alpn(_ content: inout ByteReader) -> [String]? {
        guard var list = content.vector(lengthBytes: 2), content.isAtEnd else { return nil }
        var protocols: [String] = []
        while !list.isAtEnd {
            guard let name = list.vector(lengthBytes: 1), !name.remaining.isEmpty else { return nil }
            protocols.append(String(decoding: name.remaining, as: UTF8.self))
        }
        return protocols
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
    }
}

/// Bounds-checked reading of TLS wire structures: every read says whether it fit.
struct ByteReader {
    private(set) var remaining: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { remaining = bytes }

    var isAtEnd: Bool { remaining.isEmpty }

    mutating func skip(_ count: Int) -> Bool {
        guard remaining.count >= count else { return false }
        remaining = remaining.dropFirst(count)
        return true
    }

    mutating func uint8() -> UInt8? {
        guard let byte = remaining.first else { return nil }
        remaining = remaining.dropFirst()
        return byte
    }

    mutating func uint16() -> UInt16? {
        guard remaining.count >= 2 else { return nil }
        let value = UInt16(remaining[remaining.startIndex]) << 8 | UInt16(remaining[remaining.startIndex + 1])
        remaining = remaining.dropFirst(2)
        return value
    }

    /// A length-prefixed vector, as its own reader.
    mutating func vector(lengthBytes: Int) -> ByteReader? {
        guard remaining.count >= lengthBytes else { return nil }
        var length = 0
        for index in 0..<lengthBytes { length = length << 8 | Int(remaining[remaining.startIndex + index]) }
        guard remaining.count >= lengthBytes + length else { return nil }
        let start = remaining.startIndex + lengthBytes
        let vector = ByteReader(remaining[start..<(start + length)])
        remaining = remaining[(start + length)...]
        return vector
    }

    mutating func skipVector(lengthBytes: Int) -> Bool {
        vector(lengthBytes: lengthBytes) != nil
    }
}
