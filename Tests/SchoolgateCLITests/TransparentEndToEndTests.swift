import Foundation
import SchoolgateTestSupport
import Testing

/// Three network namespaces of the test's own: a client, a router running schoolgate with
/// iptables REDIRECT, and an origin. Private addresses (10.200.x.x) exist only inside them.
/// The router's names resolve from its own hosts file, and its DNS points at its own
/// loopback, so no lookup leaves the namespaces.
final class TestNetwork {
    let id = String(UUID().uuidString.prefix(6)).lowercased()
    var client: String { "sgc-\(id)" }
    var router: String { "sgr-\(id)" }
    var origin: String { "sgo-\(id)" }
    private var originProcess: Process?
    private let originInput = Pipe()

    static var isPermitted: Bool {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/iptables") || FileManager.default.isExecutableFile(atPath: "/sbin/iptables"),
              let probe = try? Schoolgate.shell("ip netns add sg-probe && ip netns del sg-probe") else { return false }
        return probe.status == 0
    }

    func up(certificates: String) throws {
        let commands = [
            "ip netns add \(client)", "ip netns add \(router)", "ip netns add \(origin)",
            "ip link add c-\(id) netns \(client) type veth peer name rc-\(id) netns \(router)",
            "ip link add o-\(id) netns \(origin) type veth peer name ro-\(id) netns \(router)",
            "ip -n \(client) addr add 10.200.1.2/24 dev c-\(id)", "ip -n \(router) addr add 10.200.1.1/24 dev rc-\(id)",
            "ip -n \(origin) addr add 10.200.2.2/24 dev o-\(id)", "ip -n \(router) addr add 10.200.2.1/24 dev ro-\(id)",
            "ip -n \(client) link set c-\(id) up", "ip -n \(router) link set rc-\(id) up", "ip -n \(router) link set ro-\(id) up",
            "ip -n \(origin) link set o-\(id) up",
            "ip -n \(client) link set lo up", "ip -n \(router) link set lo up", "ip -n \(origin) link set lo up",
            "ip -n \(client) route add default via 10.200.1.1", "ip -n \(origin) route add default via 10.200.2.1",
            "ip netns exec \(router) sysctl -q -w net.ipv4.ip_forward=1",
            "ip netns exec \(router) iptables -t nat -A PREROUTING -i rc-\(id) -p tcp --dport 80 -j REDIRECT --to-ports 3129",
            "ip netns exec \(router) iptables -t nat -A PREROUTING -i rc-\(id) -p tcp --dport 443 -j REDIRECT --to-ports 3130",
            "mkdir -p /etc/netns/\(router)",
            "printf '127.0.0.1 localhost\\n10.200.2.2 school-site.test\\n10.200.2.50 elsewhere.test\\n' > /etc/netns/\(router)/hosts",
            "printf 'nameserver 127.0.0.1\\n' > /etc/netns/\(router)/resolv.conf",
        ]
        for command in commands {
            let result = try Schoolgate.shell(command)
            if result.status != 0 { throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "\(command): \(result.stdout)"]) }
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/netns_origin.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", origin, "python3", script, certificates]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = originInput
        try process.run()
        originProcess = process
        _ = out.fileHandleForReading.availableData
    }

    /// A network with its origin serving a self-signed certificate made in `directory`.
    static func started(in directory: String) throws -> TestNetwork {
        try TestShell.run("openssl req -x509 -newkey rsa:2048 -nodes -keyout \(directory)/key.pem -out \(directory)/cert.pem -days 2 -subj /CN=school-site.test")
        let network = TestNetwork()
        try network.up(certificates: directory)
        return network
    }

    /// curl from the client namespace; `resolve` pins a name to the origin as the client's DNS would.
    func curl(_ arguments: [String]) throws -> String {
        try Schoolgate.shell((["ip", "netns", "exec", client, "curl", "-s", "-k", "--max-time", "10"] + arguments).map { "'\($0)'" }.joined(separator: " ")).stdout
    }

    deinit {
        try? originInput.fileHandleForWriting.close()
        originProcess?.waitUntilExit()
        for namespace in [client, router, origin] { _ = try? Schoolgate.shell("ip netns del \(namespace)") }
        _ = try? Schoolgate.shell("rm -rf /etc/netns/\(router)")
    }
}

@Suite(.enabled(if: Schoolgate.isBuilt && TestNetwork.isPermitted, "needs root, ip netns, iptables and the built schoolgate binary"))
struct TransparentEndToEndTests {
    @Test func interceptedTrafficIsDecidedOnHostAndSNIAndLoggedPerDevice() throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-netns")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let network = try TestNetwork.started(in: directory)

