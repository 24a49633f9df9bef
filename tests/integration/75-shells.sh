# Shell scripts: bash-static and busybox ash run scripts whose every external command is a
# forked and exec'd guest process (pipelines, $(...), subshells, fd redirections kept
# across exec, wait statuses, #! scripts), compared with the same shell run natively.
# Background jobs and `wait` (busybox ash's needs SIGCHLD delivered), and a CHLD trap.

compare shell/bash-common --tmpdir -- /bin/bash-static @DATA@/scripts/common.sh @TMP@
compare shell/ash-common --tmpdir -- /bin/busybox sh @DATA@/scripts/common.sh @TMP@
compare shell/bash-jobs --tmpdir -- /bin/bash-static @DATA@/scripts/jobs.bash @TMP@
# (Its stderr is not compared: ash's "Terminated" for a killed job is printed only when
# it reaps the job before the next command, 1 run in 6 not on tcg here.)
compare shell/ash-jobs --tmpdir --no-stderr -- /bin/busybox sh @DATA@/scripts/jobs.bash @TMP@
compare shell/bash-chld-trap -- /bin/bash-static -c 'trap "echo trapped CHLD" CHLD; (exit 4); echo sub=$?'
# The host's dynamically linked commands (sort, uniq, xargs, find, date, env, grep...),
# under bash-static and the host's /bin/sh (dash).
compare shell/bash-coreutils --tmpdir -- /bin/bash-static @DATA@/scripts/coreutils.sh @TMP@
compare shell/sh-coreutils --tmpdir -- /bin/sh @DATA@/scripts/coreutils.sh @TMP@
# Another process's /proc/PID (ps, pgrep, lsof, stat -L of its links): that program's
# argv, fds, directory, memory map and status, from its own monitor; the monitor's
# command line, host fds and mappings stay out of sight.
compare shell/proc-siblings --tmpdir -- /bin/bash @DATA@/scripts/proc-siblings.bash @TMP@

# A cwd inside /proc (cd /proc/self/task): the pid it names, inherited by children and
# kept across execve (the program started in the monitor's own directory before).
compare shell/proc-cwd -- /bin/bash @DATA@/scripts/proc-cwd.bash

# A #! script as PROGRAM itself runs as the kernel runs it: its interpreter, with the
# interpreter's argument, the script's path and the script's arguments (static bash, the
# host's /bin/sh with "-e", and a host command that is a script, found along PATH).
compare shell/shebang-program --status 4 -- @DATA@/scripts/shebang.bash one two
compare shell/shebang-argument --status 7 -- @DATA@/scripts/argument.sh a 'b c'
compare shell/shebang-on-path -- zcat --version
bad_input shebang-bad-interpreter -- @DATA@/scripts/bad-interpreter.sh
compare shell/script-pty -- /usr/bin/script -q -c 'echo inside a pty' /dev/null
# An interactive bash that sh starts in a new session (script without SHELL) is in the
# background until its tcsetpgrp, made with SIGTTOU blocked: the host thread making the
# call blocks it too (before, the host kernel stopped the call with SIGTTOU for ever).
compare shell/interactive-in-pty --clear-env -- /bin/bash -c \
    "script -q -c 'bash -i -c \"echo interactive\"' /dev/null | tr -d '\\r'"
