#!/usr/bin/env python3
"""Thread events (QThreadEvents) at the protocol level, the same against
hermitux-run and gdbserver: non-stop, thread events on, the program resumed;
then every stop notification is taken as gdb takes them (vStopped) and
printed as a word: `create rax=R after syscall` for a new thread (R its rax
at that stop, clone's 0 in the child, and its rip right after the syscall
instruction: before its first instruction of its own), `exit S` for a thread
that ended alone (w packet), `end S` for the program's end (W). A created
thread is resumed at once. Thread ids are not printed (they differ between
the two targets), so the outputs compare equal.

usage: thread-events.py ADDRESS   (a unix socket path, or HOST:PORT)
"""
import re
import socket
import sys

TIMEOUT = 60.0


def unrle(text):
    """A payload with its run-length encoding (`X*N`: N - 29 more X) undone."""
    return re.sub(r"(.)\*(.)", lambda m: m.group(1) * (ord(m.group(2)) - 28), text)


class Remote:
    def __init__(self, address):
        if "/" in address:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target = address
        else:
            host, port = address.rsplit(":", 1)
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            target = (host, int(port))
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(target)
        self.buffer = b""
        self.notifications = []

    def send(self, payload):
        data = payload.encode()
        self.sock.sendall(b"$%s#%02x" % (data, sum(data) & 0xFF))

    def _packet(self):
        """The next packet or notification: ('$', payload) or ('%', payload)."""
        while True:
            self.buffer = self.buffer.lstrip(b"+")
            match = re.match(rb"([$%])([^#]*)#..", self.buffer, re.S)
            if match:
                self.buffer = self.buffer[match.end():]
                if match.group(1) == b"$":
                    try:
                        self.sock.sendall(b"+")
                    except OSError:
                        pass  # the target may be gone after its last reply (W)
                return match.group(1).decode(), unrle(match.group(2).decode())
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk

    def ask(self, payload):
        self.send(payload)
        while True:
            kind, text = self._packet()
            if kind == "$":
                return text
            self.notifications.append(text)

    def notification(self):
        while not self.notifications:
            kind, text = self._packet()
            if kind == "%":
                self.notifications.append(text)
            else:
                raise RuntimeError("unexpected reply " + text)
        return self.notifications.pop(0)


def thread_of(stop):
    match = re.search(r"thread:([^;]+);", stop)
    return match.group(1) if match else None


def main():
    remote = Remote(sys.argv[1])
    remote.ask("qSupported:swbreak+;hwbreak+;vContSupported+")
    if remote.ask("QNonStop:1") != "OK":
        sys.exit("QNonStop:1 refused")
    reply = remote.ask("QThreadEvents:1")
    if reply != "OK":
        sys.exit("QThreadEvents:1 answered %r" % reply)
    remote.ask("?")
    while remote.ask("vStopped") != "OK":
        pass
    if remote.ask("vCont;c") != "OK":
        sys.exit("vCont;c refused")
    while True:
        note = remote.notification()
        if not note.startswith("Stop:"):
            continue
        stops = [note[5:]]
        while True:
            more = remote.ask("vStopped")
            if more == "OK":
                break
            stops.append(more)
        for stop in stops:
            if "create:" in stop:
                thread = thread_of(stop)
                # gdbserver has no p packet: rax is the g packet's first 8 bytes.
                selected, value = remote.ask("Hg" + thread), remote.ask("g")
                if selected != "OK" or not re.match(r"[0-9a-f]{16}", value):
                    sys.exit("%s: Hg%s: %s, g: %s" % (stop, thread, selected, value[:40]))
                rax = int.from_bytes(bytes.fromhex(value[:16]), "little")
                rip = int.from_bytes(bytes.fromhex(value[16 * 16:17 * 16]), "little")
                before = remote.ask("m%x,2" % (rip - 2))
                print("create rax=%d after %s" % (rax, "syscall" if before == "0f05" else before),
                      flush=True)
                remote.ask("vCont;c:" + thread)
            elif stop.startswith("w"):
                print("exit %d" % int(stop[1:].split(";")[0], 16), flush=True)
            elif stop.startswith("W"):
                print("end %d" % int(stop[1:3], 16), flush=True)
                return
            else:
                sys.exit("unexpected stop " + stop)


if __name__ == "__main__":
    main()
