import NIOHTTP1
import Testing
@testable import SchoolgateProxy

@Suite struct RequestValidationTests {
    func head(_ headers: [(String, String)], uri: String = "http://example.com/") -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .POST, uri: uri, headers: HTTPHeaders(headers))
    }

    @Test func acceptsOrdinaryFraming() {
        #expect(RequestValidation.check(head([("Content-Length", "12")]), maxURILength: 100) == nil)
        #expect(RequestValidation.check(head([("Transfer-Encoding", "gzip, chunked")]), maxURILength: 100) == nil)
        #expect(RequestValidation.check(head([]), maxURILength: 100) == nil)
    }

    @Test(arguments: [
        ([("Content-Length", "5"), ("Transfer-Encoding", "chunked")], "Both Content-Length and Transfer-Encoding"),
        ([("Content-Length", "5"), ("Content-Length", "5")], "More than one Content-Length"),
        ([("Content-Length", "5, 6")], "More than one Content-Length"),
        ([("Content-Length", "+5")], "not a number"),
        ([("Content-Length", "0x10")], "not a number"),
        ([("Transfer-Encoding", "chunked, gzip")], "must end with chunked"),
        ([("X-Test", "a\r\nInjected: yes")], "line break"),
        ([("X-Test", "folded\r\n continuation")], "line break"),
        ([("Bad Name", "x")], "header name"),
    ] as [([(String, String)], String)])
    func refusesSmugglingVectors(headers: [(String, String)], reason: String) {
        let refusal = RequestValidation.check(head(headers), maxURILength: 100)
        #expect(refusal?.status == .badRequest)
        #expect(refusal?.reason.contains(reason) == true, "\(String(describing: refusal))")
    }

    @Test func refusesOverlongURIs() {
        #expect(RequestValidation.check(head([], uri: "http://example.com/" + String(repeating: "a", count: 200)), maxURILength: 100)?.status == .uriTooLong)
    }

    @Test func originFormKeepsThePathAsSent() {
        #expect(ProxyRequestHandler.originForm("http://example.com:8080/A//b?q=%41") == "/A//b?q=%41")
        #expect(ProxyRequestHandler.originForm("http://example.com") == "/")
        #expect(ProxyRequestHandler.originForm("http://example.com?x") == "/?x")
    }

    @Test func stripsHopByHopFieldsIncludingThoseConnectionNames() {
        let headers = HTTPHeaders([("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"), ("Proxy-Authorization", "Basic x"),
                                   ("Keep-Alive", "5"), ("TE", "trailers"), ("Accept", "*/*"), ("Content-Length", "3")])
        let stripped = HopByHop.stripped(headers)
        #expect(stripped.map(\.name) == ["Accept", "Content-Length"])
        // Any case, several Connection fields, and a Connection that names a framing field
        // (which stays: the encoder frames the body from it).
        let shouted = HTTPHeaders([("PROXY-CONNECTION", "keep-alive"), ("connection", "x-a"), ("Connection", " X-B ,content-length"),
                                   ("X-A", "1"), ("x-b", "2"), ("Content-Length", "0"), ("Upgrade", "h2c"), ("Host", "h"),
                                   ("Proxy-Authenticate", "Basic"), ("Trailer", "X")])
        #expect(HopByHop.stripped(shouted).map(\.name) == ["Content-Length", "Host"])
        let clean = HTTPHeaders([("Host", "h"), ("Accept", "*/*"), ("Teapot", "1"), ("Connections", "2")])
        #expect(HopByHop.stripped(clean).map(\.name) == ["Host", "Accept", "Teapot", "Connections"])
    }
}
