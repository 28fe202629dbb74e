# Opens N keep-alive connections through a forward proxy, makes one GET on each, and holds
# them open until stdin closes (the caller reads the proxy's memory meanwhile).
#   hold_connections.py PROXY_PORT URL N
import socket, sys

port, url, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
host = url.split("/")[2]
request = ("GET %s HTTP/1.1\r\nHost: %s\r\nProxy-Connection: keep-alive\r\n\r\n" % (url, host)).encode()
held = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = s.recv(65536)
        if not chunk:
            break
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit("connection %d: %r" % (len(held), head[:40]))
    held.append(s)
print("holding %d" % len(held), flush=True)
sys.stdin.read()
