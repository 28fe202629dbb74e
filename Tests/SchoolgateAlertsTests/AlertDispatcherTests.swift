import Foundation
import Logging
import SchoolgateTestSupport
import Testing
@testable import SchoolgateAlerts
@testable import SchoolgatePolicy
@testable import SchoolgateStore

/// A loopback webhook answering `status`, recording what it receives.
final class Webhook {
    let received = NSTemporaryDirectory() + "webhook-" + UUID().uuidString
    private let server: LoopbackScript
    var port: Int { server.port }

    init(status: Int) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/webhook.py").path
        server = try LoopbackScript(script, arguments: [received, String(status)])
    }

    var bodies: [String] {
        ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(atPath: received)
    }

    deinit { stop() }
}

private let now = Date()

private func storeWithIncidents() async throws -> (SQLiteStore, String, [Int64]) {
    let directory = NSTemporaryDirectory() + "schoolgate-alerts-" + UUID().uuidString
    let store = try SQLiteStore(path: directory + "/db.sqlite")
    let ids = try await store.record(visits: [], sightings: [
        IncidentSighting(time: now, subject: "pupil1", group: "ks3", client: "10.3.0.1", category: "extremism", severity: .critical, site: "bad.example"),
        IncidentSighting(time: now, subject: "pupil2", group: "ks3", client: "10.3.0.2", category: "games", severity: .low, site: "games.example"),
    ], foldWindow: 60)
    return (store, directory, ids)
}

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "needs python3 for the webhook"))
struct AlertDispatcherTests {
    func dispatcher(_ store: SQLiteStore, _ targets: [AlertTarget]) -> AlertDispatcher {
        var settings = AlertDispatcher.Settings(targets: targets, minimumSeverity: .high, schoolName: "Test School")
        settings.retryAfter = 0
        settings.timeout = 5
        return AlertDispatcher(store: store, settings: settings, logger: Logger(label: "test"), since: now - 60)
    }

    @Test func postsIncidentsAtOrAboveTheSeverityToAWebhookOnce() async throws {
        let (store, directory, ids) = try await storeWithIncidents()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let webhook = try Webhook(status: 200)
        defer { webhook.stop() }
        let target = AlertTarget.webhook(URL(string: "http://127.0.0.1:\(webhook.port)/alert")!)
        let alerts = dispatcher(store, [target])
        await alerts.deliverPending(now: Date())
        await alerts.deliverPending(now: Date())
        let bodies = webhook.bodies
        #expect(bodies.count == 1, "once, and not the low-severity one")
        let json = try JSONSerialization.jsonObject(with: Data(bodies[0].utf8)) as? [String: Any]
        #expect(json?["incident"] as? Int == Int(ids[0]))
        #expect(json?["severity"] as? String == "critical")
        #expect(json?["user"] as? String == "pupil1")
        #expect((json?["text"] as? String)?.contains("schoolgate incidents show \(ids[0])") == true)
        let deliveries = try await store.alertDeliveries(incident: ids[0])
        #expect(deliveries.map(\.delivered) == [true])
        #expect(deliveries.first?.target == target.description)
    }

    @Test func givesTheIncidentToACommandOnStandardInput() async throws {
        let (store, directory, ids) = try await storeWithIncidents()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/mail.json"
        let alerts = dispatcher(store, [.command(["/bin/sh", "-c", "cat > \(output)"])])
        await alerts.deliverPending(now: Date())
        let mail = try String(contentsOfFile: output, encoding: .utf8)
        #expect(mail.contains("\"incident\":\(ids[0])"))
        #expect(try await store.alertDeliveries(incident: ids[0]).first?.delivered == true)
    }

    @Test func recordsFailuresAndRetriesUntilDelivered() async throws {
        let (store, directory, ids) = try await storeWithIncidents()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let failing = try Webhook(status: 500)
        defer { failing.stop() }
        let url = URL(string: "http://127.0.0.1:\(failing.port)/alert")!
        await dispatcher(store, [.webhook(url)]).deliverPending(now: Date())
        await dispatcher(store, [.webhook(url)]).deliverPending(now: Date())
        var delivery = try #require(try await store.alertDeliveries(incident: ids[0]).first)
        #expect(delivery.delivered == false)
        #expect(delivery.attempts == 2)
        #expect(delivery.lastError == "webhook answered 500")
        // An unreachable target fails on its own; a working one still delivers.
        let unreachable = AlertTarget.webhook(URL(string: "http://127.0.0.1:1/alert")!)
        await dispatcher(store, [unreachable]).deliverPending(now: Date())
        delivery = try #require(try await store.alertDeliveries(incident: ids[0]).first { $0.target == unreachable.description })
        #expect(!delivery.delivered)
        #expect(delivery.lastError != nil)
        let output = directory + "/late.json"
        await dispatcher(store, [.command(["/bin/sh", "-c", "cat > \(output)"])]).deliverPending(now: Date())
        #expect(FileManager.default.fileExists(atPath: output))
        #expect(try await store.incident(id: ids[0]) != nil, "the incident is untouched by failed alerts")
    }

    @Test func stopsAfterTheLastAttempt() async throws {
        let (store, directory, ids) = try await storeWithIncidents()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var settings = AlertDispatcher.Settings(targets: [.command(["/bin/false"])], minimumSeverity: .high, schoolName: "Test")
        settings.retryAfter = 0
        settings.maxAttempts = 3
        let alerts = AlertDispatcher(store: store, settings: settings, logger: Logger(label: "test"), since: now - 60)
        for _ in 0..<5 { await alerts.deliverPending(now: Date()) }
        let delivery = try #require(try await store.alertDeliveries(incident: ids[0]).first)
        #expect(delivery.attempts == 3)
        #expect(delivery.lastError == "/bin/false exited with status 1")
    }
}
