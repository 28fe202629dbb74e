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
        for visit in visits {
            bytes += Self.line(for: visit).utf8
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
        let milliseconds = Int64((visit.time.timeIntervalSince1970 * 1000).rounded())
        let fraction = String(milliseconds % 1000)
        let time = "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
        let elapsed = String(visit.durationMilliseconds)
        let denied = visit.verdict == .block || visit.verdict == .needsConsent || visit.verdict == .needsAuthentication
        let code = denied ? "TCP_DENIED" : (visit.method == "CONNECT" ? "TCP_TUNNEL" : "TCP_MISS")
        let status = String(visit.status)
        let hierarchy = denied ? "HIER_NONE/-" : "HIER_DIRECT/\(visit.host)"
        return [
            time, String(repeating: " ", count: max(0, 6 - elapsed.count)) + elapsed, visit.client,
            "\(code)/" + String(repeating: "0", count: max(0, 3 - status.count)) + status, String(visit.bytesOut), visit.method,
            field(visit.url ?? visit.host), visit.user.map(urlEncoded) ?? "-", hierarchy, "-",
        ].joined(separator: " ")
    }

    /// Squid writes the user URL-encoded so that a name never splits a field.
    static func urlEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.append(Character(Unicode.Scalar(byte)))
            default:
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }

    /// A URL with spaces or line breaks would break the line into extra fields.
    private static func field(_ text: String) -> String {
        text.contains(where: { $0 == " " || $0 == "\n" || $0 == "\r" }) ? text.replacingOccurrences(of: " ", with: "%20")
            .replacingOccurrences(of: "\n", with: "%0A").replacingOccurrences(of: "\r", with: "%0D") : text
    }
}
