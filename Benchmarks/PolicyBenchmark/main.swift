// Policy benchmark: list load time, memory held, and decision time.
//
//   swift run -c release --static-swift-stdlib PolicyBenchmark [domain-count]
//
// Generates `domain-count` (default 5,000,000) random domains into a list file, loads it through
// the same config loader the proxy uses, then times decisions for four-label hosts, half of them
// below a listed domain. Also loads ../shared/blocklists/ut1 when it is present. Prints figures;
// asserts nothing (targets are judged by reading them, not by a timed test).
import Foundation
import SchoolgateConfig
import SchoolgatePolicy

#if canImport(Glibc)
import Glibc

// glibc keeps freed heap pages mapped unless asked: trimmed, the figure is what the lists hold.
// (The proxy does not trim after a list load: idle, its resident size was the same with and
// without, 7 December. Its writer trims once it has written a backlog of visits.)
@_silgen_name("malloc_trim") func mallocTrim(_ pad: Int) -> Int32
#endif

func residentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kilobytes = Double(line.split(separator: " ")[1]) else { return .nan }
    return kilobytes / 1024
}

/// How much of the heap is on 2 MiB pages: decision times vary from run to run with it.
func hugePageMegabytes() -> Double {
    guard let rollup = try? String(contentsOfFile: "/proc/self/smaps_rollup", encoding: .utf8),
          let line = rollup.split(separator: "\n").first(where: { $0.hasPrefix("AnonHugePages:") }),
          let kilobytes = Double(line.split(separator: " ")[1]) else { return .nan }
    return kilobytes / 1024
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// A small deterministic generator, so every run lists the same names.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
let tlds = ["com", "net", "org", "co.uk", "de", "fr", "info", "io", "ru", "xyz"]
func label(_ random: inout SplitMix, _ length: Int) -> String {
    String(decoding: (0..<length).map { _ in letters[Int(random.next() % UInt64(letters.count))] }, as: UTF8.self)
}
func domain(_ random: inout SplitMix) -> String {
    label(&random, 6 + Int(random.next() % 9)) + "." + tlds[Int(random.next() % UInt64(tlds.count))]
}

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 5_000_000 : 5_000_000
let directory = NSTemporaryDirectory() + "schoolgate-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }

var random = SplitMix(state: 42)
var listed: [String] = []
let generated = try seconds {
    var text = ""
    text.reserveCapacity(count * 16)
    for index in 0..<count {
        let name = domain(&random)
        if index % 1000 == 0 { listed.append(name) }
        text += name
        text += "\n"
    }
    try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/domains"))
}
try """
    [category generated]
    domains = domains
    [group pupils]
    block = generated
    """.write(toFile: directory + "/schoolgate.conf", atomically: true, encoding: .utf8)
print("generated \(count) domains in \(String(format: "%.2f", generated)) s")

let rssBefore = residentMegabytes()
var loaded: LoadedPolicy!
let loadSeconds = try seconds { loaded = try PolicyLoader.load(configPath: directory + "/schoolgate.conf") }
let rssUntrimmed = residentMegabytes()
#if canImport(Glibc)
_ = mallocTrim(0)
#endif
let rssAfter = residentMegabytes()
print(String(format: "load: %.2f s for %d entries (%d distinct) from a list file", loadSeconds, loaded.totalEntries, loaded.policy.index.domainCount))
print(String(format: "rss: %.1f MB before load, %.1f MB after it (%.1f MB before malloc_trim), %.1f MB for the lists; index arrays %.1f MB, %.0f MB on huge pages",
             rssBefore, rssAfter, rssUntrimmed, rssAfter - rssBefore, Double(loaded.policy.index.memoryFootprint) / 1_048_576, hugePageMegabytes()))

// Hosts with four labels: half below a listed domain (blocked), half not listed at all.
var hosts: [HostName] = []
var hostTexts: [String] = []
for index in 0..<20_000 {
    let text = index % 2 == 0
        ? "\(label(&random, 5)).\(label(&random, 4)).\(listed[index % listed.count])"
        : "\(label(&random, 5)).\(label(&random, 4)).\(label(&random, 8)).com"
    hostTexts.append(text)
    hosts.append(try HostName(text))
}
let policy = loaded.policy
let time = LocalTime(weekday: .monday, minuteOfDay: 600)
var blocked = 0

/// This thread's CPU time: on a virtual machine it leaves out the time the hypervisor gave the
/// core to someone else (steal), which wall time counts.
func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// The machine's steal time so far, in seconds (field 8 of /proc/stat's cpu line).
func stealSeconds() -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
          let line = stat.split(separator: "\n").first else { return .nan }
    let fields = line.split(separator: " ")
    return fields.count > 8 ? (Double(fields[8]) ?? .nan) / Double(sysconf(Int32(_SC_CLK_TCK))) : .nan
}

