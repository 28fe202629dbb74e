import Foundation

enum Tools {
    static func exists(_ name: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}

struct RunResult {
    var status: Int32
    var output: String
    var error: String
}

/// Runs a command to completion with a time limit, capturing its output.
func run(_ arguments: [String], timeout: TimeInterval = 30) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let deadline = DispatchTime.now() + timeout
    DispatchQueue.global().asyncAfter(deadline: deadline) { if process.isRunning { process.terminate() } }
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let error = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self), error: String(decoding: error, as: UTF8.self))
}

/// The Python origin, started once per test run; its stdin pipe keeps it alive.
final class Origin: Sendable {
    let httpPort: Int
    let httpsPort: Int
    let directory: String
    private let process: Process
    private let stdin: Pipe

    static let shared: Result<Origin, any Error> = Result { try Origin() }

    private init() throws {
        directory = NSTemporaryDirectory() + "schoolgate-origin-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificate = try run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/key.pem",
                                   "-out", directory + "/cert.pem", "-days", "2", "-subj", "/CN=localhost",
                                   "-addext", "subjectAltName=DNS:localhost,DNS:blocked.invalid"])
        guard certificate.status == 0 else { throw OriginError(message: "openssl: \(certificate.error)") }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("origin.py").path
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, directory]
        let out = Pipe()
        stdin = Pipe()
        process.standardOutput = out
        process.standardInput = stdin
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw OriginError(message: "origin exited before listening") }
            line += chunk
        }
        let words = String(decoding: line, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard words.count == 3, let http = Int(words[1]), let https = Int(words[2]) else { throw OriginError(message: "origin said \(words)") }
        httpPort = http
        httpsPort = https
    }

    struct OriginError: Error { var message: String }
}
