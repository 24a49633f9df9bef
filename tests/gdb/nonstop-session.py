#!/usr/bin/env python3
"""Drives gdb in non-stop mode on a terminal (a pty, as gdb's own testsuite does with
expect): in batch mode gdb does not take a background thread's stop until a foreground
command waits, so `continue &`, `interrupt -a` and the stops they bring need a live
session. Used by tests/integration/40-gdb.sh (gdb/*/non-stop-*) against hermitux-run and
gdbserver alike.

    nonstop-session.py TRANSCRIPT PROGRAM 'TARGET ARGS' SCENARIO

TARGET ARGS is what follows `target` ("remote /tmp/x/gdb.sock"). SCENARIO names one of the
step lists below. Each step sends a line and waits for its regex (a bound of TIMEOUT seconds
per step, NONSTOP_STEP_TIMEOUT if set, only ends a hung session: it is no measurement; a
ThreadSanitizer build on a loaded machine once needed more than 30 s for one `continue`).
Exit 0 when every step matched;
else 1, with the step that did not and the transcript's tail on stderr.
"""
import os
import pty
import re
import select
import sys
import time

TIMEOUT = float(os.environ.get("NONSTOP_STEP_TIMEOUT", "30"))
PROMPT = r"\(gdb\) $"
# How many times a poll step may ask before the value it waits for is taken as never
# coming (each ask is a round trip to the target, no sleep).
POLLS = 2000


def scenario_threads():
    """The spinner counts while the main thread sits at a breakpoint; interrupt -a stops
    it; it runs alone; continue -a; the program's end."""
    return [
        ("break checkpoint", r"Breakpoint 1 at .*\n.*" + PROMPT),
        ("continue", r"Thread 1 \S+ hit Breakpoint 1, checkpoint \(round=1\)[^\n]*\n(.*\n)*.*" + PROMPT),
        ("info threads", r"\n  2 +Thread [^\n]*\(running\)\n" + PROMPT),
        ("set $before = counter", PROMPT),
        ("poll", "print counter > $before", r"= 1\n"),
        ("interrupt -a", PROMPT),
        ("wait", r"Thread 2 \S+ stopped\."),
        ("info threads", r"\* 1 +Thread [^(\n]*checkpoint \(round=1\)[^\n]*\n  2 +Thread [^(\n]*spin"),
        ("set $still = counter", PROMPT),
        ("print counter == $still", r"= 1\n" + PROMPT),
        ("print counter == $still", r"= 1\n" + PROMPT),
        ("thread 2", r"Switching to thread 2 [^\n]*\n(.*\n)*.*" + PROMPT),
        ("continue &", r"Continuing\.\n(.*\n)*.*" + PROMPT),
        ("poll", "print counter > $still", r"= 1\n"),
        ("info threads", r"\n  1 +Thread [^(\n]*checkpoint \(round=1\)[^\n]*\n\* 2 +Thread [^\n]*\(running\)"),
        ("thread 1", r"Switching to thread 1 [^\n]*\n(.*\n)*.*" + PROMPT),
        ("continue", r"Thread 1 \S+ hit Breakpoint 1, checkpoint \(round=2\)[^\n]*\n(.*\n)*.*" + PROMPT),
        ("continue -a &", r"Continuing\.\n"),
        ("wait", r"Thread 1 \S+ hit Breakpoint 1, checkpoint \(round=3\)"),
        ("delete", PROMPT),
        ("continue -a", r"\[Inferior 1 \(process \d+\) exited normally\]"),
    ]


# The main thread at its breakpoint in round 1, then the spinner alone stopped by `interrupt`.
SPINNER_INTERRUPTED = [
    ("break checkpoint", r"Breakpoint 1 at .*\n.*" + PROMPT),
    ("continue", r"Thread 1 \S+ hit Breakpoint 1, checkpoint \(round=1\)[^\n]*\n(.*\n)*.*" + PROMPT),
    ("thread 2", r"Switching to thread 2 [^\n]*\(running\)\n" + PROMPT),
    ("interrupt", PROMPT),
    ("wait", r"Thread 2 \S+ stopped\."),
]


def scenario_ctrl_c():
    """`interrupt` stops the selected thread (the spinner) alone; continued in the
    foreground, Ctrl-C stops it with SIGINT (vCtrlC) while the main thread stays at its
    breakpoint."""
    return SPINNER_INTERRUPTED + [
        ("continue", r"Continuing\.\n"),
        ("ctrl-c",),
        ("wait", r"Thread 2 \S+ received signal SIGINT, Interrupt\.\n(.*\n)*.*" + PROMPT),
        ("info threads", r"\n  1 +Thread [^(\n]*checkpoint \(round=1\)[^\n]*\n\* 2 +Thread [^(\n]*spin"),
        ("set $still = counter", PROMPT),
        ("print counter == $still", r"= 1\n" + PROMPT),
        ("delete", PROMPT),
        ("continue -a", r"\[Inferior 1 \(process \d+\) exited normally\]"),
    ]


