import Foundation
import SchoolgatePolicy
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The access log in Squid's native format, so that SARG, LightSquid and GoAccess read it as
/// they read Squid's:
///
///     %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt
///
/// Visits are queued as they are; a background task formats and writes them, so neither the
/// formatting nor the write happens on the proxy's event loop. The
/// file is created readable by its owner only (it names users and sites), and `reopen()` (SIGUSR1,
/// after logrotate has moved it) starts a new one.
public final class SquidAccessLog: Sendable {
    private struct State {
        var descriptor: Int32
        var pending: [Visit] = []
    }

    public let path: String
    private let state: Mutex<State>
    /// Held while a batch is formatted and written, so batches reach the file in order while
    /// `append` (on the event loop) only ever waits for the short `state` lock.
    private let writing = Mutex(())

    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        state = Mutex(State(descriptor: try Self.open(path)))
    }

    deinit {
        flush()
        _ = state.withLock { close($0.descriptor) }
    }

    private static func open(_ path: String) throws -> Int32 {
        let descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError("\(path): cannot open the access log: \(String(cString: strerror(errno)))") }
        return descriptor
    }

    public func append(_ visit: Visit) {
        state.withLock { $0.pending.append(visit) }
    }

    /// Writes what is queued (the background task calls this a few times a second).
    public func flush() {
        writing.withLock { _ in writeQueued() }
    }

    /// Starts a new file at `path` (logrotate has moved the old one away).
    public func reopen() throws {
        let descriptor = try Self.open(path)
        writing.withLock { _ in
            writeQueued()
            state.withLock { state in
                close(state.descriptor)
                state.descriptor = descriptor
            }
        }
    }

    /// Only with `writing` held.
    private func writeQueued() {
        let (visits, descriptor) = state.withLock { state in
            var taken: [Visit] = []
            swap(&taken, &state.pending)
            return (taken, state.descriptor)
        }
        guard !visits.isEmpty else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(visits.count * 128)
        for visit in visits {
            Self.appendLine(for: visit, to: &bytes)
            bytes.append(UInt8(ascii: "\n"))
        }
        Self.write(bytes, to: descriptor)
    }

    public func run(interval: Duration = .milliseconds(250)) async {
        while !Task.isCancelled {
            flush()
            try? await Task.sleep(for: interval)
        }
        flush()
    }

    private static func write(_ bytes: [UInt8], to descriptor: Int32) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }

    public static func line(for visit: Visit) -> String {
        var bytes: [UInt8] = []
        appendLine(for: visit, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The line, without its newline, straight into the batch's bytes: built from strings (a
    /// dozen of them a line, joined), formatting took 4 % of a flat-out proxy's CPU.
    static func appendLine(for visit: Visit, to bytes: inout [UInt8]) {
        let milliseconds = Int64((visit.time.timeIntervalSince1970 * 1000).rounded())
        appendDecimal(milliseconds / 1000, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        appendDecimal(milliseconds % 1000, width: 3, padding: UInt8(ascii: "0"), to: &bytes)
        bytes.append(space)
        appendDecimal(Int64(visit.durationMilliseconds), width: 6, padding: space, to: &bytes)
        bytes.append(space)
        bytes += visit.client.utf8
        let denied = visit.verdict == .block || visit.verdict == .needsConsent || visit.verdict == .needsAuthentication
        bytes += (denied ? " TCP_DENIED/" : (visit.method == "CONNECT" ? " TCP_TUNNEL/" : " TCP_MISS/")).utf8
        appendDecimal(Int64(visit.status), width: 3, padding: UInt8(ascii: "0"), to: &bytes)
        bytes.append(space)
        appendDecimal(visit.bytesOut, to: &bytes)
        bytes.append(space)
        bytes += visit.method.utf8
        bytes.append(space)
        appendField(visit.url ?? visit.host, to: &bytes)
        bytes.append(space)
        if let user = visit.user { appendURLEncoded(user, to: &bytes) } else { bytes.append(UInt8(ascii: "-")) }
        if denied {
            bytes += " HIER_NONE/-".utf8
        } else {
            bytes += " HIER_DIRECT/".utf8
            bytes += visit.host.utf8
        }
        bytes += " -".utf8
    }

    private static let space = UInt8(ascii: " ")

    /// `value` in decimal, padded on the left to `width`. (Up to 15 digits a `String` is held
    /// inline, so this allocates nothing.)
    private static func appendDecimal(_ value: Int64, width: Int = 0, padding: UInt8 = UInt8(ascii: " "), to bytes: inout [UInt8]) {
        let digits = String(value).utf8
        if width > digits.count { bytes += repeatElement(padding, count: width - digits.count) }
        bytes += digits
    }

    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Squid writes the user URL-encoded so that a name never splits a field.
    private static func appendURLEncoded(_ text: String, to bytes: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            }
        }
    }

    /// A URL with spaces or line breaks would break the line into extra fields. (In UTF-8 these
    /// bytes never occur inside another character, so the bytes can be looked at one by one.)
    private static func appendField(_ text: String, to bytes: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: " "): bytes += "%20".utf8
            case UInt8(ascii: "\n"): bytes += "%0A".utf8
            case UInt8(ascii: "\r"): bytes += "%0D".utf8
            default: bytes.append(byte)
            }
        }
    }
}
