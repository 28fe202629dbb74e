// Does visit logging move the proxy's latency? The proxy runs in this process, on one event
// loop, against an in-process origin (1 KiB answers): with visits dropped on the floor, and
// with the real writer and SQLite store, topped up with synthetic visits so that the store
// takes at least 20,000 events a second. wrk drives it over 50 keep-alive connections, at two
// loads: paced (each connection waits 25 ms between requests, about 1,900 requests a second,
// a busy school's peak with room to spare) and flat out. The runs alternate to spread the
// machine's noise.
//
// Every stored visit, the proxy's own and the top-up's, goes to one of `users` users in turn
// (default 1,000, a secondary school's pupils): each user's visits land in their own part of
// the (subject, time) index, so a batch over many users touches a page per user. Until
// 7 December every visit had the same user, the writer's cheapest case.
//
// Flat out, p99 is a queue-length figure: with every core busy (wrk, origin, proxy and writer
// share two), whatever CPU the writer takes shows up as latency. Paced, p99 is the wait a
// request sees while the writer works beside it.
//
//   swift run -c release --static-swift-stdlib ProxyLoggingBenchmark [seconds-per-run] [runs] [users]      (needs wrk; loopback only)
//   (experiment knobs, from the environment: see `Knob`)
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SchoolgateConfig
import SchoolgatePolicy
import SchoolgateProxy
import SchoolgateStore
import Synchronization

// Without wrk every figure would print as nan: say what is missing instead.
guard (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/wrk") }) else {
    FileHandle.standardError.write(Data("ProxyLoggingBenchmark: wrk is not on PATH (Debian: apt-get install wrk)\n".utf8))
    exit(2)
}
let seconds = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10 : 10
let rounds = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 5 : 5
/// Made once: naming a user per visit on the event loop would add to the latency measured.
let users = (0..<max(1, CommandLine.arguments.count > 3 ? Int(CommandLine.arguments[3]) ?? 1_000 : 1_000)).map { "pupil\($0)" }
/// The user of the nth visit: round the users in turn.
@Sendable func user(_ n: Int) -> String { users[n % users.count] }
let directory = NSTemporaryDirectory() + "schoolgate-logging-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }

/// Answers every request with 1 KiB.
final class OriginHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let body = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1024)
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "1024")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
let originGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let origin = try await ServerBootstrap(group: originGroup)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(OriginHandler())
        }
    }
    .bind(host: "127.0.0.1", port: 0).get()
let originPort = origin.localAddress!.port!

let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let configText = try String(contentsOf: example.appendingPathComponent("config/schoolgate.conf"), encoding: .utf8)
    .replacingOccurrences(of: "../blocklists/", with: example.appendingPathComponent("blocklists").path + "/")
    .replacingOccurrences(of: "terms = guest-terms.txt", with: "terms = " + example.appendingPathComponent("config/guest-terms.txt").path)
try configText.write(toFile: directory + "/schoolgate.conf", atomically: true, encoding: .utf8)
let loaded = try PolicyLoader.load(configPath: directory + "/schoolgate.conf")
try """
    wrk.method = "GET"
    wrk.path = "http://127.0.0.1:\(originPort)/1k"
    wrk.headers["Host"] = "127.0.0.1:\(originPort)"
    """.write(toFile: directory + "/absolute.lua", atomically: true, encoding: .utf8)
try """
    wrk.method = "GET"
    wrk.path = "http://127.0.0.1:\(originPort)/1k"
    wrk.headers["Host"] = "127.0.0.1:\(originPort)"
    function delay() return 25 end
    """.write(toFile: directory + "/paced.lua", atomically: true, encoding: .utf8)

enum Load: String { case paced, flatOut = "flat out" }

struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func wrk(port: Int, load: Load) throws -> (rps: Double, p99: Double) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["wrk", "-t1", "-c50", "-d\(seconds)s", "--latency", "-s", directory + (load == .paced ? "/paced.lua" : "/absolute.lua"), "http://127.0.0.1:\(port)"]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchmarkFailure("wrk exited with status \(process.terminationStatus): \(text)")
    }
    func milliseconds(_ value: Substring) -> Double {
        if value.hasSuffix("ms") { return Double(value.dropLast(2)) ?? .nan }
        if value.hasSuffix("us") { return (Double(value.dropLast(2)) ?? .nan) / 1000 }
        if value.hasSuffix("s") { return (Double(value.dropLast()) ?? .nan) * 1000 }
        return .nan
    }
    let lines = text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
    let rps = lines.first { $0.first == "Requests/sec:" }.flatMap { Double($0[1]) } ?? .nan
    let p99 = lines.first { $0.first == "99%" }.map { milliseconds($0[1]) } ?? .nan
    return (rps, p99)
}

