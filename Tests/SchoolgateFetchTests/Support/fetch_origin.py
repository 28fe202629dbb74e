# A loopback origin for the HTTPFetch tests, over HTTP, or HTTPS when given CERT and KEY.
# Paths: /chunked/N (N bytes, chunked), /redirect/N (N redirects, then /chunked/10),
# /loop (redirects to itself), /silent (answers nothing for 120 s), /stall (10 of 1000 bytes, then
# nothing for 120 s), POST /echo (the body back, and its Content-Type in X-Got-Type). Prints "port N" once listening; exits when stdin closes.
import http.server, ssl, sys, threading, time

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts[0] == "chunked":
            size = int(parts[1])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            sent = 0
            while sent < size:
                piece = min(4096, size - sent)
                self.wfile.write(b"%x\r\n" % piece + bytes((sent + i) % 251 for i in range(piece)) + b"\r\n")
                sent += piece
            self.wfile.write(b"0\r\n\r\n")
        elif parts[0] == "redirect":
            left = int(parts[1])
            self.send_response(302)
            self.send_header("Location", "/redirect/%d" % (left - 1) if left > 1 else "/chunked/10")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts[0] == "loop":
            self.send_response(301)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts[0] == "stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            time.sleep(120)
        elif parts[0] == "silent":
            time.sleep(120)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(201)
        self.send_header("X-Got-Type", self.headers.get("Content-Type", ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if len(sys.argv) == 3:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    server.socket = context.wrap_socket(server.socket, server_side=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("port %d" % server.server_address[1], flush=True)
sys.stdin.read()
