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
