// libFuzzer entry for the ClientHello parser (built by Fuzz/run.sh with the parser's source).
// Every input is parsed whole and in two pieces: the answer for a prefix must never be a
// crash, and a complete answer must not change when more bytes follow.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientHello(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = ClientHelloParser.parse(bytes)
    if size > 1 {
        let prefix = ClientHelloParser.parse(bytes[0..<(size / 2)])
        if case .complete(let hello) = prefix, whole != .complete(hello) {
            fatalError("a complete hello changed when more bytes arrived")
        }
    }
    return 0
}
