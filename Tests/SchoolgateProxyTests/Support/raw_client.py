# Sends raw bytes (Python escapes allowed, e.g. \r\n) to the proxy; prints the reply and
# whether the proxy closed the connection. Optional third argument: seconds to wait first.
import socket, sys, time
port = int(sys.argv[1])
data = sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
s = socket.create_connection(("127.0.0.1", port), timeout=4)
s.sendall(data)
if len(sys.argv) > 3:
    time.sleep(float(sys.argv[3]))
reply, closed = b"", False
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            closed = True
            break
        reply += chunk
except ConnectionResetError:
    closed = True
except socket.timeout:
    pass
print(reply.decode("latin-1"))
print("CLOSED" if closed else "OPEN")
