import Foundation
import SchoolgateTestSupport
import Testing

/// The proxy as its own process, so that its peak memory can be read on its own.
@Suite(.enabled(if: Schoolgate.isBuilt && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")
                && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs the built schoolgate binary, curl and openssl"))
struct StreamingMemoryTests {
    @Test func aOneGigabyteDownloadPassesInConstantMemory() async throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-stream")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The proxy tests' loopback origin, which streams /stream/N in 64 KiB writes.
        let script = Schoolgate.repository + "/Tests/SchoolgateProxyTests/Support/origin.py"
        _ = try Schoolgate.runTool(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/key.pem",
                                    "-out", directory + "/cert.pem", "-days", "1", "-subj", "/CN=localhost"])
        let origin = Process()
        origin.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        origin.arguments = ["python3", script, directory]
        let originOut = Pipe(), lifeline = Pipe()
        origin.standardOutput = originOut
        origin.standardInput = lifeline
        origin.standardError = FileHandle.nullDevice
        try origin.run()
        defer { origin.terminate() }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = originOut.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let httpPort = try #require(String(decoding: line, as: UTF8.self).split(separator: " ").dropFirst().first.flatMap { Int($0) })

        try """
            [monitoring]
            database = \(directory)/db.sqlite
            access-log = off
            [category none]
            domains = list
            [group everyone]
            addresses = 127.0.0.0/8
            """.write(toFile: directory + "/schoolgate.conf", atomically: true, encoding: .utf8)
        try "nothing.invalid\n".write(toFile: directory + "/list", atomically: true, encoding: .utf8)
        let serve = try RunningSchoolgate(["serve", "--config", directory + "/schoolgate.conf", "--port", "0"])
        let port = try #require(serve.listeningPorts()?.proxy)
        let before = peakResidentMegabytes(serve.process.processIdentifier)

        let size = 1 << 30
        let download = try Schoolgate.curl(["-o", "/dev/null", "-w", "%{size_download}", "--max-time", "300", "-x", "http://127.0.0.1:\(port)",
                                            "http://localhost:\(httpPort)/stream/\(size)"])
        #expect(download.stdout == String(size))
        let after = peakResidentMegabytes(serve.process.processIdentifier)
        serve.signal(SIGTERM)
        _ = serve.wait()
        // Buffers in flight are bounded by the channels' watermarks, not by the body's size.
        #expect(after - before < 64, "peak RSS rose from \(before) MB to \(after) MB for a 1 GiB body")
    }

    func peakResidentMegabytes(_ pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true)[1]) else { return .nan }
        return kilobytes / 1024
    }
}
