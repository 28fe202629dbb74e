# Opens a CONNECT tunnel through the proxy and performs a real TLS handshake (Python's ssl) with
# the origin, delivering the ClientHello in the way asked: "drip" (a byte at a time) or "split"
# (its handshake message cut across two TLS records). Prints the origin's HTTP reply.
import socket, ssl, sys, time
proxy, target, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", proxy), timeout=10)
s.sendall(("CONNECT localhost:%d HTTP/1.1\r\nHost: localhost:%d\r\n\r\n" % (target, target)).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
assert b" 200 " in head.split(b"\r\n")[0], head
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = outgoing.read()
if mode == "drip":
    for byte in hello:
        s.sendall(bytes([byte]))
        time.sleep(0.0005)
else:
    payload = hello[5:]
    half = len(payload) // 2
    record = lambda part: hello[:3] + len(part).to_bytes(2, "big") + part
    s.sendall(record(payload[:half]))
    time.sleep(0.05)
    s.sendall(record(payload[half:]))
def pump():
    data = s.recv(65536)
    if not data:
        raise SystemExit("tunnel closed")
    incoming.write(data)
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        s.sendall(outgoing.read())
        pump()
s.sendall(outgoing.read())
tls.write(("GET /tls-%s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % mode).encode())
s.sendall(outgoing.read())
reply = b""
while True:
    try:
        chunk = tls.read(65536)
        if not chunk:
            break
        reply += chunk
    except ssl.SSLWantReadError:
        try:
            pump()
        except SystemExit:
            break
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
        break
print(reply.decode())