def scenario_watch():
    """A watchpoint set while the spinner runs (the main thread at its breakpoint) stops
    the spinner at its next write, the main thread still where it was."""
    return [
        ("break checkpoint", r"Breakpoint 1 at .*\n.*" + PROMPT),
        ("continue", r"Thread 1 \S+ hit Breakpoint 1, checkpoint \(round=1\)[^\n]*\n(.*\n)*.*" + PROMPT),
        ("watch counter", r"atchpoint 2: counter\n"),
        ("wait", r"Thread 2 \S+ hit (Hardware )?[wW]atchpoint 2: counter\n\nOld value = \d+\nNew value = \d+\n"),
        ("info threads", r"\n\* 1 +Thread [^(\n]*checkpoint \(round=1\)[^\n]*\n  2 +Thread [^(\n]*spin"),
        ("delete", PROMPT),
        ("continue -a", r"\[Inferior 1 \(process \d+\) exited normally\]"),
    ]


def scenario_siginfo():
    """$_siginfo of a thread `interrupt` stopped (SIGSTOP, sent by the debugger: si_code
    SI_TKILL) and of one Ctrl-C stopped (SIGINT), while the main thread sits at its
    breakpoint."""
    return SPINNER_INTERRUPTED + [
        ("print $_siginfo.si_signo", r"= 19\n" + PROMPT),
        ("print $_siginfo.si_code", r"= -6\n" + PROMPT),
        ("continue", r"Continuing\.\n"),
        ("ctrl-c",),
        ("wait", r"Thread 2 \S+ received signal SIGINT, Interrupt\.\n(.*\n)*.*" + PROMPT),
        ("print $_siginfo.si_signo", r"= 2\n" + PROMPT),
        ("delete", PROMPT),
        ("continue -a", r"\[Inferior 1 \(process \d+\) exited normally\]"),
    ]


SCENARIOS = {"threads": scenario_threads, "ctrl-c": scenario_ctrl_c, "watch": scenario_watch,
             "siginfo": scenario_siginfo}


class Session:
    def __init__(self, argv, transcript):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            # Plain text: no colours, no bracketed-paste codes around the prompt.
            os.environ["TERM"] = "dumb"
            os.execvp(argv[0], argv)
        self.transcript = transcript
        self.buffer = ""

    def send(self, line):
        os.write(self.fd, (line + "\n").encode())

    def expect(self, pattern):
        """Waits until pattern matches the output since the last match; consumes it."""
        deadline = time.monotonic() + TIMEOUT
        regex = re.compile(pattern, re.M)
        while True:
            match = regex.search(self.buffer)
            if match:
                self.buffer = self.buffer[match.end():]
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 65536).decode(errors="replace").replace("\r\n", "\n")
            except OSError:
                return None
            if not data:
                return None
            self.transcript.write(data)
            self.transcript.flush()
            self.buffer += data

    def close(self):
        try:
            self.send("kill")
            self.send("quit")
        except OSError:
            pass
        for _ in range(50):
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.1)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)


def run(session, steps):
    for step in steps:
        if step[0] == "wait":
            ok = session.expect(step[1])
        elif step[0] == "ctrl-c":
            os.write(session.fd, b"\x03")
            ok = True
        elif step[0] == "poll":
            # Asks again until the answer matches: the other thread runs meanwhile.
            ok = False
            for _ in range(POLLS):
                session.send(step[1])
                match = session.expect(r"(\$\d+ = \d+\n)" + PROMPT)
                if not match:
                    break
                if re.search(step[2], match.group(1)):
                    ok = True
                    break
        else:
            session.send(step[0])
            ok = session.expect(step[1])
        if not ok:
            return step
    return None


def main():
    transcript_path, program, target, scenario = sys.argv[1:5]
    with open(transcript_path, "w") as transcript:
        settings = ["set pagination off", "set style enabled off", "set confirm off",
                    "set width 0", "set non-stop on", "file " + program]
        # NONSTOP_REMOTE_LOG=FILE: gdb's log of the packets (set remotelogfile).
        if os.environ.get("NONSTOP_REMOTE_LOG"):
            settings.append("set remotelogfile " + os.environ["NONSTOP_REMOTE_LOG"])
        argv = ["gdb", "-nx", "-q"]
        for setting in settings + ["target " + target]:
            argv += ["-ex", setting]
        session = Session(argv, transcript)
        failed = None
        if not session.expect(PROMPT):
            failed = ("start",)
        else:
            failed = run(session, SCENARIOS[scenario]())
        session.close()
    if failed:
        with open(transcript_path) as transcript:
            tail = transcript.read()[-1500:]
        sys.stderr.write("step %r did not match; transcript ends:\n%s\n" % (failed, tail))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