/// Knobs for experiments, from the environment; without them the benchmark runs what `serve` runs.
///   BENCH_STORE=none       visits are handed to a task that throws them away every 200 ms: what
///                          logging costs the proxy without SQLite (7 December: within the noise)
///   BENCH_LOADS=flat       flat out only, and no saturated rounds
///   BENCH_BATCH=n, BENCH_INTERVAL_MS=n   the writer's batch size and wait between batches
enum Knob {
    static let environment = ProcessInfo.processInfo.environment
    static let discard = environment["BENCH_STORE"] == "none"
    static let flatOnly = environment["BENCH_LOADS"] == "flat"
    static let batchSize = Int(environment["BENCH_BATCH"] ?? "") ?? MonitoringWriter.defaultBatchSize
    static let interval = Duration.milliseconds(Int(environment["BENCH_INTERVAL_MS"] ?? "") ?? 200)
}
/// Visits handed off under BENCH_STORE=none, until the next throw-away.
let discarded = Mutex<[Visit]>([])
/// Visits the proxy itself logged in this run.
let served = Atomic<Int>(0)

func benchmarkConfiguration() -> ProxyConfiguration {
    var configuration = ProxyConfiguration()
    configuration.port = 0
    configuration.upstreamAllowed = { $0.text == "127.0.0.1" }
    return configuration
}

struct Run {
    var rps: Double, p99: Double, events: Double, prompt: Int, background: Int, yielded: Int, dropped: Int
    /// Milliseconds from each incident sighting's submission to its commit (saturated runs).
    var incidentWaits: [Double] = []
}

/// When each sighting not yet stored was submitted, oldest first; and how long the stored ones waited.
let sightingsPending = Mutex<[ContinuousClock.Instant]>([])
let sightingWaits = Mutex<[Double]>([])
let spinning = Atomic<Bool>(false)

