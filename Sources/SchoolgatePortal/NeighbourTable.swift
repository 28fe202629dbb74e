import Foundation
import SchoolgatePolicy

/// The router's ARP table (`/proc/net/arp`), for the hardware address that goes into a guest's
/// consent record. Only IPv4 neighbours are there; others are recorded without one.
public enum NeighbourTable {
    public static func hardwareAddress(of client: String, table path: String = "/proc/net/arp") -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return hardwareAddress(of: client, inTable: text)
    }

    /// `record` with its device's hardware address, when the table has one. Blocking file
    /// I/O: call it off the event loop, where the agreement is stored.
    public static func completing(_ record: ConsentRecord, table path: String = "/proc/net/arp") -> ConsentRecord {
        var record = record
        record.mac = record.mac ?? hardwareAddress(of: record.client, table: path)
        return record
    }

    /// `IP address  HW type  Flags  HW address  Mask  Device`, a header line first. Incomplete
    /// entries (flags 0x0, all-zero address) are not answers.
    static func hardwareAddress(of client: String, inTable text: String) -> String? {
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4, fields[0] == client, fields[2] != "0x0", fields[3] != "00:00:00:00:00:00" else { continue }
            return fields[3].lowercased()
        }
        return nil
    }
}
