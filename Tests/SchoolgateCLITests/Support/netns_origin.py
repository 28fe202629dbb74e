# The origin host of the transparent-mode test, run inside its own network namespace: HTTP on
# port 80 and HTTPS on 443 (self-signed; any SNI). Answers "origin saw METHOD PATH host=HOST".
# Serves until its standard input closes.
import http.server, ssl, sys, threading

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("origin saw %s %s host=%s\n" % (self.command, self.path, self.headers.get("Host"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

directory = sys.argv[1]
plain = http.server.ThreadingHTTPServer(("0.0.0.0", 80), Handler)
secure = http.server.ThreadingHTTPServer(("0.0.0.0", 443), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(directory + "/cert.pem", directory + "/key.pem")
secure.socket = context.wrap_socket(secure.socket, server_side=True)
for server in (plain, secure):
    threading.Thread(target=server.serve_forever, daemon=True).start()
print("listening", flush=True)
sys.stdin.read()