@MainActor func medianNanoseconds(rounds: Int, of indices: [Int]? = nil, _ body: (Int) -> Void) -> (median: Double, p99: Double, cpuMedian: Double) {
    let indices = indices ?? Array(hosts.indices)
    var perDecision: [Double] = []
    var cpuPerDecision: [Double] = []
    for _ in 0..<rounds {
        let cpuStart = threadCPUSeconds()
        let elapsed = seconds { for index in indices { body(index) } }
        cpuPerDecision.append((threadCPUSeconds() - cpuStart) * 1e9 / Double(indices.count))
        perDecision.append(elapsed * 1e9 / Double(indices.count))
    }
    perDecision.sort()
    cpuPerDecision.sort()
    return (perDecision[perDecision.count / 2], perDecision[min(perDecision.count - 1, perDecision.count * 99 / 100)], cpuPerDecision[cpuPerDecision.count / 2])
}

let stealBefore = stealSeconds(), wallBefore = DispatchTime.now().uptimeNanoseconds
let decide = medianNanoseconds(rounds: 60) { index in
    let request = PolicyRequest(group: "pupils", host: hosts[index], time: time)
    if policy.decide(request).verdict == .block { blocked += 1 }
}
let stealShare = (stealSeconds() - stealBefore) / (Double(DispatchTime.now().uptimeNanoseconds - wallBefore) / 1e9)
print(String(format: "decide (host already normalised): median %.0f ns per decision over 60 rounds of %d, slowest round %.0f ns",
             decide.median, hosts.count, decide.p99))
print(String(format: "  on-CPU median %.0f ns (this thread's CPU time: no steal); the machine's steal meanwhile: %.0f %% of a core",
             decide.cpuMedian, stealShare * 100))
for (name, parity) in [("listed (blocked)", 0), ("unlisted (allowed)", 1)] {
    let half = medianNanoseconds(rounds: 30, of: hosts.indices.filter { $0 % 2 == parity }) { index in
        if policy.decide(PolicyRequest(group: "pupils", host: hosts[index], time: time)).verdict == .block { blocked += 1 }
    }
    print(String(format: "  of which %@ hosts: median %.0f ns", name, half.median))
}
let full = medianNanoseconds(rounds: 30) { index in
    guard let host = try? HostName(hostTexts[index]) else { return }
    if policy.decide(PolicyRequest(group: "pupils", host: host, time: time)).verdict == .block { blocked += 1 }
}
print(String(format: "normalise + decide: median %.0f ns per decision over 30 rounds, slowest round %.0f ns", full.median, full.p99))
print("blocked \(blocked) of \(hosts.count * 120) decisions (half the hosts are below listed names)")

let ut1 = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/blocklists/ut1").path
let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("config/schoolgate.conf").path
if FileManager.default.fileExists(atPath: ut1 + "/global_usage") {
    loaded = nil
    let configText = try String(contentsOfFile: example, encoding: .utf8)
        .replacingOccurrences(of: "ut1 = ../blocklists/ut1-starter", with: "ut1 = \(ut1)")
        .replacingOccurrences(of: "local = ../blocklists/schoolgate", with: "local = \((example as NSString).deletingLastPathComponent)/../blocklists/schoolgate")
        .replacingOccurrences(of: "terms = guest-terms.txt", with: "terms = \((example as NSString).deletingLastPathComponent)/guest-terms.txt")
    try configText.write(toFile: directory + "/ut1.conf", atomically: true, encoding: .utf8)
    let before = residentMegabytes()
    var ut1Loaded: LoadedPolicy!
    let ut1Seconds = try seconds { ut1Loaded = try PolicyLoader.load(configPath: directory + "/ut1.conf") }
    print(String(format: "UT1 (example config's categories): %.2f s, %d entries, rss +%.1f MB", ut1Seconds, ut1Loaded.totalEntries, residentMegabytes() - before))
} else {
    print("UT1 lists not found at \(ut1): skipped")
}