        let config = try Schoolgate.exampleConfig(in: directory)
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "addresses = 10.3.0.0/16, 127.0.0.0/8, ::1", with: "addresses = 10.3.0.0/16, 127.0.0.0/8, ::1, 10.200.1.0/24")
            .replacingOccurrences(of: "connect-ports = 443", with: "connect-ports = 443\nintercept-http = 0.0.0.0:3129\nintercept-tls = 0.0.0.0:3130")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let serve = try RunningSchoolgate(["netns", "exec", network.router, Schoolgate.binary, "serve", "--config", config, "--port", "0"], executable: "/usr/sbin/ip")
        _ = try #require(serve.listeningPorts())

        // Plain HTTP: decided on the Host header, fetched from the address the device chose.
        let page = try network.curl(["--resolve", "school-site.test:80:10.200.2.2", "http://school-site.test/lesson"])
        #expect(page == "origin saw GET /lesson host=school-site.test\n", "\(page)")
        let blocked = try network.curl(["-H", "Host: gambling.filter-test.invalid", "http://10.200.2.2/bet"])
        #expect(blocked.contains("This website is blocked") && blocked.contains("gambling"))
        // TLS: decided on the SNI, never decrypted.
        let secure = try network.curl(["--resolve", "school-site.test:443:10.200.2.2", "https://school-site.test/secure"])
        #expect(secure == "origin saw GET /secure host=school-site.test\n", "\(secure)")
        let refused = try network.curl(["-o", "/dev/null", "-w", "%{http_code}", "--resolve", "gambling.filter-test.invalid:443:10.200.2.2",
                                        "https://gambling.filter-test.invalid/"])
        #expect(refused == "000", "a blocked SNI gets a closed connection: \(refused)")
        // A borrowed name: the SNI says elsewhere.test, which does not live at 10.200.2.2.
        let borrowed = try network.curl(["--resolve", "elsewhere.test:443:10.200.2.2", "https://elsewhere.test/fronted"])
        #expect(borrowed.contains("origin saw GET /fronted"), "flagged, not blocked, by default")
        // Not TLS on 443: the configured action (block) closes it before anything goes upstream.
        let plainOn443 = try network.curl(["-o", "/dev/null", "-w", "%{http_code}", "http://10.200.2.2:443/not-tls"])
        #expect(plainOn443 == "000", "\(plainOn443)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)

        let visits = try Schoolgate.run(["visits", "--user", "10.200.1.2", "--config", config, "--as", "dsl", "--json"]).stdout
        let records = try #require(try JSONSerialization.jsonObject(with: Data(visits.utf8)) as? [[String: Any]], "\(visits)")
        func record(_ host: String) -> [String: Any]? { records.first { $0["host"] as? String == host || $0["sni"] as? String == host } }
        #expect(record("school-site.test")?["status"] as? Int == 200)
        #expect(record("gambling.filter-test.invalid")?["verdict"] as? String == "block")
        #expect(records.contains { $0["sni"] as? String == "school-site.test" && $0["method"] as? String == "CONNECT" && $0["host"] as? String == "10.200.2.2" })
        #expect(record("elsewhere.test")?["rule"] as? String == "destination-mismatch", "\(records)")
        #expect(records.contains { $0["rule"] as? String == "tunnel-refused" && $0["host"] as? String == "10.200.2.2" && $0["sni"] == nil })
        let incidents = try Schoolgate.run(["incidents", "list", "--config", config, "--as", "dsl"]).stdout
        #expect(incidents.contains("bypass-attempt"), "\(incidents)")
    }

    @Test func aGuestOnTheInterceptedNetworkAgreesFirstAndIsResetUntilThen() throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-netns-guest")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let network = try TestNetwork.started(in: directory)
        let config = try Schoolgate.exampleConfig(in: directory)
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "addresses = 10.99.0.0/16", with: "addresses = 10.99.0.0/16, 10.200.1.0/24")
            .replacingOccurrences(of: "connect-ports = 443", with: "connect-ports = 443\nintercept-http = 0.0.0.0:3129\nintercept-tls = 0.0.0.0:3130")
            // The consent page on the router's guest-side address, which the firewall leaves alone.
            .replacingOccurrences(of: "listen = 127.0.0.1:0\n# https-listen", with: "listen = 10.200.1.1:0\n# https-listen")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let serve = try RunningSchoolgate(["netns", "exec", network.router, Schoolgate.binary, "serve", "--config", config, "--port", "0"], executable: "/usr/sbin/ip")
        let ports = try #require(serve.listeningPorts())
        let page = "http://10.200.1.1:\(try #require(ports.consentPage))/"

        let redirected = try network.curl(["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--resolve", "school-site.test:80:10.200.2.2", "http://school-site.test/"])
        #expect(redirected == "302 \(page)", "\(redirected)")
        let refused = try Schoolgate.shell("ip netns exec \(network.client) curl -sS -k --max-time 10 --resolve school-site.test:443:10.200.2.2 https://school-site.test/ 2>&1")
        // The reset can land while curl is still connecting or once it sends its hello.
        #expect(refused.stdout.contains("reset") || refused.stdout.contains("Couldn't connect"), "refused fast, with a reset: \(refused.stdout)")
        #expect(!refused.stdout.contains("origin saw"))

        let form = try network.curl([page])
        let token = try #require(form.range(of: "name=\"token\" value=\"").map { String(form[$0.upperBound...].prefix { $0 != "\"" }) })
        #expect(try network.curl(["-o", "/dev/null", "-w", "%{http_code}", "--data", "token=\(token)&agree=yes&name=Visitor", page + "accept"]) == "303")
        let secure = try network.curl(["--resolve", "school-site.test:443:10.200.2.2", "https://school-site.test/after-consent"])
        #expect(secure == "origin saw GET /after-consent host=school-site.test\n", "\(secure)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
        let visits = try Schoolgate.run(["visits", "--user", "guest:Visitor", "--config", config, "--as", "dsl"]).stdout
        #expect(visits.contains("10.200.2.2:443"), "the guest's tunnel is logged by the name they gave: \(visits)")
    }
}
