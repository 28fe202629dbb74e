# N times: CONNECT through the proxy, a full TLS handshake (no session resumption), one GET,
# close. Prints handshakes per second.
#   connect_tls.py PROXY_PORT ORIGIN_HOST ORIGIN_PORT N
import socket, ssl, sys, time

port, host, origin_port, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
start = time.monotonic()
for i in range(count):
    raw = socket.create_connection(("127.0.0.1", port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    raw.sendall(b"CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host.encode(), origin_port, host.encode(), origin_port))
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = raw.recv(4096)
        if not chunk:
            sys.exit("tunnel %d: the proxy closed" % i)
        answer += chunk
    if not answer.startswith(b"HTTP/1.1 200") and not answer.startswith(b"HTTP/1.0 200"):
        sys.exit("tunnel %d: %r" % (i, answer[:60]))
    tls = context.wrap_socket(raw, server_hostname=host)
    tls.sendall(b"GET /1k HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host.encode())
    received = b""
    while True:
        try:
            chunk = tls.recv(65536)
        except ssl.SSLEOFError:
            break
        if not chunk:
            break
        received += chunk
    if b" 200 " not in received.split(b"\r\n")[0] or len(received) < 1024:
        sys.exit("tunnel %d: %r" % (i, received[:60]))
    tls.close()
print("%.0f" % (count / (time.monotonic() - start)))
