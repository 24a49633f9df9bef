#!/usr/bin/env python3
"""peak-rss.py FILE COMMAND [ARGS...]: runs COMMAND (stdin, stdout and stderr are its own),
writes its peak resident set in MiB (the largest of it and the descendants it waited for)
to FILE, and exits with its status. SIGTERM and SIGINT are passed on to it, so that a
timeout(1) around this script still ends the command."""
import resource
import signal
import subprocess
import sys

child = subprocess.Popen(sys.argv[2:])
for number in (signal.SIGTERM, signal.SIGINT):
    signal.signal(number, lambda received, frame: child.send_signal(received))
status = child.wait()
with open(sys.argv[1], "w") as out:
    out.write("%d\n" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024))
sys.exit(status if status >= 0 else 128 - status)
