#!/usr/bin/env python3
"""TCP peers for the port-forward tests: a server the agent dials, and
clients that connect through the technician's forwarded port.

A client's first line names what it wants:
  UP\\n      then bytes until EOF (a half-close); the server answers the
            SHA-256 (hex) of what arrived and closes.
  DOWN N\\n  the server answers the SHA-256 of N random bytes, then the
            bytes, and closes.
  STALL N\\n the server sends N bytes as fast as the path takes them and
            records how many it got rid of in STATUS (for a reader that
            never reads).

  tcp_peer.py serve PORTFILE [STATUS]   serve on 127.0.0.1, port in PORTFILE
  tcp_peer.py up PORT N                 send N random bytes, check the hash
  tcp_peer.py down PORT N               receive N bytes, check the hash
  tcp_peer.py parallel PORT K N         K clients at once, half up, half down;
                                        prints bytes, seconds and MiB/s
  tcp_peer.py stall PORT N              ask for N bytes, never read, wait
"""
import hashlib
import os
import socket
import socketserver
import sys
import threading
import time

CHUNK = 256 * 1024


def read_line(sock):
    line = b""
    while not line.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            raise EOFError("no command line")
        line += b
        if len(line) > 100:
            raise ValueError("command line too long")
    return line.decode().strip()


class Handler(socketserver.BaseRequestHandler):
    status_file = None

    def handle(self):
        s = self.request
        cmd = read_line(s).split()
        if cmd[0] == "UP":
            h = hashlib.sha256()
            while True:
                b = s.recv(CHUNK)
                if not b:
                    break
                h.update(b)
            s.sendall(h.hexdigest().encode() + b"\n")
        elif cmd[0] == "DOWN":
            data = os.urandom(int(cmd[1]))
            s.sendall(hashlib.sha256(data).hexdigest().encode() + b"\n")
            view = memoryview(data)
            for off in range(0, len(data), CHUNK):
                s.sendall(view[off:off + CHUNK])
        elif cmd[0] == "STALL":
            n, sent = int(cmd[1]), 0
            block = os.urandom(CHUNK)
            s.settimeout(1.0)
            last = 0.0
            while sent < n:
                try:
                    sent += s.send(block[:min(CHUNK, n - sent)])
                except socket.timeout:
                    pass
                except OSError:
                    break
                now = time.time()
                if self.status_file and now - last > 0.2:
                    last = now
                    with open(self.status_file + ".tmp", "w") as f:
                        f.write("%d\n" % sent)
                    os.replace(self.status_file + ".tmp", self.status_file)
            if self.status_file:
                with open(self.status_file + ".tmp", "w") as f:
                    f.write("%d\n" % sent)
                os.replace(self.status_file + ".tmp", self.status_file)
        s.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def serve(portfile, status=None):
    Handler.status_file = status
    srv = Server(("127.0.0.1", 0), Handler)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(portfile + ".tmp", portfile)
    srv.serve_forever()


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return s


def recv_all(s):
    parts = []
    while True:
        b = s.recv(CHUNK)
        if not b:
            return b"".join(parts)
        parts.append(b)


def up(port, n):
    data = os.urandom(n)
    s = connect(port)
    s.sendall(b"UP\n")
    view = memoryview(data)
    for off in range(0, n, CHUNK):
        s.sendall(view[off:off + CHUNK])
    s.shutdown(socket.SHUT_WR)	# the half-close has to reach the server
    got = recv_all(s).decode().strip()
    s.close()
    want = hashlib.sha256(data).hexdigest()
    if got != want:
        raise RuntimeError("up: server hashed %r, sent %s" % (got, want))


def down(port, n):
    s = connect(port)
    s.sendall(b"DOWN %d\n" % n)
    body = recv_all(s)
    s.close()
    want, data = body[:64].decode(), body[65:]
    if len(data) != n or hashlib.sha256(data).hexdigest() != want:
        raise RuntimeError("down: %d bytes, hash %s, want %d bytes, %s" % (
            len(data), hashlib.sha256(data).hexdigest(), n, want))


def parallel(port, k, n):
    errors = []

    def run(i):
        try:
            (up if i % 2 == 0 else down)(port, n)
        except Exception as e:	# reported below, the test fails
            errors.append("client %d: %s" % (i, e))

    start = time.time()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - start
    for e in errors:
        print(e, file=sys.stderr)
    print("%d connections moved %d bytes in %.2f s: %.1f MiB/s" % (
        k, k * n, secs, k * n / secs / (1 << 20)))
    return 1 if errors else 0


def stall(port, n):
    s = connect(port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.sendall(b"STALL %d\n" % n)
    while True:
        time.sleep(3600)


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif cmd == "up":
        up(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "down":
        down(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "parallel":
        sys.exit(parallel(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
    elif cmd == "stall":
        stall(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
