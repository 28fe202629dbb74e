import Foundation
import SchoolgateTestSupport
import Testing

@Suite(.enabled(if: Schoolgate.isBuilt && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs the built schoolgate binary and curl"))
struct AdminEndToEndTests {
    @Test func metricsAndHealthOnTheAdminAddressOnly() throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-admin")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try Schoolgate.exampleConfig(in: directory)
        let serve = try RunningSchoolgate(["serve", "--config", config, "--port", "0"])
        let ports = try #require(serve.listeningPorts())
        let admin = "http://127.0.0.1:\(try #require(ports.admin))"
        let proxy = "http://127.0.0.1:\(ports.proxy)"
        for _ in 0..<3 { _ = try Schoolgate.curl(["-o", "/dev/null", "-x", proxy, "http://gambling.filter-test.invalid/"]) }
        _ = try Schoolgate.curl(["-o", "/dev/null", "-x", proxy, "http://localhost:1/"])

        // The writer stores the visits within a batch interval (200 ms); the counters then say so.
        var metrics = try Schoolgate.curl([admin + "/metrics"]).stdout
        for _ in 0..<50 where (Self.value(of: "schoolgate_store_visits_written_total", in: metrics) ?? 0) < 3 {
            Thread.sleep(forTimeInterval: 0.1)
            metrics = try Schoolgate.curl([admin + "/metrics"]).stdout
        }
        #expect((Self.value(of: "schoolgate_store_visits_written_total", in: metrics) ?? 0) >= 3, "\(metrics)")
        let batches = (Self.value(of: #"schoolgate_store_batches_total{kind="background"}"#, in: metrics) ?? 0)
            + (Self.value(of: #"schoolgate_store_batches_total{kind="prompt"}"#, in: metrics) ?? 0)
        #expect(batches >= 1, "\(metrics)")
        #expect(Self.value(of: "schoolgate_store_visits_dropped_total", in: metrics) == 0, "\(metrics)")
        #expect(metrics.contains(#"schoolgate_requests_total{kind="http",verdict="block",group="pupils-ks3"} 3"#) ||
                metrics.contains(#"schoolgate_requests_total{group="pupils-ks3",kind="http",verdict="block"} 3"#), "\(metrics)")
        #expect(metrics.contains("schoolgate_request_duration_seconds_bucket"))
        #expect(metrics.contains(#"schoolgate_list_entries{category="gambling"}"#))
        #expect(metrics.contains("schoolgate_open_connections"))
        #expect(metrics.contains("schoolgate_store_queue_visits"))
        #expect(metrics.contains("schoolgate_lists_loaded_timestamp_seconds"))
        let health = try Schoolgate.curl(["-w", "\n%{http_code}", admin + "/healthz"]).stdout
        #expect(health.hasPrefix("{\"status\": \"ok\"") && health.hasSuffix("\n200"), "\(health)")
        // Not on the proxy port: there /metrics is just a request the proxy refuses.
        let onProxy = try Schoolgate.curl(["-w", "%{http_code}", "-o", "/dev/null", proxy + "/metrics"]).stdout
        #expect(onProxy == "400")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
    }

    /// A sample's value in Prometheus text, by its name and labels as written.
    static func value(of sample: String, in metrics: String) -> Double? {
        metrics.split(separator: "\n").lazy
            .compactMap { line -> Double? in
                guard line.hasPrefix(sample + " ") else { return nil }
                return Double(line.dropFirst(sample.count + 1))
            }
            .first
    }
}
