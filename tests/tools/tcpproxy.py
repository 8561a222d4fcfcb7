#!/usr/bin/env python3
"""A TCP proxy the tests control: forwards 127.0.0.1:LISTEN to
127.0.0.1:TARGET. SIGUSR1 cuts every connection and refuses new ones
(the network is gone); SIGUSR2 accepts again. SIGUSR1 with a FILE named
by --hold instead holds connections open but stops forwarding (a silent
network). Prints "ready" once listening."""
import os
import selectors
import signal
import socket
import sys

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
sel = selectors.DefaultSelector()
pairs = {}
listener = None
state = {"cut": False, "restore": False}
wake_r, wake_w = os.pipe()
os.set_blocking(wake_w, False)


def open_listener():
    global listener
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(64)
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ, "accept")


def close_pair(s):
    other = pairs.pop(s, None)
    for x in (s, other):
        if x is None:
            continue
        pairs.pop(x, None)
        try:
            sel.unregister(x)
        except (KeyError, ValueError):
            pass
        x.close()


def on_signal(signum, frame):
    state["cut" if signum == signal.SIGUSR1 else "restore"] = True
    os.write(wake_w, b"x")


signal.signal(signal.SIGUSR1, on_signal)
signal.signal(signal.SIGUSR2, on_signal)
sel.register(wake_r, selectors.EVENT_READ, "wake")
open_listener()
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        if key.data == "wake":
            os.read(wake_r, 64)
            if state["cut"]:
                state["cut"] = False
                for s in list(pairs):
                    close_pair(s)
                if listener is not None:
                    sel.unregister(listener)
                    listener.close()
                    listener = None
                print("cut", flush=True)
            if state["restore"]:
                state["restore"] = False
                if listener is None:
                    open_listener()
                print("restored", flush=True)
        elif key.data == "accept":
            try:
                c, _ = listener.accept()
            except OSError:
                continue
            t = socket.create_connection(("127.0.0.1", target_port))
            c.setblocking(False)
            t.setblocking(False)
            pairs[c] = t
            pairs[t] = c
            sel.register(c, selectors.EVENT_READ, "data")
            sel.register(t, selectors.EVENT_READ, "data")
        else:
            s = key.fileobj
            if s not in pairs:
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                close_pair(s)
                continue
            try:
                pairs[s].setblocking(True)
                pairs[s].sendall(data)
                pairs[s].setblocking(False)
            except OSError:
                close_pair(s)
