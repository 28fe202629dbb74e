import Foundation
import SchoolgateTestSupport

/// The built `schoolgate` binary, beside the test bundle.
enum Schoolgate {
    static let binary = Bundle.main.bundlePath + "/schoolgate"
    static var isBuilt: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// The example config written into `directory`, its paths made absolute, its database,
    /// access log and users file in that folder, and the consent page on a free port.
    static func exampleConfig(in directory: String, database: String? = nil) throws -> String {
        var text = try String(contentsOfFile: repository + "/config/schoolgate.conf", encoding: .utf8)
        text = text.replacingOccurrences(of: "../blocklists/", with: repository + "/blocklists/")
            .replacingOccurrences(of: "database = ../var/schoolgate.sqlite", with: "database = \(database ?? directory + "/schoolgate.sqlite")")
            .replacingOccurrences(of: "access-log = ../var/access.log", with: "access-log = \(directory)/access.log")
            .replacingOccurrences(of: "users-file = ../var/users", with: "users-file = \(directory)/users")
            .replacingOccurrences(of: "terms = guest-terms.txt", with: "terms = \(repository)/config/guest-terms.txt")
            .replacingOccurrences(of: "listen = 127.0.0.1:8080", with: "listen = 127.0.0.1:0")
            .replacingOccurrences(of: "listen = 127.0.0.1:9180", with: "listen = 127.0.0.1:0")
        let path = directory + "/schoolgate.conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs a shell command line to completion; stdout and stderr together, and its status.
    static func shell(_ command: String) throws -> Output {
        do {
            return Output(status: 0, stdout: try TestShell.run(command), stderr: "")
        } catch let failed as TestShell.Failed {
            return Output(status: failed.status, stdout: failed.output, stderr: "")
        }
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `schoolgate ARGUMENTS` to completion (or `timeout`).
    static func run(_ arguments: [String], input: String? = nil, timeout: TimeInterval = 60) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if process.isRunning { process.terminate() } }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Any other tool, through `env`, to completion.
    static func runTool(_ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: "", stderr: "")
    }

    static func curl(_ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "--max-time", "10"] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self), stderr: "")
    }
}

/// A running `schoolgate` process whose standard output is read line by line.
final class RunningSchoolgate {
    let process = Process()
    private let output = Pipe()
    private var buffer = Data()

    init(_ arguments: [String], executable: String = Schoolgate.binary) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// The next line of output, or nil at the end.
    func nextLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer += chunk
        }
    }

    /// Reads `serve`'s output up to the line naming the proxy's port (the consent page's
    /// address lines may come first), and returns the consent page's port too when it had one.
    func listeningPorts() -> (proxy: Int, consentPage: Int?, radius: Int?, admin: Int?)? {
        var consentPage: Int?
        var radius: Int?
        var admin: Int?
        while let line = nextLine() {
            let port = line.split(separator: ":").last.flatMap { Int($0) }
            if line.contains("consent page on"), consentPage == nil { consentPage = port }
            if line.contains("RADIUS accounting on") { radius = port }
            if line.contains("admin on") { admin = port }
            if line.contains("listening on"), let port { return (port, consentPage, radius, admin) }
        }
        return nil
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate() } }
}
