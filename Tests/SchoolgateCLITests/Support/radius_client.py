# Sends one RADIUS Accounting-Request (RFC 2866) over UDP, as a Wi-Fi controller would, and
# checks the Accounting-Response's authenticator. Prints "acknowledged" or why not.
# Usage: radius_client.py HOST PORT SECRET STATUS USER FRAMED_IP [CALLING_STATION_ID]
#   STATUS: start | stop | interim | accounting-off
import hashlib, os, socket, struct, sys

host, port, secret, status, user, address = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4], sys.argv[5], sys.argv[6]
station = sys.argv[7] if len(sys.argv) > 7 else None
codes = {"start": 1, "stop": 2, "interim": 3, "accounting-off": 8}

def attribute(kind, value):
    return bytes([kind, len(value) + 2]) + value

attributes = attribute(40, struct.pack("!I", codes[status]))
attributes += attribute(44, os.urandom(4).hex().encode())
if user:
    attributes += attribute(1, user.encode())
if address:
    attributes += attribute(8, socket.inet_aton(address))
if station:
    attributes += attribute(31, station.encode())
identifier = os.urandom(1)[0]
length = 20 + len(attributes)
header = bytes([4, identifier]) + struct.pack("!H", length)
authenticator = hashlib.md5(header + bytes(16) + attributes + secret).digest()
packet = header + authenticator + attributes

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(3)
sock.sendto(packet, (host, port))
try:
    reply, _ = sock.recvfrom(4096)
except socket.timeout:
    print("no answer")
    sys.exit(1)
expected = hashlib.md5(reply[:4] + authenticator + reply[20:] + secret).digest()
if reply[0] == 5 and reply[1] == identifier and reply[4:20] == expected:
    print("acknowledged")
else:
    print("bad answer")
    sys.exit(1)
