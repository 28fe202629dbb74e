import ArgumentParser
import Foundation
import Logging
import SchoolgatePolicy
import SchoolgateStore

/// Tools for Schoolgate's own tests; hidden from help.
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Test helpers.", shouldDisplay: false, subcommands: [RaiseIncidents.self])

    /// Raises incidents through the real writer and store as fast as they go, printing each id
    /// once its transaction has committed: the durability test kills this mid-way and checks
    /// that every printed id survived.
    struct RaiseIncidents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "raise-incidents")
        @Option var database: String
        @Option var count = 10_000

        func run() async throws {
            let store = try SQLiteStore(path: database)
            let writer = MonitoringWriter(store: store, batchSize: 50, logger: Logger(label: "debug")) { ids in
                FileHandle.standardOutput.write(Data(ids.map { "stored \($0)\n" }.joined().utf8))
            }
            let writing = Task { await writer.run(interval: .milliseconds(1)) }
            let start = Date()
            for index in 0..<count {
                writer.submit(nil, sighting: IncidentSighting(time: start + Double(index), subject: "pupil\(index)", group: "pupils",
                                                             client: "10.0.0.1", category: "self-harm", severity: .high, site: "site\(index).example"))
                // Paced (about 10,000 a second at most) so that a test can kill it mid-way.
                if index % 10 == 0 { try await Task.sleep(for: .milliseconds(1)) }
            }
            writing.cancel()
            await writing.value
        }
    }
}
