import Foundation

/// A test's own Python server: started with its arguments, it prints "port N" once listening on
/// loopback and exits when its standard input closes, that is when the test lets go of it (or
/// dies), so no server outlives its test.
public final class LoopbackScript: @unchecked Sendable {
    public let port: Int
    private let process = Process()
    private let lifeline = Pipe()

    public init(_ script: String, arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = lifeline
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        port = Int(String(decoding: line, as: UTF8.self).split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
    }

    public func stop() {
        if process.isRunning { process.terminate() }
    }

    deinit { stop() }
}
