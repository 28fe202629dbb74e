import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Host names resolved through the system resolver and remembered for a while, as Squid's
/// ipcache and Traffic Server's HostDB do. Without it every upstream connection to a name (every
/// tunnel above all) handed a `getaddrinfo` to another thread, which read /etc/hosts and asked
/// the school's DNS server again. Lookups run on a thread pool, since `getaddrinfo` blocks; the
/// requests for a name that is being looked up wait for that one lookup.
public final class NameCache: Sendable {
    /// `getaddrinfo` gives no TTL: names are kept for a minute (the same as the destination
    /// checks always used), a failed lookup for ten seconds.
    public static let defaultPositiveLifetime = TimeAmount.seconds(60)
    public static let defaultNegativeLifetime = TimeAmount.seconds(10)
    static let maximumEntries = 10_000

    private struct State {
        var entries: [String: (addresses: [SocketAddress], expires: NIODeadline)] = [:]
        var inFlight: [String: EventLoopFuture<[SocketAddress]>] = [:]
    }

    private let state = Mutex(State())
    private let pool: NIOThreadPool
    private let lookup: @Sendable (String) -> [SocketAddress]
    private let positiveLifetime: TimeAmount
    private let negativeLifetime: TimeAmount

    /// `lookup` resolves a name to its addresses (port 0), in the order to try them; the
    /// system resolver by default.
    public init(pool: NIOThreadPool, positiveLifetime: TimeAmount = NameCache.defaultPositiveLifetime,
                negativeLifetime: TimeAmount = NameCache.defaultNegativeLifetime,
                lookup: @escaping @Sendable (String) -> [SocketAddress] = NameCache.systemLookup) {
        self.pool = pool
        self.positiveLifetime = positiveLifetime
        self.negativeLifetime = negativeLifetime
        self.lookup = lookup
    }

    /// The addresses of `name` (none when it does not resolve), on `eventLoop`.
    func addresses(of name: String, on eventLoop: EventLoop) -> EventLoopFuture<[SocketAddress]> {
        enum Answer { case cached([SocketAddress]), waiting(EventLoopFuture<[SocketAddress]>), started(EventLoopFuture<[SocketAddress]>) }
        let now = NIODeadline.now()
        let lookup = lookup, positiveLifetime = positiveLifetime, negativeLifetime = negativeLifetime
        let answer = state.withLock { state -> Answer in
            if let entry = state.entries[name], entry.expires > now { return .cached(entry.addresses) }
            if let pending = state.inFlight[name] { return .waiting(pending) }
            let future = pool.runIfActive(eventLoop: eventLoop) { lookup(name) }
            state.inFlight[name] = future
            return .started(future)
        }
        switch answer {
        case .cached(let addresses):
            return eventLoop.makeSucceededFuture(addresses)
        case .waiting(let pending):
            return pending.hop(to: eventLoop)
        case .started(let future):
            future.whenComplete { result in
                let addresses = (try? result.get()) ?? []
                let lifetime = addresses.isEmpty ? negativeLifetime : positiveLifetime
                self.state.withLock { state in
                    state.inFlight[name] = nil
                    if state.entries.count >= Self.maximumEntries { state.entries.removeAll() }
                    state.entries[name] = (addresses, .now() + lifetime)
                }
            }
            return future
        }
    }

    /// A resolver for NIO's happy-eyeballs connector that answers from this cache.
    func resolver(on eventLoop: EventLoop) -> Resolver & Sendable { CachedResolver(names: self, eventLoop: eventLoop) }

    public static func systemLookup(_ name: String) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let socketAddress = entry.pointee.ai_addr {
                var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                if getnameinfo(socketAddress, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0,
                   let address = try? SocketAddress(ipAddress: String(decoding: text.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self), port: 0),
                   !addresses.contains(address) {
                    addresses.append(address)
                }
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }
}

struct NameNotResolved: Error {
    var name: String
}

/// One connection attempt's view of the cache: the A and AAAA answers are the IPv4 and IPv6
/// addresses of one cached lookup, with the port filled in.
private struct CachedResolver: Resolver, Sendable {
    let names: NameCache
    let eventLoop: EventLoop

    func initiateAQuery(host: String, port: Int) -> EventLoopFuture<[SocketAddress]> {
        answer(host, port) { if case .v4 = $0 { true } else { false } }
    }

    func initiateAAAAQuery(host: String, port: Int) -> EventLoopFuture<[SocketAddress]> {
        answer(host, port) { if case .v6 = $0 { true } else { false } }
    }

    private func answer(_ host: String, _ port: Int, _ family: @escaping @Sendable (SocketAddress) -> Bool) -> EventLoopFuture<[SocketAddress]> {
        names.addresses(of: host, on: eventLoop).flatMapThrowing { addresses in
            // An error, not an empty answer: NIO then reports the name as not resolving.
            guard !addresses.isEmpty else { throw NameNotResolved(name: host) }
            return addresses.filter(family).map { address in
                var address = address
                address.port = port
                return address
            }
        }
    }

    /// The lookup is shared with other requests for the name: it is left to finish.
    func cancelQueries() {}
}
