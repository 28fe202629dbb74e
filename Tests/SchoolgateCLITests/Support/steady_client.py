# A client that keeps browsing through the proxy while the test reloads it: one keep-alive
# connection and one new connection per request, in turn, against a loopback origin it
# starts itself. Stops when its standard input closes (or after a time limit), then prints
# "requests N failures M" and the first failures. Bounded: at most 20000 requests.
import http.client, http.server, sys, threading

proxy_port = int(sys.argv[1])

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"steady\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=origin.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/page" % origin.server_address[1]
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
print("ready", flush=True)

requests, failures, examples = 0, 0, []
kept = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=5)
while not stop.is_set() and requests < 20000:
    fresh = requests % 2 == 1
    connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=5) if fresh else kept
    try:
        connection.request("GET", url)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200 or body != b"steady\n":
            failures += 1
            examples.append("status %d" % response.status)
    except Exception as error:
        failures += 1
        examples.append(repr(error))
        if not fresh:
            kept = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=5)
    finally:
        if fresh:
            connection.close()
    requests += 1
print("requests %d failures %d %s" % (requests, failures, "; ".join(examples[:3])), flush=True)
