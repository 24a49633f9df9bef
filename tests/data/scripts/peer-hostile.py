"""A hostile client of a monitor's /proc server (linux/peer.c): malformed, oversized and
out-of-range requests, fds it did not ask for, a connection that never speaks. Usage:
peer-hostile.py PID. Prints one line per request: what came back, never a crash."""
import array
import socket
import struct
import sys
import time

PID = int(sys.argv[1])
NAME = b"\0hermitux-run/proc/%d" % PID
PATH_SIZE = 4096 + 64
REQUEST = struct.Struct("<II%ds" % PATH_SIZE)
REPLY = struct.Struct("<iIIIQI%ds4x" % PATH_SIZE)  # padded to 8, as in C
LOOKUP, OPEN, LIST, READLINK = range(4)


def ask(payload, fds=(), label=""):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(NAME)
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    s.sendmsg([payload], anc)
    try:
        data, anc, _, _ = s.recvmsg(REPLY.size + 64, socket.CMSG_SPACE(16))
    except socket.timeout:
        data, anc = b"", []
    s.close()
    got = []
    for level, kind, raw in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            got += array.array("i", raw[: len(raw) - len(raw) % 4])
    for fd in got:
        __import__("os").close(fd)
    if len(data) != REPLY.size:
        print(label, "no reply" if not data else "short reply %d" % len(data))
        return
    result, kind, role, _, _, _, text = REPLY.unpack(data)
    text = text.split(b"\0")[0].decode(errors="replace").replace(str(PID), "PID")
    print(label, "result", result, "kind", kind, "fds", len(got), text)


def request(op, path, follow=0):
    return REQUEST.pack(op, follow, path.encode())


ask(request(LOOKUP, "/cmdline"), label="cmdline")
ask(request(LOOKUP, "/fd/99999"), label="fd beyond the table")
ask(request(LOOKUP, "/fd/-1"), label="fd -1")
ask(request(LOOKUP, "/task/1/../../mem"), label="dotdot")
ask(request(LOOKUP, "/" + "a/" * 2000), label="deep")
ask(request(OPEN, "/proc/%d/fdinfo/99999999" % PID), label="fdinfo beyond")
ask(request(OPEN, "/proc/%d/fdinfo/0" % PID), label="fdinfo 0")
ask(request(OPEN, "/proc/%d/mem" % PID), label="open mem")
ask(request(OPEN, "/proc/1/status"), label="another pid")
ask(request(OPEN, "/etc/passwd"), label="host file")
ask(request(LIST, "/proc/%d/cwd" % PID), label="list a link")
ask(request(READLINK, "/proc/%d/cmdline" % PID), label="readlink a file")
ask(request(99, "/cmdline"), label="unknown op")
ask(REQUEST.pack(LOOKUP, 1, b"x" * PATH_SIZE), label="unterminated")
ask(b"short", label="short request")
ask(request(LOOKUP, "/cmdline") + b"extra", label="long request")
with open("/dev/null") as f:
    ask(request(LOOKUP, "/cmdline"), fds=[f.fileno()] * 3, label="fds sent")
# One that connects and says nothing holds the server at most its timeout.
mute = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
mute.connect(NAME)
start = time.monotonic()
ask(request(LOOKUP, "/comm"), label="after a mute one")
mute.close()
print("served after the mute one within 10 s:", time.monotonic() - start < 10)
