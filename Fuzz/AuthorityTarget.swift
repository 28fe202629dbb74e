// libFuzzer entry for request-target, authority, host and path parsing (the policy core's).
// Normalising twice must give the same answer as normalising once.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAuthority(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let url = try? RequestURL(parsing: text) {
        let again = try? RequestURL(parsing: url.description)
        if again?.host != url.host { fatalError("host normalisation is not stable: \(url.host) → \(String(describing: again?.host))") }
        if let path = url.path, PathNormaliser.normalise(path) != path { fatalError("path normalisation is not stable: \(path)") }
    }
    if let host = try? HostName(text), (try? HostName(host.urlForm)) != host { fatalError("HostName not stable for \(host)") }
    return 0
}
