# A loopback origin for the proxy tests: plain HTTP and HTTPS (self-signed) on free ports.
# Prints "ports HTTP HTTPS" once both listen, then serves until killed.
import http.server, ssl, sys, threading

seen = []

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    served = 0

    def stale(self):
        # /fresh-only answers the first request of a connection only, and closes on any later
        # one unanswered: a keep-alive connection whose origin gave up on it as it was reused.
        self.served += 1
        if not self.path.startswith("/fresh-only"):
            return False
        seen.append("%s %s" % (self.command, self.path))
        if self.served > 1:
            self.close_connection = True
            return True
        return False

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        received = 0
        while received < length:
            received += len(self.rfile.read(min(65536, length - received)))
        if self.stale():
            return
        seen.append(self.path)
        self.answer(("posted %d bytes\n" % received).encode())

    def do_GET(self):
        if self.stale():
            return
        if self.path.startswith("/stream/"):
            # N bytes in 64 KiB writes: the origin never holds the body either.
            remaining = int(self.path.split("/")[2])
            self.send_response(200)
            self.send_header("Content-Length", str(remaining))
            self.end_headers()
            chunk = b"x" * 65536
            while remaining > 0:
                self.wfile.write(chunk[:min(remaining, 65536)])
                remaining -= min(remaining, 65536)
            return
        if self.path.startswith("/chunked/"):
            # N bytes in chunks of at most 1000, no Content-Length.
            remaining = int(self.path.split("/")[2])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while remaining > 0:
                size = min(remaining, 1000)
                self.wfile.write(b"%x\r\n%s\r\n" % (size, b"c" * size))
                remaining -= size
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path.startswith("/peer") or self.path.startswith("/fresh-only"):
            return self.answer(("peer port %d\n" % self.client_address[1]).encode())
        if self.path.startswith("/negotiate"):
            # Connection-oriented authentication (RFC 4559): the first answer asks for it.
            return self.answer(("peer port %d\n" % self.client_address[1]).encode(), status=401,
                               headers=[("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", 'Basic realm="x"')])
        if self.path == "/seen":
            return self.answer(("\n".join(seen) + "\n").encode())
        seen.append(self.path)
        body = ("origin saw %s %s via=%s\n" % (self.command, self.path, self.headers.get("Via"))).encode()
        if self.path.startswith("/big/"):
            body = b"x" * int(self.path.split("/")[2])
        self.answer(body)

    def answer(self, body, status=200, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

directory = sys.argv[1]
plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
secure = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(directory + "/cert.pem", directory + "/key.pem")
secure.socket = context.wrap_socket(secure.socket, server_side=True)
for server in (plain, secure):
    threading.Thread(target=server.serve_forever, daemon=True).start()
print("ports %d %d" % (plain.server_address[1], secure.server_address[1]), flush=True)
sys.stdin.read()
