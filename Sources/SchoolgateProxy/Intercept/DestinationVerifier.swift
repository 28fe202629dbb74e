import NIOCore
import SchoolgatePolicy

/// Answers "does this name live at that address?" for intercepted traffic, as Squid's
/// `host_verify_strict` does: a device that connects to one address while naming an allowed
/// site in its SNI or Host is borrowing the name. Names are looked up through the proxy's
/// `NameCache`.
public final class DestinationVerifier: Sendable {
    private let names: NameCache

    public init(names: NameCache) {
        self.names = names
    }

    func verify(_ name: HostName, at address: String, on eventLoop: EventLoop) -> EventLoopFuture<Bool> {
        if name.text == address { return eventLoop.makeSucceededFuture(true) }
        return names.addresses(of: name.text, on: eventLoop).map { addresses in
            addresses.contains { $0.ipAddress == address }
        }
    }
}
