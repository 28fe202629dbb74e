/// The `[admin]` section: where Prometheus metrics (`/metrics`) and the health check
/// (`/healthz`) are served. Loopback by default; never the proxy's own address and port.
public struct AdminSettings: Sendable {
    /// Off unless configured (the example config turns it on, on loopback).
    public var listen: (host: String, port: Int)?

    static let settings = ["listen"]

    init() {}

    init(section: ConfigDocument.Section, file: String, problems: inout [ConfigProblem]) {
        var values = SectionValues(section, file: file)
        if let text = values.take("listen") {
            if PolicyConfig.lockedOffWords.contains(text.lowercased()) {
                listen = nil
            } else if let address = ProxySettings.listenAddress(text) {
                listen = address
            } else {
                problems.append(ConfigProblem(file: file, line: values.line("listen"), field: "[admin] listen",
                                              message: "expected ADDRESS:PORT, e.g. 127.0.0.1:9180, or off"))
            }
        }
        problems += values.unknown(expected: Self.settings)
    }
}
