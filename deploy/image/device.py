#!/usr/bin/env python3
"""A minimal Baton device over a raw WebSocket (Python standard library only), for
deploy/image-test.sh: `device.py sync WRITER_ADDR READER_ADDR WRITER_TOKEN READER_TOKEN CONTENT`
connects the reader, then the writer; the writer adds CONTENT to the watchlist and waits
for its durable ack; the reader must receive the delta. ADDR is host:port. Prints the
acknowledged version. Exit status 1 on any failure (with the reason on stderr)."""

import base64
import json
import os
import socket
import struct
import sys
import time

TIMEOUT_S = 20


def fail(why):
    print(f"device.py: {why}", file=sys.stderr)
    sys.exit(1)


def connect(addr, token):
    """Open the socket; a 503 (the node is settling, or the user is moving) is retried
    after its Retry-After, as PROTOCOL.md asks of clients, for at most TIMEOUT_S."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        sock, status, retry_after = upgrade(addr, token)
        if sock is not None:
            return sock
        if b" 503 " not in status or time.monotonic() + retry_after > deadline:
            fail(f"{addr}: upgrade refused: {status.decode(errors='replace')}")
        time.sleep(retry_after)


def upgrade(addr, token):
    host, port = addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT_S)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /v1/sync HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            fail(f"{addr}: connection closed during the upgrade")
        head += byte
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " in status:
        return sock, status, 0
    sock.close()
    retry_after = 0.5
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"retry-after" and value.strip().isdigit():
            retry_after = float(value.strip())
    return None, status, retry_after


def send(sock, frame):
    payload = json.dumps(frame).encode()
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            fail("connection closed")
        data += chunk
    return data


def recv(sock):
    """The next text frame as JSON (answers pings; fails on close)."""
    while True:
        b0, b1 = read_exact(sock, 2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", read_exact(sock, 2))[0]
        elif n == 127:
            n = struct.unpack("!Q", read_exact(sock, 8))[0]
        payload = read_exact(sock, n)
        opcode = b0 & 0x0F
        if opcode == 0x1:
            return json.loads(payload)
        if opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            fail(f"closed by the server with {code}")
        if opcode == 0x9:
            mask = os.urandom(4)
            pong = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            sock.sendall(struct.pack("!BB", 0x8A, 0x80 | len(payload)) + mask + pong)


def until(sock, kind, accept=lambda f: True):
    while True:
        frame = recv(sock)
        if frame.get("type") == kind and accept(frame):
            return frame


def hello(addr, token, kind):
    sock = connect(addr, token)
    send(sock, {"type": "hello", "protocol": 1, "device": {"kind": kind}})
    welcome = until(sock, "welcome")
    until(sock, "synced")
    return sock, welcome


def sync(writer_addr, reader_addr, writer_token, reader_token, content):
    reader, _ = hello(reader_addr, reader_token, "mobile")
    writer, welcome = hello(writer_addr, writer_token, "tv")
    seq = welcome["next_seq"]
    op = {"kind": "watchlist_add", "content": content, "added_at_ms": 1}
    send(writer, {"type": "op", "seq": seq, "op": op})
    ack = until(writer, "ack", lambda f: f.get("seq") == seq)
    until(reader, "delta", lambda f: f.get("op", {}).get("content") == content)
    print(ack["version"])


if __name__ == "__main__":
    if len(sys.argv) != 7 or sys.argv[1] != "sync":
        fail(__doc__)
    sync(*sys.argv[2:])
