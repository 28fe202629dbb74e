import SwiftASN1

/// The few LDAP v3 operations (RFC 4511) a sign-in needs: simple bind, StartTLS, a search for
/// the user's entry and groups, and unbind. Encoded as BER (DER is a valid subset) with
/// swift-asn1; nothing else of LDAP is implemented.
enum LDAPMessage {
    enum Operation: UInt {
        case bindRequest = 0, bindResponse = 1, unbindRequest = 2, searchRequest = 3, searchResultEntry = 4, searchResultDone = 5
        case searchResultReference = 19, extendedRequest = 23, extendedResponse = 24
    }

    static let startTLSName = "1.3.6.1.4.1.1466.20037"

    static func application(_ operation: Operation) -> ASN1Identifier {
        ASN1Identifier(tagWithNumber: operation.rawValue, tagClass: .application)
    }

    static func context(_ number: UInt) -> ASN1Identifier {
        ASN1Identifier(tagWithNumber: number, tagClass: .contextSpecific)
    }

    private static func envelope(_ id: Int, _ body: (inout DER.Serializer) throws -> Void) rethrows -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { message in
            try message.serialize(id)
            try body(&message)
        }
        return serializer.serializedBytes
    }

    private static func octets(_ text: String, _ identifier: ASN1Identifier = .octetString, into serializer: inout DER.Serializer) {
        serializer.appendPrimitiveNode(identifier: identifier) { $0.append(contentsOf: Array(text.utf8)) }
    }

    static func bind(id: Int, dn: String, password: String) throws -> [UInt8] {
        try envelope(id) { message in
            try message.appendConstructedNode(identifier: application(.bindRequest)) { bind in
                try bind.serialize(3)
                octets(dn, into: &bind)
                octets(password, context(0), into: &bind)
            }
        }
    }

    static func startTLS(id: Int) throws -> [UInt8] {
        envelope(id) { message in
            message.appendConstructedNode(identifier: application(.extendedRequest)) { request in
                octets(startTLSName, context(0), into: &request)
            }
        }
    }

    static func unbind(id: Int) throws -> [UInt8] {
        envelope(id) { message in
            message.appendPrimitiveNode(identifier: application(.unbindRequest)) { _ in }
        }
    }

    /// A subtree search with an equality filter `attribute=value` (the value is sent as bytes,
    /// so no filter-string escaping is involved), optionally ANDed with `objectClass=…`.
    static func search(id: Int, base: String, attribute: String, value: String, objectClass: String?, attributes: [String]) throws -> [UInt8] {
        func equality(_ attribute: String, _ value: String, into serializer: inout DER.Serializer) {
            serializer.appendConstructedNode(identifier: context(3)) { match in
                octets(attribute, into: &match)
                octets(value, into: &match)
            }
        }
        return try envelope(id) { message in
            try message.appendConstructedNode(identifier: application(.searchRequest)) { search in
                octets(base, into: &search)
                search.appendPrimitiveNode(identifier: .enumerated) { $0.append(2) }  // wholeSubtree
                search.appendPrimitiveNode(identifier: .enumerated) { $0.append(0) }  // neverDerefAliases
                try search.serialize(50)                                                // sizeLimit
                try search.serialize(10)                                                // timeLimit (s)
                try search.serialize(false)                                             // typesOnly
                if let objectClass {
                    search.appendConstructedNode(identifier: context(0)) { and in
                        equality(attribute, value, into: &and)
                        equality("objectClass", objectClass, into: &and)
                    }
                } else {
                    equality(attribute, value, into: &search)
                }
                search.appendConstructedNode(identifier: .sequence) { list in
                    for name in attributes { octets(name, into: &list) }
                }
            }
        }
    }

    /// A response as far as sign-in cares.
    struct Response: Equatable {
        var id: Int
        var operation: Operation
        var resultCode: Int?
        var diagnostic: String?
        /// searchResultEntry: the entry's DN and its attributes (lower-cased names).
        var dn: String?
        var attributes: [String: [String]] = [:]
    }

    struct Malformed: Error {}

    static func parse(_ bytes: [UInt8]) throws -> Response {
        let node = try BER.parse(bytes)
        guard node.identifier == .sequence, case .constructed(let parts) = node.content else { throw Malformed() }
        var iterator = parts.makeIterator()
        guard let idNode = iterator.next(), let opNode = iterator.next(), opNode.identifier.tagClass == .application,
              let operation = Operation(rawValue: opNode.identifier.tagNumber) else { throw Malformed() }
        let id = try Int(derEncoded: idNode)
        var response = Response(id: id, operation: operation)
        guard case .constructed(let fields) = opNode.content else {
            return response
        }
        var items = Array(fields)
        switch operation {
        case .searchResultEntry:
            guard items.count >= 2 else { throw Malformed() }
            response.dn = try text(items[0])
            if case .constructed(let attributeList) = items[1].content {
                for attribute in attributeList {
                    guard case .constructed(let pair) = attribute.content else { continue }
                    let pairItems = Array(pair)
                    guard pairItems.count == 2, case .constructed(let values) = pairItems[1].content else { continue }
                    response.attributes[try text(pairItems[0]).lowercased()] = try values.map(text)
                }
            }
        default:
            guard items.count >= 3 else { throw Malformed() }
            guard case .primitive(let code) = items.removeFirst().content else { throw Malformed() }
            response.resultCode = code.reduce(0) { $0 << 8 | Int($1) }
            response.diagnostic = try text(items[1])
        }
        return response
    }

    private static func text(_ node: ASN1Node) throws -> String {
        guard case .primitive(let bytes) = node.content else { throw Malformed() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The length of the first whole BER element in `bytes`, or nil until it has all arrived.
    static func frameLength(_ bytes: some Collection<UInt8>) -> Int? {
        var index = bytes.startIndex
        guard index != bytes.endIndex else { return nil }
        index = bytes.index(after: index)
        guard index != bytes.endIndex else { return nil }
        let first = bytes[index]
        index = bytes.index(after: index)
        var length = Int(first)
        var header = 2
        if first & 0x80 != 0 {
            let count = Int(first & 0x7f)
            guard count > 0, count <= 4 else { return -1 }
            guard bytes.count >= 2 + count else { return nil }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[index])
                index = bytes.index(after: index)
            }
            header += count
        }
        return bytes.count >= header + length ? header + length : nil
    }
}
