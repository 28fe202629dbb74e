import Foundation
import SchoolgateFetch
import SchoolgatePolicy

/// Where incident alerts go: an HTTP(S) webhook that receives the incident as JSON, or a
/// command that reads it on standard input (a mail script, a chat bot, an SMS gateway).
public enum AlertTarget: Sendable, Equatable, CustomStringConvertible {
    case webhook(URL)
    case command([String])

    /// Stable name for the delivery record.
    public var description: String {
        switch self {
        case .webhook(let url): "webhook \(url.absoluteString)"
        case .command(let arguments): "command \(arguments.joined(separator: " "))"
        }
    }

    /// Delivers one alert; throws with a reason the delivery record can keep.
    func deliver(_ payload: Data, timeout: TimeInterval) async throws {
        switch self {
        case .webhook(let url):
            let answer: HTTPFetch.Response
            do {
                answer = try await HTTPFetch().post(url, contentType: "application/json", body: Array(payload),
                                                    timeout: .milliseconds(Int64(timeout * 1000)))
            } catch let failure as HTTPFetch.Failure {
                throw AlertError(failure.description)
            }
            guard (200..<300).contains(answer.status) else { throw AlertError("webhook answered \(answer.status)") }
        case .command(let arguments):
            try await Self.run(arguments, input: payload, timeout: timeout)
        }
    }

    private static func run(_ arguments: [String], input: Data, timeout: TimeInterval) async throws {
        guard let executable = arguments.first else { throw AlertError("empty command") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(arguments.dropFirst())
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw AlertError("cannot start \(executable): \(error.localizedDescription)")
        }
        // A command that exits without reading its input must not take Schoolgate with it:
        // SIGPIPE is ignored (see AlertDispatcher) and the failed write is left to the exit status.
        try? stdin.fileHandleForWriting.write(contentsOf: input)
        try? stdin.fileHandleForWriting.close()
        let deadline = Date() + timeout
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                throw AlertError("\(executable) did not finish within \(Int(timeout)) s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard process.terminationStatus == 0 else { throw AlertError("\(executable) exited with status \(process.terminationStatus)") }
    }
}

public struct AlertError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
