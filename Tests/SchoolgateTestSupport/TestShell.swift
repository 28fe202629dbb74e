import Foundation

/// A shell command line run to completion for a test, its output (stdout and stderr together)
/// returned, and an error naming the command when it fails.
public enum TestShell {
    public struct Failed: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32
        public var output: String
        public var description: String { "\(command): exit \(status): \(output)" }
    }

    @discardableResult
    public static func run(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw Failed(command: command, status: process.terminationStatus, output: text) }
        return text
    }

    /// A fresh folder under the temporary directory, for one test.
    public static func temporaryDirectory(_ prefix: String) throws -> String {
        let directory = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }
}
