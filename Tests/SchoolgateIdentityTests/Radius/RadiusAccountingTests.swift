import Crypto
import Foundation
import Testing
@testable import SchoolgateIdentity
@testable import SchoolgatePolicy

/// Builds Accounting-Requests as a controller does (RFC 2866 §3), for the parser to read.
func accountingRequest(status: UInt32?, user: String? = nil, address: [UInt8]? = nil, station: String? = nil, interim: UInt32? = nil,
                       secret: String = "shared-secret-0123456789", identifier: UInt8 = 7) -> [UInt8] {
    func attribute(_ type: UInt8, _ value: [UInt8]) -> [UInt8] { [type, UInt8(value.count + 2)] + value }
    func integer(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
    var attributes: [UInt8] = []
    if let status { attributes += attribute(40, integer(status)) }
    if let user { attributes += attribute(1, Array(user.utf8)) }
    if let address { attributes += attribute(8, address) }
    if let station { attributes += attribute(31, Array(station.utf8)) }
    if let interim { attributes += attribute(85, integer(interim)) }
    attributes += attribute(26, [0, 0, 0x01, 0x37, 1, 3, 0x41])  // a vendor attribute, skipped
    let length = 20 + attributes.count
    let header: [UInt8] = [4, identifier, UInt8(length >> 8), UInt8(length & 0xff)]
    let authenticator = Array(Insecure.MD5.hash(data: header + [UInt8](repeating: 0, count: 16) + attributes + Array(secret.utf8)))
    return header + authenticator + attributes
}

struct RadiusAccountingPacketTests {
    let secret = Array("shared-secret-0123456789".utf8)

    @Test func readsWhoIsAtWhichAddressAndAcknowledgesIt() throws {
        let bytes = accountingRequest(status: 1, user: "KS3.Pupil", address: [10, 3, 0, 7], station: "AA-BB-CC-00-11-22", interim: 300)
        let packet = try RadiusAccountingPacket(datagram: bytes, secret: secret)
        #expect(packet.status == .start && packet.userName == "KS3.Pupil" && packet.framedIPAddress == "10.3.0.7")
        #expect(packet.callingStationID == "AA-BB-CC-00-11-22" && packet.interimInterval == 300 && packet.identifier == 7)
        let response = packet.response(secret: secret)
        #expect(response.count == 20 && response[0] == 5 && response[1] == 7 && response[3] == 20)
        let expected = Array(Insecure.MD5.hash(data: [5, 7, 0, 20] + packet.authenticator + secret))
        #expect(Array(response[4...]) == expected)
    }

    @Test func refusesForgedTruncatedAndForeignPackets() {
        let good = accountingRequest(status: 1, user: "a", address: [10, 0, 0, 1])
        #expect(throws: RadiusAccountingPacket.ParseError.badAuthenticator) {
            try RadiusAccountingPacket(datagram: good, secret: Array("another-secret-entirely".utf8))
        }
        var tampered = good
        tampered[tampered.count - 1] ^= 1
        #expect(throws: RadiusAccountingPacket.ParseError.badAuthenticator) { try RadiusAccountingPacket(datagram: tampered, secret: secret) }
        #expect(throws: RadiusAccountingPacket.ParseError.tooShort) { try RadiusAccountingPacket(datagram: Array(good.prefix(10)), secret: secret) }
        var accessRequest = good
        accessRequest[0] = 1
        #expect(throws: RadiusAccountingPacket.ParseError.notAccountingRequest(code: 1)) { try RadiusAccountingPacket(datagram: accessRequest, secret: secret) }
        #expect(throws: RadiusAccountingPacket.ParseError.badLength) { try RadiusAccountingPacket(datagram: Array(good.dropLast()), secret: secret) }
        var overlong = good
        overlong[21] = 200
        #expect(throws: (any Error).self) { try RadiusAccountingPacket(datagram: overlong, secret: secret) }
    }
}

struct AddressSessionsTests {
    let t0 = Date(timeIntervalSince1970: 1_795_392_000)
    let secret = Array("shared-secret-0123456789".utf8)

    func packet(_ status: UInt32, _ user: String? = "ks3.pupil", interim: UInt32? = nil) throws -> RadiusAccountingPacket {
        try RadiusAccountingPacket(datagram: accountingRequest(status: status, user: user, address: [10, 3, 0, 7], interim: interim), secret: secret)
    }

    @Test func aSessionLastsFromStartToStopOrItsLifetime() throws {
        let sessions = AddressSessions(defaultLifetime: 3_600)
        sessions.apply(try packet(1, "KS3.Pupil"), at: t0)
        #expect(sessions.user(at: "10.3.0.7", now: t0 + 10) == "ks3.pupil")
        #expect(sessions.user(at: "10.3.0.8", now: t0 + 10) == nil)
        sessions.apply(try packet(2, "someone.else"), at: t0 + 20)
        #expect(sessions.user(at: "10.3.0.7", now: t0 + 30) == "ks3.pupil", "a stale Stop for another user ends nothing")
        sessions.apply(try packet(2), at: t0 + 40)
        #expect(sessions.user(at: "10.3.0.7", now: t0 + 50) == nil)
        sessions.apply(try packet(1), at: t0)
        #expect(sessions.user(at: "10.3.0.7", now: t0 + 3_600) == nil, "no update within the lifetime: over")
    }

    @Test func interimUpdatesKeepASessionForTwiceTheirInterval() throws {
        let sessions = AddressSessions()
        sessions.apply(try packet(1, interim: 300), at: t0)
        sessions.apply(try packet(3, interim: 300), at: t0 + 500)
        #expect(sessions.user(at: "10.3.0.7", now: t0 + 1_099) == "ks3.pupil")
        #expect(sessions.user(at: "10.3.0.7", now: t0 + 1_100) == nil)
    }

    @Test func aControllerRestartEndsEverySessionAndFixedAddressesRemain() throws {
        let sessions = AddressSessions()
        sessions.replaceFixed([(AddressRange("10.3.0.0/16")!, "ks3-tablets"), (AddressRange("10.3.0.7")!, "library-pc")])
        #expect(sessions.user(at: "10.3.0.7", now: t0) == "library-pc", "the most specific fixed range")
        #expect(sessions.user(at: "10.3.9.9", now: t0) == "ks3-tablets")
        sessions.apply(try packet(1), at: t0)
        #expect(sessions.user(at: "10.3.0.7", now: t0) == "ks3.pupil", "a live sign-in wins over a fixed name")
        sessions.apply(try packet(8, nil), at: t0 + 1)
        #expect(sessions.sessionCount == 0 && sessions.user(at: "10.3.0.7", now: t0 + 2) == "library-pc")
    }
}
