#!/usr/bin/env python3
"""A minimal GDB remote-protocol client for tests that need exact packet timing
(what gdb itself cannot be made to do on purpose): Ctrl-C between a stop reply
and the next resume, a resume sent before the first stop reply arrives.

usage: rsp.py SOCKET SCRIPT...   each SCRIPT word is one of
    send:PACKET    send a packet (acks are handled), no wait
    ask:PACKET     send a packet and print its reply
    wait           print the next packet received (a stop reply)
    ctrlc          send the 0x03 byte
Replies are printed one per line. Exit status 1 on a protocol error or timeout.
"""
import socket
import sys


class Remote:
    def __init__(self, path, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buffer = b""

    def send(self, payload):
        data = payload.encode()
        self.sock.sendall(b"$%s#%02x" % (data, sum(data) & 0xFF))

    def receive(self):
        while True:
            start = self.buffer.find(b"$")
            end = self.buffer.find(b"#", start + 1) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self.buffer) >= end + 3:
                payload = self.buffer[start + 1:end]
                self.buffer = self.buffer[end + 3:]
                try:
                    self.sock.sendall(b"+")
                except OSError:
                    pass  # the monitor may be gone after its last reply (W, X)
                return payload.decode(errors="replace")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk


def main():
    remote = Remote(sys.argv[1])
    for word in sys.argv[2:]:
        if word.startswith("send:"):
            remote.send(word[5:])
        elif word.startswith("ask:"):
            remote.send(word[4:])
            print(remote.receive(), flush=True)
        elif word == "wait":
            print(remote.receive(), flush=True)
        elif word == "ctrlc":
            remote.sock.sendall(b"\x03")
        else:
            sys.exit("rsp.py: unknown step " + word)


if __name__ == "__main__":
    try:
        main()
    except (OSError, EOFError) as error:
        print("rsp.py: %s" % error, file=sys.stderr)
        sys.exit(1)
