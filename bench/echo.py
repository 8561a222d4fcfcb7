#!/usr/bin/env python3
"""One-byte echo for the round-trip benchmark.
echo.py serve PORT       -- echoes every byte back
echo.py rtt PORT COUNT   -- sends COUNT single bytes one at a time, prints p50/p99 in us"""
import socket, sys, threading, time

def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    def handle(c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        c.close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()

def rtt(port, n):
    c = socket.create_connection(("127.0.0.1", port))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(200):	# warm up
        c.sendall(b"x"); c.recv(1)
    t = []
    for _ in range(n):
        a = time.perf_counter()
        c.sendall(b"x")
        if c.recv(1) != b"x":
            sys.exit("echo broke")
        t.append(time.perf_counter() - a)
    t.sort()
    print("p50", t[len(t) // 2] * 1e6)
    print("p99", t[int(len(t) * 0.99)] * 1e6)

if sys.argv[1] == "serve":
    serve(int(sys.argv[2]))
else:
    rtt(int(sys.argv[2]), int(sys.argv[3]))