@MainActor func run(logging: Bool, load: Load, saturated: Bool = false) async throws -> Run {
    let store = try SQLiteStore(path: directory + "/visits-\(UUID().uuidString).sqlite")
    _ = served.exchange(0, ordering: .relaxed)
    sightingWaits.withLock { $0 = [] }
    let writer = MonitoringWriter(store: store, batchSize: Knob.batchSize, logger: Logger(label: "bench")) { ids in
        let now = ContinuousClock.now
        let submitted = sightingsPending.withLock { pending in
            let taken = Array(pending.prefix(ids.count))
            pending.removeFirst(taken.count)
            return taken
        }
        sightingWaits.withLock { $0 += submitted.map { Double((now - $0).components.attoseconds) / 1e15 + Double((now - $0).components.seconds) * 1e3 } }
    }
    // The writer as `serve` runs it (200 ms between batches; until session 9 this ran every 50 ms).
    let writing = Task { await writer.run(interval: Knob.interval) }
    @Sendable func handOff(_ visit: Visit) {
        if Knob.discard { discarded.withLock { $0.append(visit) } } else { writer.submit(visit) }
    }
    let shared = ProxyContext(configuration: benchmarkConfiguration(), policy: loaded.policy, calendar: loaded.calendar, logger: Logger(label: "bench"),
                              visitSink: { visit, _ in
                                  guard logging else { return }
                                  var visit = visit
                                  visit.user = user(served.add(1, ordering: .relaxed).oldValue)
                                  handOff(visit)
                              })
    let server = try await ProxyServer(shared: shared, threads: 1)
    // The top-up: synthetic visits that bring the store to at least 20,000 events a second,
    // counting the proxy's own. Flat out the proxy logs more than that itself and nothing is
    // added. The shortfall is worked out from the time elapsed, not per sleep: a 10 ms sleep
    // oversleeps, and topping up 200 a tick stored 19,740 a second, not 20,000.
    let topping = Task.detached {
        guard logging else { return }
        var visit = Visit(time: Date(), user: nil, group: "pupils-ks3", client: "10.3.0.1", method: "GET", host: "example.com",
                          url: "http://example.com/", verdict: .allow, rule: .defaultAllow, status: 200)
        let start = ContinuousClock.now
        var added = 0
        while !Task.isCancelled {
            let elapsed = ContinuousClock.now - start
            let due = Int(Double(elapsed.components.seconds) * 20_000 + Double(elapsed.components.attoseconds) * 20_000e-18)
            let shortfall = due - served.load(ordering: .relaxed) - added
            for index in 0..<max(0, shortfall) {
                visit.user = user(added + index)
                handOff(visit)
            }
            added += max(0, shortfall)
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
    let dropping = Task.detached {
        while Knob.discard && !Task.isCancelled {
            // Freed here, off the event loop, as the writer would.
            var taken: [Visit] = []
            discarded.withLock { swap(&taken, &$0) }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
    // Saturated: a spinning thread per core at the proxy's own priority, so there is no idle CPU
    // for a SCHED_IDLE batch, and an incident sighting every 500 ms.
    var spinners: [Thread] = []
    var raising: Task<Void, Never>?
    if saturated {
        spinning.store(true, ordering: .relaxed)
        for _ in 0..<ProcessInfo.processInfo.activeProcessorCount {
            spinners.append(Thread { while spinning.load(ordering: .relaxed) {} })
            spinners.last!.start()
        }
        raising = Task.detached {
            while !Task.isCancelled {
                sightingsPending.withLock { $0.append(.now) }
                writer.submit(nil, sighting: IncidentSighting(time: Date(), subject: "pupil", group: "pupils-ks3", client: "10.3.0.1",
                                                              category: "self-harm", severity: .high, site: "harm.example"))
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }
    let result = try wrk(port: server.localAddress!.port!, load: load)
    raising?.cancel()
    spinning.store(false, ordering: .relaxed)
    topping.cancel()
    dropping.cancel()
    try await server.shutdown()
    writing.cancel()
    await writing.value
    let stats = writer.stats
    return Run(rps: result.rps, p99: result.p99, events: Double(stats.writtenVisits) / Double(seconds), prompt: stats.promptBatches,
               background: stats.backgroundBatches, yielded: stats.yieldedBatches, dropped: stats.droppedVisits, incidentWaits: sightingWaits.withLock { $0 })
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
print("visits over \(users.count) users, \(seconds) s a run, \(rounds) rounds of off and on")
for load in Knob.flatOnly ? [Load.flatOut] : [Load.paced, .flatOut] {
    var off: [Run] = []
    var on: [Run] = []
    for _ in 0..<rounds {
        off.append(try await run(logging: false, load: load))
        on.append(try await run(logging: true, load: load))
    }
    print("\(load.rawValue):")
    for (name, runs) in [("  logging off", off), ("  logging on ", on)] {
        print(String(format: "%@: %.0f req/s, p99 %.2f ms, %.0f visits/s stored (runs: %@)", name, median(runs.map(\.rps)), median(runs.map(\.p99)),
                     median(runs.map(\.events)), runs.map { String(format: "%.0f/%.2fms", $0.rps, $0.p99) }.joined(separator: ", ")))
    }
    print("  writer batches, prompt/background: " + on.map { "\($0.prompt)/\($0.background)" }.joined(separator: ", "))
    print(String(format: "  p99 change with logging: %+.1f %%", (median(on.map(\.p99)) / median(off.map(\.p99)) - 1) * 100))
    // The medians above compare runs minutes apart; the machine's drift between them is as large
    // as the target. Each on run beside the off run just before it sees the same machine.
    let paired = zip(off, on).map { ($1.p99 / $0.p99 - 1) * 100 }
    print(String(format: "  p99 change, each round against itself: median %+.1f %% (%@)", median(paired),
                 paired.map { String(format: "%+.1f", $0) }.joined(separator: ", ")))
}

// Starvation check: the writer's background batches run only on idle CPU; with none idle, the
// prompt rule must still store every visit and each incident within seconds.
print("saturated (a spinning thread per core, paced load, an incident sighting every 500 ms):")
for _ in 0..<(Knob.flatOnly ? 0 : rounds) {
    let result = try await run(logging: true, load: .paced, saturated: true)
    let waits = result.incidentWaits.sorted()
    print(String(format: "  %.0f req/s, p99 %.2f ms, %.0f visits/s stored, %d dropped, batches prompt/background %d/%d, %d background given up; %d incidents stored, waited median %.0f ms, max %.0f ms",
                 result.rps, result.p99, result.events, result.dropped, result.prompt, result.background, result.yielded, waits.count,
                 waits.isEmpty ? .nan : waits[waits.count / 2], waits.last ?? .nan))
}
try await origin.close().get()
try await originGroup.shutdownGracefully()
