import Foundation
import NIOCore
import NIOPosix
import SchoolgatePolicy
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Answers "does this name live at that address?" for intercepted traffic, as Squid's
/// `host_verify_strict` does: a device that connects to one address while naming an allowed
/// site in its SNI or Host is borrowing the name. Lookups run on a thread pool (getaddrinfo
/// blocks) and are remembered for a minute.
public final class DestinationVerifier: Sendable {
    private let pool: NIOThreadPool
    private let cache = Mutex<[String: (addresses: Set<String>, expires: NIODeadline)]>([:])
    private let lookup: @Sendable (String) -> Set<String>

    /// `lookup` resolves a name to its addresses; the system resolver by default.
    public init(pool: NIOThreadPool, lookup: @escaping @Sendable (String) -> Set<String> = DestinationVerifier.systemLookup) {
        self.pool = pool
        self.lookup = lookup
    }

    func verify(_ name: HostName, at address: String, on eventLoop: EventLoop) -> EventLoopFuture<Bool> {
        if name.text == address { return eventLoop.makeSucceededFuture(true) }
        let now = NIODeadline.now()
        if let cached = cache.withLock({ $0[name.text] }), cached.expires > now {
            return eventLoop.makeSucceededFuture(cached.addresses.contains(address))
        }
        let lookup = lookup
        return pool.runIfActive(eventLoop: eventLoop) { lookup(name.text) }.map { addresses in
            self.cache.withLock { cache in
                if cache.count > 10_000 { cache.removeAll() }
                cache[name.text] = (addresses, now + .seconds(60))
            }
            return addresses.contains(address)
        }
    }

    public static func systemLookup(_ name: String) -> Set<String> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: Set<String> = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let socketAddress = entry.pointee.ai_addr {
                var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                if getnameinfo(socketAddress, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                    addresses.insert(String(cString: text))
                }
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }
}
