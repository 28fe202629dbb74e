// Store benchmark: sustained visit logging, and the DSL's queries on a large database.
//
//   swift run -c release --static-swift-stdlib StoreBenchmark [visits] [incidents] [users]     (default 10,000,000, 100,000 and 10,000)
//
// 1. Pushes 1,000,000 visits through the MonitoringWriter into a fresh SQLite file as fast as it
//    takes them and reports events per second end to end (queue to committed).
// 2. Fills a second file with `visits` visits (10,000 users over 90 days) and `incidents`
//    incidents, then times `incidents list` and `incidents show` (the incident plus the user's
//    visits an hour either side). Prints figures; asserts nothing.
import Foundation
import Logging
import SchoolgatePolicy
import SchoolgateStore

func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let arguments = CommandLine.arguments
let visitCount = arguments.count > 1 ? Int(arguments[1]) ?? 10_000_000 : 10_000_000
let incidentCount = arguments.count > 2 ? Int(arguments[2]) ?? 100_000 : 100_000
/// Visits go round the users in turn: with more users, each batch touches more of the index.
let userCount = arguments.count > 3 ? Int(arguments[3]) ?? 10_000 : 10_000
let directory = NSTemporaryDirectory() + "schoolgate-store-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
let start = Date(timeIntervalSince1970: 1_790_000_000)

func visit(_ index: Int) -> Visit {
    let user = "user\(index % userCount)"
    return Visit(time: start + Double(index) * (90 * 86_400 / Double(max(visitCount, 1))), user: user, group: "pupils-ks3",
                 client: "10.3.\(index % 250).\(index % 200)", method: "GET", host: "site\(index % 5_000).example",
                 url: "http://site\(index % 5_000).example/page/\(index % 97)", verdict: index % 20 == 0 ? .block : .allow,
                 rule: index % 20 == 0 ? .blockedCategory : .defaultAllow, category: index % 20 == 0 ? "gambling" : nil,
                 status: index % 20 == 0 ? 403 : 200, bytesIn: 300, bytesOut: 12_000, durationMilliseconds: 40)
}

// 1. Sustained logging through the writer.
do {
    let store = try SQLiteStore(path: directory + "/logging.sqlite")
    let writer = MonitoringWriter(store: store, capacity: 2_000_000, batchSize: 5_000, logger: Logger(label: "bench"))
    let total = 1_000_000
    let elapsed = await seconds {
        let running = Task { await writer.run(interval: .milliseconds(5)) }
        for index in 0..<total { writer.submit(visit(index)) }
        while writer.stats.writtenVisits < total { try? await Task.sleep(for: .milliseconds(20)) }
        running.cancel()
        await running.value
    }
    print(String(format: "logging: %d visits queued and committed in %.2f s: %.0f visits/s (dropped %d)",
                 total, elapsed, Double(total) / elapsed, writer.stats.droppedVisits))
}

// 2. The DSL's queries on a large database (skipped when asked for no visits or incidents).
guard visitCount > 0, incidentCount > 0 else { exit(0) }
let store = try SQLiteStore(path: directory + "/large.sqlite")
let fill = try await seconds {
    var batch: [Visit] = []
    batch.reserveCapacity(50_000)
    for index in 0..<visitCount {
        batch.append(visit(index))
        if batch.count == 50_000 {
            try await store.record(visits: batch, sightings: [], foldWindow: 0)
            batch.removeAll(keepingCapacity: true)
        }
    }
    try await store.record(visits: batch, sightings: [], foldWindow: 0)
    var sightings: [IncidentSighting] = []
    for index in 0..<incidentCount {
        sightings.append(IncidentSighting(time: start + Double(index) * (90 * 86_400 / Double(incidentCount)), subject: "user\(index % userCount)",
                                          group: "pupils-ks3", client: "10.3.0.1", category: ["self-harm", "extremism", "pornography"][index % 3],
                                          severity: Severity.allCases[index % 4], site: "flag\(index).example"))
        if sightings.count == 10_000 {
            try await store.record(visits: [], sightings: sightings, foldWindow: 0)
            sightings.removeAll(keepingCapacity: true)
        }
    }
    try await store.record(visits: [], sightings: sightings, foldWindow: 0)
}
let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/large.sqlite")[.size] as? Int) ?? 0
print(String(format: "filled %d visits and %d incidents in %.1f s (%.0f visits/s in 50k batches); file %.0f MB",
             visitCount, incidentCount, fill, Double(visitCount) / fill, Double(size) / 1_048_576))

func median(_ runs: Int, _ body: () async throws -> Void) async rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<runs { times.append(try await seconds(body) * 1000) }
    return times.sorted()[runs / 2]
}
let list = try await median(11) { _ = try await store.incidents(IncidentQuery(limit: 50)) }
let listFiltered = try await median(11) { _ = try await store.incidents(IncidentQuery(statuses: [.new], minimumSeverity: .high, subject: "user42", limit: 50)) }
var probe = 0
let show = try await median(21) {
    probe = (probe + 7_919) % incidentCount + 1
    guard let incident = try await store.incident(id: Int64(probe)) else { return }
    _ = try await store.visits(subject: incident.subject, from: incident.created - 3_600, to: incident.lastSeen + 3_600, limit: 1_000)
}
print(String(format: "incidents list: median %.1f ms (filtered by status, severity and user: %.1f ms); incidents show with context: median %.1f ms",
             list, listFiltered, show))
