#!/usr/bin/python3
"""smtpsink.py PORT MAILDIR: an SMTP server on 127.0.0.1:PORT for the tests.

Debian's aiosmtpd with its Mailbox handler: every message it accepts is
written into the Maildir MAILDIR, as a mail program would read it. It prints
"ready" once it listens and runs until SIGTERM or SIGINT. Run it with
Debian's python3 (/usr/bin/python3), which has python3-aiosmtpd.
"""
import signal
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def main():
    port, maildir = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
