# shellcheck shell=bash
# shellcheck disable=SC2016 # gdb expressions and regexes in single quotes
# Signals under gdb, compared with gdbserver on the same static program
# (tests/programs/gdb/signalee.c): the program stops at every signal before it is
# delivered, `signal 0` discards it, `signal SIG` gives another, `handle` decides what
# stops and what passes, a fatal signal the program sends itself stops first, $_siginfo
# reads as Linux fills it, a signal given on resume reaches the program (queue-signal,
# `signal` at a breakpoint), and a step with a signal ends in its handler.
# Uses start_monitor, finish_monitor, expect and have_gdb from 40-gdb.sh.

# signal_session ACCEL DIR LIBC 'PROGRAM-ARGS' GDB-ARGS...: gdb on hermitux-run (gdb.out,
# on signalee, or on $SESSION_PROGRAM from tests/programs/gdb,
# out, err, status) and on gdbserver (native.gdb.out, native.out), each normalised to
# *.norm: what gdb printed, without the lines that only say how it connected, with pids,
# stack addresses and a handler's argument shown before its prologue ran masked.
signal_session() {
    local accel=$1 dir=$2 libc=$3 program_args=$4
    shift 4
    local program=$GDB_PROGRAMS/gdb-$libc/${SESSION_PROGRAM:-signalee}
    # shellcheck disable=SC2086
    start_monitor "$dir" --accel="$accel" -S "$program" $program_args
    # gdb's packet log of the session, for the detail of a failure.
    timeout -k 5 "$TIMEOUT" gdb -batch -nx -ex "set pagination off" -ex "file $program" \
        -ex "set remotelogfile $dir/remote.log" -ex "target remote $dir/gdb.sock" "$@" \
        >"$dir/gdb.out" 2>&1
    finish_monitor "$dir"
    # The last session's port must not be read for this one's.
    rm -f "$dir/gdbserver.err"
    # shellcheck disable=SC2086
    timeout -k 5 "$TIMEOUT" gdbserver --once 127.0.0.1:0 "$program" $program_args \
        >"$dir/native.out" 2>"$dir/gdbserver.err" &
    local server=$! port
    for _ in $(seq 100); do
        port=$(sed -nE 's/^Listening on port ([0-9]+).*/\1/p' "$dir/gdbserver.err")
        [ -n "$port" ] && break
        sleep 0.05
    done
    timeout -k 5 "$TIMEOUT" gdb -batch -nx -ex "set pagination off" -ex "file $program" \
        -ex "target remote 127.0.0.1:$port" "$@" >"$dir/native.gdb.out" 2>&1
    wait "$server"
    local noise='^(Reading |warning: |BFD: |Remote debugging|Process .* created|Listening|_start \(\)|[0-9]+[[:space:]]+lea boot|0x[0-9a-f]+ in _start \(\)|Child |Killing|Detaching from process)'
    local file
    for file in gdb.out native.gdb.out; do
        grep -Ev "$noise" "$dir/$file" |
            sed -E -e 's/process [0-9]+/process PID/g' -e 's/argv=0x[0-9a-f]+/argv=ADDR/' \
                -e 's/^(#[0-9]+ +)0x00007fff[0-9a-f]{8} in \?\? \(\)$/\1STACK in ?? ()/' \
                -e 's/Thread [0-9]+\.[0-9]+/Thread PID.TID/g' \
                -e 's/\(signal=[0-9]+\)/(signal=ANY)/' \
                -e '/^[* ] +[0-9]+ +Thread /s/([^ ])  +/\1 /g' \
                -e '/^ +Id +Target Id +Frame/s/  +/ /g' \
                >"$dir/$file.norm"
    done
}

# same_as_gdbserver DIR: gdb printed the same on both, and the program the same.
same_as_gdbserver() {
    local dir=$1
    if ! diff -u "$dir/native.gdb.out.norm" "$dir/gdb.out.norm" >"$dir/diff"; then
        echo "gdb saw otherwise than under gdbserver: $(grep '^[-+][^-+]' "$dir/diff" | head -6 | tr '\n' '|')"
        cp "$dir/diff" "$dir/detail"
        return 1
    fi
    if ! diff -u "$dir/native.out" "$dir/out" >"$dir/diff.out"; then
        echo "the program printed otherwise than under gdbserver: $(tr '\n' '|' <"$dir/diff.out")"
        return 1
    fi
}

have_gdbserver() {
    have_gdb && command -v gdbserver >/dev/null && return 0
    echo "gdb or gdbserver not installed"
    return 1
}

# Every signal stops first: SIGUSR1 from kill() with its siginfo; SIGALRM (nostop by
# default) once `handle SIGALRM stop` asks; both delivered on continue.
gdb_signal_stops() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    signal_session "$accel" "$dir" "$libc" "" -ex 'handle SIGALRM stop print' -ex continue \
        -ex 'p $_siginfo.si_signo' -ex 'p $_siginfo.si_code' \
        -ex 'p $_siginfo._sifields._kill.si_pid > 1' -ex continue -ex 'p $_siginfo.si_signo' \
        -ex 'p $_siginfo.si_code' -ex continue
    expect "$dir" gdb.out.norm '^Program received signal SIGUSR1, User defined signal 1\.' \
        '^\$1 = 10$' '^\$2 = 0$' '^\$3 = 1$' '^Program received signal SIGALRM, Alarm clock\.' \
        '^\$4 = 14$' '^\$5 = 128$' '\[Inferior 1 \(process PID\) exited normally\]' || return 1
    expect "$dir" out '^usr1=1 alrm=1 usr2=0$' || return 1
    same_as_gdbserver "$dir"
}

# `signal 0` discards the signal; `signal SIGUSR2` gives another instead.
gdb_signal_discard_replace() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    signal_session "$accel" "$dir" "$libc" "" -ex continue -ex 'signal 0'
    expect "$dir" gdb.out.norm 'exited with code 03' || return 1
    expect "$dir" out '^usr1=0 alrm=1 usr2=0$' || return 1
    same_as_gdbserver "$dir" || return 1
    signal_session "$accel" "$dir" "$libc" "" -ex continue -ex 'signal SIGUSR2'
    expect "$dir" out '^usr1=0 alrm=1 usr2=1$' || return 1
    same_as_gdbserver "$dir"
}

# handle: nostop+pass delivers without a stop (QPassSignals), nostop+nopass discards.
gdb_signal_handle() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    signal_session "$accel" "$dir" "$libc" "" -ex 'handle SIGUSR1 nostop noprint pass' -ex continue
    expect "$dir" out '^usr1=1 alrm=1 usr2=0$' || return 1
    same_as_gdbserver "$dir" || return 1
    signal_session "$accel" "$dir" "$libc" "" -ex 'handle SIGUSR1 nostop noprint nopass' -ex continue
    expect "$dir" out '^usr1=0 alrm=1 usr2=0$' || return 1
    same_as_gdbserver "$dir"
}

# abort() and a NULL write stop with "Program received signal" first; the program
# dies of the signal only when continued; si_addr and si_code of the fault.
gdb_signal_fatal() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    signal_session "$accel" "$dir" "$libc" abort -ex continue -ex continue -ex continue
    expect "$dir" gdb.out.norm '^Program received signal SIGABRT, Aborted\.' \
        '^Program terminated with signal SIGABRT, Aborted\.' || return 1
    expect_status "$dir" 134 || return 1
    same_as_gdbserver "$dir" || return 1
    signal_session "$accel" "$dir" "$libc" segv -ex continue -ex continue \
        -ex 'p $_siginfo._sifields._sigfault.si_addr' -ex 'p $_siginfo.si_code' -ex continue
    expect "$dir" gdb.out.norm '^Program received signal SIGSEGV, Segmentation fault\.' \
        '^\$1 = \(void \*\) 0x0$' '^\$2 = 1$' \
        '^Program terminated with signal SIGSEGV, Segmentation fault\.' || return 1
    expect_status "$dir" 139 || return 1
    same_as_gdbserver "$dir"
}

# $_siginfo written at a fault's stop is what the program's SA_SIGINFO handler gets.
gdb_siginfo_write() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    signal_session "$accel" "$dir" "$libc" siginfo -ex continue -ex continue \
        -ex 'set $_siginfo._sifields._sigfault.si_addr = 0x666' -ex 'set $_siginfo.si_errno = 666' \
        -ex 'set $_siginfo.si_code = 999' -ex continue
    expect "$dir" out '^segv addr=0x666 code=999 errno=666$' || return 1
    same_as_gdbserver "$dir"
}

# A signal given on resume at a breakpoint reaches the program (queue-signal, then a
# `next` that ends in the handler); a stepi at a signal stop ends in the handler.
gdb_signal_given() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    signal_session "$accel" "$dir" "$libc" "" -ex 'break after_signals' -ex continue \
        -ex continue -ex 'queue-signal SIGUSR2' -ex next -ex next -ex next -ex 'p got_usr2' \
        -ex 'delete' -ex continue
    expect "$dir" gdb.out.norm '^on_usr2 \(signal=ANY\) at .*signalee\.c:[0-9]+' \
        '^\$1 = 1$' 'exited normally' || return 1
    expect "$dir" out '^usr1=1 alrm=1 usr2=1$' || return 1
    same_as_gdbserver "$dir" || return 1
    signal_session "$accel" "$dir" "$libc" "" -ex continue -ex stepi -ex 'bt 1' -ex continue
    expect "$dir" gdb.out.norm '^#0  on_usr1 \(' 'exited normally' || return 1
    same_as_gdbserver "$dir"
}

# catch fork / catch vfork stop with the child's pid (fork-events, vfork-events); gdb
# detaches the child (D;PID), which runs on; breakpoints in the parent still hit, and the
# parent's vfork ends (vforkdone) before it goes on.
gdb_process_events() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    SESSION_PROGRAM=forker signal_session "$accel" "$dir" "$libc" "" -ex 'catch fork' \
        -ex continue -ex 'break parent_report' -ex continue -ex continue
    expect "$dir" gdb.out.norm '^Catchpoint 1 \(forked process PID\), ' \
        '^\[Detaching after fork from child process PID\]' '^Breakpoint 2, parent_report \(child_code=3\)' \
        'exited normally' || return 1
    expect "$dir" out '^child: sum=55$' '^parent: child exited 3, reported 6$' || return 1
    same_as_gdbserver "$dir" || return 1
    signal_session "$accel" "$dir" "$libc" vfork -ex 'catch vfork' -ex continue -ex 'bt 1' \
        -ex continue -ex continue
    expect "$dir" gdb.out.norm '^Catchpoint 1 \(vforked process PID\), ' \
        '^\[Detaching after vfork from child process PID\]' \
        '^Program received signal SIGUSR1' 'exited normally' || return 1
    expect "$dir" out '^vfork child exited 5$' || return 1
    same_as_gdbserver "$dir"
}

# `next` over a line that loops until SIGALRM's handler ends it (SIGALRM is passed without a
# stop, gdb's default): the signal is still reported while gdb steps, as gdbserver does, so
# that gdb steps over the handler with a breakpoint where the loop was interrupted; the
# `next` ends on the following line. (Passed silently, the step went on inside the handler
# and stopped there: sigrepeat.exp, sigstep.exp.)
gdb_next_over_alarm() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    signal_session "$accel" "$dir" "$libc" spin -ex 'handle SIGUSR1 nostop noprint' \
        -ex 'break spin_until_alarm' -ex continue -ex next -ex next -ex next -ex 'p got_alrm' \
        -ex continue
    expect "$dir" gdb.out.norm '^[0-9]+\s+printf\("spun until the alarm' '^\$1 = 1$' \
        'exited normally' || return 1
    same_as_gdbserver "$dir" || return 1
    # stepi in that loop until the handler has run: every stepi advances (the one the alarm
    # interrupts included: gdb steps over the handler), none ends where it began.
    cat >"$dir/stepi.gdb" <<'EOS'
set $same = 0
while got_alrm == 0
  set $before = $pc
  stepi
  if $pc == $before
    set $same = $same + 1
  end
end
printf "stepi left the pc alone %d times\n", $same
EOS
    signal_session "$accel" "$dir" "$libc" spin -ex 'handle SIGUSR1 nostop noprint' \
        -ex 'break spin_until_alarm' -ex continue -ex next -ex next -x "$dir/stepi.gdb" \
        -ex continue
    # (How many stepi the loop takes before the alarm varies: the counts are compared,
    # not the lines.)
    expect "$dir" gdb.out.norm '^stepi left the pc alone 0 times$' 'exited normally' || return 1
    expect "$dir" native.gdb.out.norm '^stepi left the pc alone 0 times$'
}

# stepi over the fork's and the vfork's `syscall` instruction (fork and vfork events on):
# the step ends right after the instruction, as under ptrace, whose fork event stops inside
# the call and whose step then ends at the call's return. Before, the step went one
# instruction (vfork) or three (fork, gdb's TF left set) further, and a displaced step's pc
# was lost when the call returned (step-over-syscall.exp).
gdb_stepi_over_fork() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    cat >"$dir/to-syscall.gdb" <<'EOS'
while *(unsigned short *)$pc != 0x050f
  stepi
end
set $at = $pc
stepi
printf "stepped %d bytes\n", $pc - $at
EOS
    SESSION_PROGRAM=forker signal_session "$accel" "$dir" "$libc" "" \
        -ex "break fork" -ex continue -ex delete -x "$dir/to-syscall.gdb" -ex kill
    expect "$dir" gdb.out.norm '^stepped 2 bytes$' || return 1
    same_as_gdbserver "$dir" || return 1
    signal_session "$accel" "$dir" "$libc" vfork \
        -ex "break vfork" -ex continue -ex delete -x "$dir/to-syscall.gdb" -ex kill
    expect "$dir" gdb.out.norm '^stepped 2 bytes$' || return 1
    same_as_gdbserver "$dir"
}

# set follow-fork-mode child: gdb detaches the parent (D;PID), which runs on and reaps its
# child; the child, stopped at its birth, is debugged: its breakpoint hits, bt shows its
# stack, and its exit code comes through; as gdbserver.
gdb_follow_fork_child() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    SESSION_PROGRAM=forker signal_session "$accel" "$dir" "$libc" "" \
        -ex 'set follow-fork-mode child' -ex 'break child_work' -ex continue -ex bt -ex continue
    expect "$dir" gdb.out.norm '^\[Attaching after Thread PID.TID fork to child Thread PID.TID\]' \
        '^\[Detaching after fork from parent process PID\]' \
        '^Thread PID.TID "forker" hit Breakpoint 1, child_work \(n=10\)' \
        '^#1  0x[0-9a-f]+ in main \(argc=1, argv=ADDR\) at .*forker.c:' \
        '^\[Inferior 2 \(process PID\) exited with code 03\]' || return 1
    expect "$dir" out '^child: sum=55$' '^parent: child exited 3, reported 6$' || return 1
    expect_status "$dir" 0 || return 1
    same_as_gdbserver "$dir"
}

# set detach-on-fork off: gdb keeps both processes (the child served through the parent's
# connection); the parent stops at waitpid, `inferior 2` shows the child at its fork,
# continued it hits its breakpoint and exits 3, then the parent reaps it and exits; as
# gdbserver. (When the child's inferior is gone gdb closes the guest kernel's file, which
# only hermitux-run lists as a library, while the parent runs: gdb itself refuses that
# with a warning, whose two lines are taken out here.)
#
# The child's SIGCHLD arriving during gdb's step over the waitpid breakpoint once made
# this fail (1 run in 10 under load): tcg reported the step done when the signal's kick
# had stopped the engine before the instruction, and gdb told the unmoved pc as a second
# "hit Breakpoint 1.1" (accel/tcg.c, run_engine).
gdb_detach_on_fork_off() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    detach_on_fork_off_session "$accel" "$dir" "$libc"
}

detach_on_fork_off_session() {
    local accel=$1 dir=$2 libc=$3
    SESSION_PROGRAM=forker signal_session "$accel" "$dir" "$libc" "" \
        -ex 'set detach-on-fork off' -ex 'break waitpid' -ex 'break child_work' -ex continue \
        -ex 'info inferiors' -ex 'inferior 2' -ex 'bt 1' -ex continue -ex bt -ex continue \
        -ex 'info inferiors' -ex 'inferior 1' -ex continue
    local file
    for file in gdb.out.norm native.gdb.out.norm; do
        sed -i -E -e 's/\(remote [^)]*\)/(remote)/' -e 's/ +/ /g' -e '/^Use the "interrupt" command/d' \
            -e '/^and then try again\.$/d' "$dir/$file"
    done
    expect "$dir" gdb.out.norm '^\[New inferior 2 \(process PID\)\]' \
        '^\* 1 process PID 1 \(remote\) ' '^ 2 process PID 1 \(remote\) ' \
        '^Thread PID.TID "forker" hit Breakpoint 2.2, child_work \(n=10\)' \
        '^#1 0x[0-9a-f]+ in main \(argc=1, argv=ADDR\) at .*forker.c:' \
        '^\[Inferior 2 \(process PID\) exited with code 03\]' \
        '^\[Inferior 1 \(process PID\) exited normally\]' || return 1
    expect "$dir" out '^child: sum=55$' '^parent: child exited 3, reported 6$' || return 1
    expect_status "$dir" 0 || return 1
    same_as_gdbserver "$dir"
}

# The same with a parent that ends first (forker nowait): gdb goes on with the child, whose
# monitor then serves gdb's connection itself; as gdbserver.
gdb_detach_on_fork_off_parent_first() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    forktree_session "$accel" "$dir" "$libc" nowait -ex 'break child_work' -ex continue \
        -ex 'info inferiors' -ex 'inferior 2' -ex continue -ex bt -ex continue
    expect "$dir" gdb.out.norm '^\[Inferior 1 \(process PID\) exited normally\]' \
        '^ 2 process PID 1 \(remote\) ' \
        '^Thread PID.TID "forker" hit Breakpoint 1.2, child_work \(n=10\)' \
        '^\[Inferior 2 \(process PID\) exited with code 03\]' || return 1
    expect "$dir" out '^child: sum=55$' '^parent: not waiting$' || return 1
    same_as_gdbserver "$dir"
}

# forktree_session ACCEL DIR LIBC 'PROGRAM-ARGS' GDB-ARGS...: signal_session on forker,
# with detach-on-fork off and the connection column of `info inferiors` normalised.
forktree_session() {
    local accel=$1 dir=$2 libc=$3 program_args=$4
    shift 4
    SESSION_PROGRAM=forker signal_session "$accel" "$dir" "$libc" "$program_args" \
        -ex 'set detach-on-fork off' "$@"
    sed -i -E -e 's/\(remote [^)]*\)/(remote)/' -e 's/ +/ /g' "$dir/gdb.out.norm" \
        "$dir/native.gdb.out.norm"
}

# A parent that forks twice, one child forking again (forker tree), with detach-on-fork
# off: when the parent ends, or when gdb detaches it at parent_report, every fork child
# stays gdb's (the first takes the connection over, the others' pairs go with it), each
# can be selected, continued to its breakpoint and exit, and killed; as gdbserver.
gdb_fork_tree() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    local children=(-ex 'info inferiors' -ex 'inferior 2' -ex continue -ex continue
        -ex 'inferior 3' -ex continue -ex 'bt 1' -ex continue -ex 'info inferiors'
        -ex 'inferior 4' -ex kill -ex 'info inferiors')
    forktree_session "$accel" "$dir" "$libc" tree -ex 'break child_work' -ex continue \
        "${children[@]}"
    expect "$dir" gdb.out.norm '^\[New inferior 3 \(process PID\)\]' \
        '^\[Inferior 1 \(process PID\) exited normally\]' '^ 3 process PID 1 \(remote\) ' \
        '^\[New inferior 4 \(process PID\)\]' \
        '^Thread PID.TID "forker" hit Breakpoint 1.2, child_work \(n=10\)' \
        '^\[Inferior 2 \(process PID\) exited with code 03\]' \
        '^Thread PID.TID "forker" hit Breakpoint 1.3, child_work \(n=20\)' \
        '^\[Inferior 3 \(process PID\) exited with code 04\]' '^ 4 process PID 1 \(remote\) ' \
        '^\[Inferior 4 \(process PID\) killed\]' || return 1
    expect "$dir" out '^parent: not waiting, reported 0$' '^child 1: sum=55$' \
        '^child 2: sum=210$' || return 1
    same_as_gdbserver "$dir" || return 1
    forktree_session "$accel" "$dir" "$libc" tree -ex 'break parent_report' \
        -ex 'break child_work' -ex continue -ex 'detach inferior 1' "${children[@]}"
    expect "$dir" gdb.out.norm '^\[Inferior 1 \(process PID\) detached\]' \
        '^Thread PID.TID "forker" hit Breakpoint 2.3, child_work \(n=20\)' \
        '^\[Inferior 4 \(process PID\) killed\]' || return 1
    same_as_gdbserver "$dir"
}

# set schedule-multiple on with detach-on-fork off (forker relay): gdb resumes every
# process with one vCont (`vCont;c`, `vCont;r...:pCHILD.TID;c`); the child reads a byte
# the parent writes after the fork and the parent waits for it, so both must run. The
# first stop is gdb's (the child at child_work, its steps, its exit, the parent at
# parent_report after it) while the other process is stopped meanwhile; as gdbserver.
# (Where the parent is when the child's exit is told depends on timing under both:
# `inferior 1` shows it, so its output is not compared.)
# Both schedule-multiple sessions read files from the local file system (`set sysroot`):
# gdb 13 reads a new inferior's libraries (for a static program under hermitux-run, the
# guest kernel) while the inferiors it resumed run, and the remote file reads are refused
# then ("cannot close \"target:...\": Cannot execute this command while the target is
# running"); gdb aborted ("terminate called after throwing an instance of
# 'gdb_exception_error'") or lost the connection. gdbserver shows the same with the
# dynamic forker (1 run in 6 on 2 busy cores); 3 runs in 10 of the tree here on tcg.
# With local files gdb still read the kernel's symbols at a new inferior while the others
# ran, and aborted the same way after "Reading symbols from .../hermitux-kernel" (1 run in
# 17 of the tree on tcg, 2 busy cores): the sessions also `set auto-solib-add off` (no
# library's symbols are needed here; the program's own are read at the start).
SCHEDULE_MULTIPLE=(-ex 'set sysroot' -ex 'set auto-solib-add off' -ex 'set schedule-multiple on')
gdb_schedule_multiple() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    forktree_session "$accel" "$dir" "$libc" relay "${SCHEDULE_MULTIPLE[@]}" \
        -ex 'break parent_report' -ex 'break child_work' -ex continue -ex 'info inferiors' \
        -ex next -ex next -ex continue -ex 'pipe inferior 1 | cat >/dev/null' -ex continue \
        -ex 'bt 1' -ex continue \
        -ex 'info inferiors'
    local lines=('^\[New inferior 2 \(process PID\)\]'
        '^Thread PID.TID "forker" hit Breakpoint 2.2, child_work \(n=10\)'
        '^ 1 process PID 1 \(remote\) ' '^\* 2 process PID 1 \(remote\) '
        '^\[Inferior 2 \(process PID\) exited with code 03\]'
        '^Thread PID.TID "forker" hit Breakpoint 1.1, parent_report \(child_code=3\)'
        '^\[Inferior 1 \(process PID\) exited normally\]')
    expect "$dir" gdb.out.norm "${lines[@]}" || return 1
    expect "$dir" out '^child: got x, sum=55$' '^parent: child exited 3, reported 6$' || return 1
    gdbserver_judges "$dir" "${lines[@]}" || return 77
    same_as_gdbserver "$dir"
}

# gdbserver_judges DIR PATTERN...: gdbserver's session has every line this run's had to
# have, so a difference from it means something. Not always so: in CI (two test runners and
# builds beside it) gdb once lost the parent's registers under gdbserver in
# schedule-multiple ("PC register is not available" at parent_report). Then the run was
# checked on its own and cannot be compared; says why (for the SKIP line).
gdbserver_judges() {
    local dir=$1 reason
    shift
    if ! reason=$(expect "$dir" native.gdb.out.norm "$@"); then
        echo "checked, but not compared: gdbserver's own session failed: ${reason:0:200}"
        return 1
    fi
}

# every_end_told DIR FILE: in gdb's output FILE, each of the four processes of forker
# tree either exited with its code, as gdb was told, or ended untold (no PC: gdb cannot
# continue it, and lists it to the end); nothing else went wrong.
every_end_told() {
    local dir=$1 file=$2 inferior code
    if grep -E 'Remote (communication error|failure reply)|Could not read|received signal|Traceback|^Error' \
        "$dir/$file" >"$dir/bad"; then
        echo "$file: $(head -3 "$dir/bad" | tr '\n' '|')"
        return 1
    fi
    for inferior in 1 2 3 4; do
        code=$(sed -nE "s/^\[Inferior $inferior \(process PID\) exited (normally|with code (0[345]))\]$/\1/p" \
            "$dir/$file")
        if [ -n "$code" ]; then
            continue
        fi
        if ! grep -qx "cannot continue inferior $inferior: PC register is not available" \
            "$dir/$file" || ! grep -qE "^left: (.* )?$inferior( |$)" "$dir/$file"; then
            echo "$file: inferior $inferior neither told exited nor left without a PC"
            return 1
        fi
    done
}

# set schedule-multiple on with the whole forker tree kept: every continue resumes every
# process, and one exit is told per resume (W;process:PID), the others kept for the next
# (tests/gdb/continue-all.py continues until none is left). Which end first, and so which
# ends are told before gdb's current process is gone, varies under gdbserver too: each
# session is checked, not compared. Before, the last process to end dropped the others'
# untold exits with the connection ("Remote communication error").
gdb_schedule_multiple_tree() {
    local accel=$1 dir=$2 libc=$3 file
    have_gdbserver || return 77
    forktree_session "$accel" "$dir" "$libc" tree "${SCHEDULE_MULTIPLE[@]}" \
        -ex continue -ex continue -ex continue -ex "source tests/gdb/continue-all.py"
    every_end_told "$dir" gdb.out.norm || return 1
    expect_status "$dir" 0 || return 1
    # (Under gdbserver child 1 printed "sum=%d" in 1 run of 4 here: not compared.)
    expect "$dir" out '^parent: not waiting, reported 0$' '^child 1: sum=55$' \
        '^child 2: sum=210$' '^grandchild: sum=15$' || return 1
    # gdbserver's session passes the same check (which shows the check is right), but not
    # always: in CI, with two test runners and builds beside it, its session once told
    # neither the exit of inferior 2 nor left it without a PC. Then this run cannot judge.
    local reason
    if ! reason=$(every_end_told "$dir" native.gdb.out.norm); then
        echo "gdbserver's own session failed the check: $reason"
        return 77
    fi
}

# detach-on-fork off, then `detach inferior 1` (D;PID) at waitpid: the parent runs on
# undebugged and waits; gdb goes on with the child it keeps (the connection is its own
# now); kill of a vfork child gdb holds (vKill;PID) ends the child, not its parent.
gdb_detach_parent_keep_child() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    SESSION_PROGRAM=forker signal_session "$accel" "$dir" "$libc" "" \
        -ex 'set detach-on-fork off' -ex 'break waitpid' -ex 'break child_work' -ex continue \
        -ex 'detach inferior 1' -ex 'inferior 2' -ex continue -ex bt -ex continue
    expect "$dir" gdb.out.norm '^\[Inferior 1 \(process PID\) detached\]' \
        '^Thread PID.TID "forker" hit Breakpoint 2.2, child_work \(n=10\)' \
        '^\[Inferior 2 \(process PID\) exited with code 03\]' || return 1
    expect "$dir" out '^child: sum=55$' '^parent: child exited 3, reported 6$' || return 1
    same_as_gdbserver "$dir" || return 1
    signal_session "$accel" "$dir" "$libc" vfork -ex 'set detach-on-fork off' \
        -ex 'catch vfork' -ex continue -ex 'info inferiors' -ex continue
    sed -i -E -e 's/\(remote [^)]*\)/(remote)/' -e 's/ +/ /g' "$dir/gdb.out.norm" \
        "$dir/native.gdb.out.norm"
    expect "$dir" gdb.out.norm '^Can not resume the parent process over vfork' || return 1
    same_as_gdbserver "$dir"
}

# An execve under gdb: the debugger stays attached (exec-events), gdb says the process is
# executing a new program, `catch exec` stops there (at the new program's _start), a
# breakpoint on main hits again in the new image with its arguments, and the exit code
# comes through; as gdbserver.
gdb_exec_events() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    SESSION_PROGRAM=execer signal_session "$accel" "$dir" "$libc" "" -ex 'catch exec' \
        -ex 'break main' -ex continue -ex continue -ex continue -ex 'print argv[1]' \
        -ex 'break after_exec' -ex continue -ex continue
    sed -i -E 's/0x[0-9a-f]+ "again"/ADDR "again"/' "$dir/gdb.out.norm" "$dir/native.gdb.out.norm"
    expect "$dir" gdb.out.norm '^process PID is executing new program: .*/execer$' \
        "^Catchpoint 1 \\(exec'd .*/execer\\), 0x[0-9a-f]+ in _start \\(\\)$" \
        '^Breakpoint 2, main \(argc=2, ' '^\$1 = ADDR "again"$' \
        '^Breakpoint 3, after_exec \(argument=' 'exited with code 03' || return 1
    expect "$dir" out '^before exec$' '^after exec: again$' || return 1
    same_as_gdbserver "$dir"
}

# The exec stop is Linux's exec event: at the new program's first instruction (pc,
# `info frame`, x/i), inside the execve (orig_rax 59, rax -ENOSYS); a stepi from there
# ends where it began with the call returned (rax 0), the next one runs _start's first
# instruction; as gdbserver. (Stack addresses are masked: the environment may differ.)
gdb_exec_stop() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    SESSION_PROGRAM=execer signal_session "$accel" "$dir" "$libc" "" -ex 'catch exec' \
        -ex continue -ex 'p $pc' -ex 'info frame' -ex 'x/i $pc' -ex 'p $orig_rax' -ex 'p $rax' \
        -ex stepi -ex 'p $pc' -ex 'p $rax' -ex 'p $orig_rax' -ex stepi -ex 'p $pc' -ex continue
    sed -i -E 's/0x(0000)?7fff[0-9a-f]{8}/STACK/g' "$dir/gdb.out.norm" "$dir/native.gdb.out.norm"
    # The loader's addresses (a dynamic program) are normalized as STACK.
    local at='(0x[0-9a-f]+|STACK)'
    expect "$dir" gdb.out.norm "^\\\$1 = \\(void \\(\\*\\)\\(\\)\\) $at <_start>\$" \
        "^ rip = $at in _start; saved rip = " "^=> $at <_start>:" \
        '^\$2 = 59$' '^\$3 = -38$' "^\\\$4 = \\(void \\(\\*\\)\\(\\)\\) $at <_start>\$" \
        '^\$5 = 0$' '^\$6 = 59$' "^\\\$7 = \\(void \\(\\*\\)\\(\\)\\) $at <_start\\+[0-9]+>\$" \
        'exited with code 03' || return 1
    same_as_gdbserver "$dir"
}

# `catch syscall execve` across the execve: the call's entry stops in the old image, its
# return in the new one, after the exec event, at the new program's _start with rax 0;
# gdb sends QCatchSyscalls once, and the new monitor keeps it; as gdbserver. (gdbserver
# calls the first stop a return: it has not followed the program's calls before the
# catchpoint, and guesses; that line is left out of the comparison.)
gdb_exec_catch_syscall() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    SESSION_PROGRAM=execer signal_session "$accel" "$dir" "$libc" "" \
        -ex 'catch syscall execve' -ex continue -ex continue -ex 'p $rax' -ex continue
    expect "$dir" gdb.out.norm "^Catchpoint 1 \\(call to syscall execve\\), .* in execve \\(\\)$" \
        "^Catchpoint 1 \\(returned from syscall execve\\), 0x[0-9a-f]+ in _start \\(\\)$" \
        '^\$1 = 0$' 'exited with code 03' || return 1
    sed -i -E '/^Catchpoint 1 \((call to|returned from) syscall execve\), .* in execve \(\)$/d' \
        "$dir/gdb.out.norm" "$dir/native.gdb.out.norm"
    same_as_gdbserver "$dir"
}

# ---- signals of a thread other than the first (tests/programs/gdb/tsignalee.c) ----

# tsignalee_session ACCEL DIR LIBC 'PROGRAM-ARGS' GDB-ARGS...: signal_session on tsignalee
# (the main thread waits in a futex: `info threads` shows it past the syscall instruction,
# as gdbserver does).
tsignalee_session() {
    SESSION_PROGRAM=tsignalee signal_session "$@"
}

# The worker's pthread_kill(SIGUSR1) stops the program in that thread, with the thread's
# $_siginfo (SI_TKILL); the main thread's (gdb's selected thread's) is the SIGSTOP that
# stopped it, as gdbserver's; continued, the handler runs in the worker.
gdb_thread_signal_stops() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    tsignalee_session "$accel" "$dir" "$libc" "" -ex continue -ex 'p $_siginfo.si_signo' \
        -ex 'p $_siginfo.si_code' -ex 'p $_siginfo._sifields._kill.si_pid > 1' \
        -ex 'info threads' -ex 'thread apply 1 p $_siginfo.si_signo' \
        -ex 'thread apply 1 p $_siginfo.si_code' -ex 'p $_siginfo.si_signo' -ex continue
    expect "$dir" gdb.out.norm '^Thread 2 "worker" received signal SIGUSR1, User defined signal 1\.' \
        '^\$1 = 10$' '^\$2 = -6$' '^\$3 = 1$' '^\* 2 +Thread PID\.TID "worker" ' '^\$4 = 19$' \
        '^\$5 = -6$' '^\$6 = 10$' '\[Inferior 1 \(process PID\) exited normally\]' || return 1
    expect "$dir" out '^usr1=1 usr2=0 in-worker=1$' || return 1
    same_as_gdbserver "$dir"
}

# tsignalee_prints ACCEL DIR LIBC 'OUTPUT-REGEX' GDB-ARGS...: a session on tsignalee in
# which the program printed a line matching OUTPUT-REGEX, and gdb and the program showed the
# same as under gdbserver.
tsignalee_prints() {
    local accel=$1 dir=$2 libc=$3 output=$4
    shift 4
    tsignalee_session "$accel" "$dir" "$libc" "" "$@"
    expect "$dir" out "$output" || return 1
    same_as_gdbserver "$dir"
}

# In the worker: `signal 0` discards, `signal SIGUSR2` replaces, `handle nostop pass`
# delivers without a stop, `handle nostop nopass` discards.
gdb_thread_signal_resume() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    tsignalee_prints "$accel" "$dir" "$libc" '^usr1=0 usr2=0 in-worker=0$' -ex continue \
        -ex 'signal 0' || return 1
    expect "$dir" gdb.out.norm 'exited with code 03' || return 1
    tsignalee_prints "$accel" "$dir" "$libc" '^usr1=0 usr2=1 in-worker=0$' -ex continue \
        -ex 'signal SIGUSR2' || return 1
    tsignalee_prints "$accel" "$dir" "$libc" '^usr1=1 usr2=0 in-worker=1$' \
        -ex 'handle SIGUSR1 nostop noprint pass' -ex continue || return 1
    tsignalee_prints "$accel" "$dir" "$libc" '^usr1=0 usr2=0 in-worker=0$' \
        -ex 'handle SIGUSR1 nostop noprint nopass' -ex continue
}

# Two threads signalled at once (the worker SIGUSR1, the main thread SIGUSR2): two stops,
# one reported after the other (the second kept while the first is shown), each with its
# own thread's $_siginfo, and both handlers run. Which comes first varies, under
# gdbserver too: checked against itself, not compared.
gdb_thread_signal_both() {
    local accel=$1 dir=$2 libc=$3
    have_gdb || return 77
    start_monitor "$dir" --accel="$accel" -S \
        "$GDB_PROGRAMS/gdb-$libc/tsignalee" both
    timeout -k 5 "$TIMEOUT" gdb -batch -nx -ex "set pagination off" \
        -ex "file $GDB_PROGRAMS/gdb-$libc/tsignalee" -ex "target remote $dir/gdb.sock" \
        -ex continue -ex 'p $_siginfo.si_signo' -ex continue -ex 'p $_siginfo.si_signo' \
        -ex continue >"$dir/gdb.out" 2>&1
    finish_monitor "$dir"
    grep -oE '^Thread [12] "(worker|tsignalee)" received signal SIGUSR[12]|^\$[12] = [0-9]+' \
        "$dir/gdb.out" | tr '\n' ' ' >"$dir/stops"
    local first='Thread 2 "worker" received signal SIGUSR1 $1 = 10 Thread 1 "tsignalee" received signal SIGUSR2 $2 = 12 '
    local second='Thread 1 "tsignalee" received signal SIGUSR2 $1 = 12 Thread 2 "worker" received signal SIGUSR1 $2 = 10 '
    if [ "$(cat "$dir/stops")" != "$first" ] && [ "$(cat "$dir/stops")" != "$second" ]; then
        echo "stops and their \$_siginfo: $(cat "$dir/stops")"
        return 1
    fi
    expect "$dir" gdb.out 'exited normally' || return 1
    expect "$dir" out '^usr1=1 usr2=1 in-worker=1$'
}

# A signal given on resume at a breakpoint in the worker reaches the worker (queue-signal,
# then `next`s that end in the handler); a stepi at the worker's signal stop ends in its
# handler.
gdb_thread_signal_given() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    tsignalee_session "$accel" "$dir" "$libc" "" -ex 'break worker_after_kill' -ex continue \
        -ex continue -ex 'queue-signal SIGUSR2' -ex next -ex next -ex next -ex 'p got_usr2' \
        -ex delete -ex continue
    expect "$dir" gdb.out.norm '^Thread 2 "worker" hit Breakpoint 1, worker_after_kill' \
        '^on_usr2 \(signal=ANY\) at .*tsignalee\.c:[0-9]+' '^\$1 = 1$' 'exited normally' ||
        return 1
    expect "$dir" out '^usr1=1 usr2=1 in-worker=1$' || return 1
    same_as_gdbserver "$dir" || return 1
    tsignalee_session "$accel" "$dir" "$libc" "" -ex continue -ex stepi -ex 'bt 1' -ex continue
    expect "$dir" gdb.out.norm '^#0  on_usr1 \(' 'exited normally' || return 1
    same_as_gdbserver "$dir"
}

# A NULL write in the worker stops in that thread first, with the fault's $_siginfo; the
# program dies of it when continued. `signal SIGUSR1` there runs the worker's handler.
gdb_thread_fault() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    tsignalee_session "$accel" "$dir" "$libc" segv -ex continue \
        -ex 'p $_siginfo._sifields._sigfault.si_addr' -ex 'p $_siginfo.si_code' -ex 'bt 1' \
        -ex continue
    expect "$dir" gdb.out.norm '^Thread 2 "worker" received signal SIGSEGV, Segmentation fault\.' \
        '^\$1 = \(void \*\) 0x0$' '^\$2 = 1$' '^#0  .*worker \(argument=' \
        '^Program terminated with signal SIGSEGV, Segmentation fault\.' || return 1
    expect_status "$dir" 139 || return 1
    same_as_gdbserver "$dir" || return 1
    # Another signal given at the fault reaches the worker's handler; the fault follows.
    tsignalee_session "$accel" "$dir" "$libc" segv -ex continue -ex 'signal SIGUSR1' \
        -ex continue
    expect "$dir" gdb.out.norm '^Thread 2 "worker" received signal SIGSEGV, Segmentation fault\.' \
        '^Program terminated with signal SIGSEGV, Segmentation fault\.' || return 1
    expect "$dir" out '^usr1 handler in worker$' || return 1
    expect_status "$dir" 139 || return 1
    same_as_gdbserver "$dir"
}

# catch fork stops in the worker that forks, with the child's pid; the child runs on
# detached, the worker's own signal still stops.
gdb_thread_fork_event() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    tsignalee_session "$accel" "$dir" "$libc" fork -ex 'catch fork' -ex continue -ex 'bt 1' \
        -ex continue -ex continue
    expect "$dir" gdb.out.norm '^Thread 2 "worker" hit Catchpoint 1 \(forked process PID\), ' \
        '^\[Detaching after fork from child process PID\]' \
        '^Thread 2 "worker" received signal SIGUSR1' 'exited normally' || return 1
    expect "$dir" out '^fork child exited 3$' '^usr1=1 usr2=0 in-worker=1$' || return 1
    same_as_gdbserver "$dir"
}

# catch vfork: the same with vfork, the worker waiting for its child's end (vforkdone).
gdb_thread_vfork_event() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    tsignalee_session "$accel" "$dir" "$libc" vfork -ex 'catch vfork' -ex continue -ex 'bt 1' \
        -ex continue -ex continue
    expect "$dir" gdb.out.norm '^Thread 2 "worker" hit Catchpoint 1 \(vforked process PID\), ' \
        '^\[Detaching after vfork from child process PID\]' \
        '^Thread 2 "worker" received signal SIGUSR1' 'exited normally' || return 1
    expect "$dir" out '^vfork child exited 5$' || return 1
    same_as_gdbserver "$dir"
}

# ---- a thread stopped while blocked in a call (tests/programs/gdb/blocker.c) ----

# blocked_call_session ACCEL DIR LIBC MODE GDB-ARGS...: signal_session on blocker MODE,
# stopped at the worker's breakpoint and switched to the main thread, blocked in its call.
blocked_call_session() {
    local accel=$1 dir=$2 libc=$3 mode=$4
    shift 4
    SESSION_PROGRAM=blocker signal_session "$accel" "$dir" "$libc" "$mode" \
        -ex 'break worker_stop' -ex continue -ex 'thread 1' "$@"
}

# The main thread blocked in a call (pthread_join's futex wait, a read from a pipe, a
# nanosleep) is shown as under gdbserver: pc past its syscall instruction (`info threads`,
# bt, x/i), rax the kernel's restart code for that call (-512 ERESTARTSYS, -516
# ERESTART_RESTARTBLOCK), orig_rax the call's number; an inferior call there restores
# them and the call still restarts (the program gets what it would have got unstopped).
gdb_blocked_call() {
    local accel=$1 dir=$2 libc=$3 mode=$4 code=$5 output=$6
    have_gdbserver || return 77
    blocked_call_session "$accel" "$dir" "$libc" "$mode" -ex 'info threads' -ex bt \
        -ex 'p $rax' -ex 'p $orig_rax' -ex 'x/i $pc' -ex 'p twice(21)' -ex 'p $rax' \
        -ex 'p $orig_rax' -ex 'continue'
    expect "$dir" gdb.out.norm '^Thread 2 "worker" hit Breakpoint 1, worker_stop ' \
        "^\\\$1 = $code\$" '^\$2 = [0-9]+$' '^=> 0x[0-9a-f]+ <[^>]+>:' '^\$3 = 42$' \
        "^\\\$4 = $code\$" 'exited normally' || return 1
    expect "$dir" out "$output" '^joined$' || return 1
    same_as_gdbserver "$dir"
}

# Taken out of its call by the debugger, the call does not restart: `jump` (gdb sets
# orig_rax to -1 with the pc) makes the read return the restart code itself (-1, errno
# 512), and rax set to 3 makes it return 3; as under gdbserver.
gdb_blocked_call_changed() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    blocked_call_session "$accel" "$dir" "$libc" read -ex 'jump *$pc'
    expect "$dir" out '^read returned -1, errno 512$' '^joined$' || return 1
    same_as_gdbserver "$dir" || return 1
    blocked_call_session "$accel" "$dir" "$libc" read -ex 'set var $rax = 3' -ex continue
    expect "$dir" out '^read returned 3, errno 0$' '^joined$' || return 1
    same_as_gdbserver "$dir"
}

# A signal gdb gives on resuming a thread stopped in an interrupted call (`signal SIGUSR1`)
# decides its restart as Linux's signal delivery does: its handler ran, a read restarts
# only with SA_RESTART (else it fails with EINTR), a sleep or a poll fails with EINTR
# whatever SA_RESTART; an ignored signal (SIGCHLD) lets the read restart. Before, the call
# was restarted first and the handler ran on top of it: the read went on.
gdb_blocked_call_given() {
    local accel=$1 dir=$2 libc=$3 mode signal output
    have_gdbserver || return 77
    while read -r mode signal output; do
        blocked_call_session "$accel" "$dir" "$libc" "$mode" -ex 'p $rax' -ex "signal $signal"
        expect "$dir" out "^$output\$" '^joined' || return 1
        same_as_gdbserver "$dir" || return 1
    done <<'CASES'
read-intr SIGUSR1 read returned -1, errno 4
read SIGUSR1 read returned 1, errno 0
read SIGCHLD read returned 1, errno 0
sleep SIGUSR1 nanosleep returned -1, errno 4
poll SIGUSR1 poll returned -1, errno 4
CASES
}

# A signal that interrupts the main thread's read stops it inside the call: rax -512,
# orig_rax 0 (read), as gdbserver; continued, the handler runs and the read restarts
# (SA_RESTART), also after an inferior call there; with `jump` (the signal discarded, orig_rax
# -1) or orig_rax set to -1 (the handler runs) the read returns -512 itself.
gdb_blocked_call_signal() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    SESSION_PROGRAM=blocker signal_session "$accel" "$dir" "$libc" signal -ex continue \
        -ex 'p $rax' -ex 'p $orig_rax' -ex 'x/i $pc' -ex 'p twice(21)' -ex continue
    expect "$dir" gdb.out.norm '^Thread 1 "blocker" received signal SIGUSR1' '^\$1 = -512$' \
        '^\$2 = 0$' '^\$3 = 42$' || return 1
    expect "$dir" out '^read returned 1, errno 0$' '^joined, SIGUSR1 handled$' || return 1
    same_as_gdbserver "$dir" || return 1
    SESSION_PROGRAM=blocker signal_session "$accel" "$dir" "$libc" signal -ex continue \
        -ex 'jump *$pc'
    expect "$dir" out '^read returned -1, errno 512$' '^joined$' || return 1
    same_as_gdbserver "$dir" || return 1
    SESSION_PROGRAM=blocker signal_session "$accel" "$dir" "$libc" signal -ex continue \
        -ex 'set var $orig_rax = -1' -ex continue
    expect "$dir" out '^read returned -1, errno 512$' '^joined, SIGUSR1 handled$' || return 1
    same_as_gdbserver "$dir"
}

# catch syscall stops show Linux's registers: at the entry rax -ENOSYS and orig_rax the
# number (write, musl's writev), at the return the result; orig_rax set to -1 at the entry skips the call (the
# write fails with ENOSYS: nothing printed). gdbserver labels its first syscall stop a
# return and the next an entry (its own state tracking), so the labels are masked in the
# comparison and checked here.
gdb_syscall_registers() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    SESSION_PROGRAM=debuggee signal_session "$accel" "$dir" "$libc" "" \
        -ex 'catch syscall write writev' -ex continue -ex 'p $rax' -ex 'p $orig_rax' -ex continue \
        -ex 'p $rax' -ex 'p $orig_rax' -ex continue
    expect "$dir" gdb.out.norm '^Catchpoint 1 \(call to syscall writev?\), ' '^\$1 = -38$' \
        '^\$2 = (1|20)$' '^Catchpoint 1 \(returned from syscall writev?\), ' '^\$3 = 47$' \
        '^\$4 = (1|20)$' || return 1
    sed -i -E 's/^(Catchpoint 1 )\((call to|returned from) /\1(/' "$dir/gdb.out.norm" \
        "$dir/native.gdb.out.norm"
    same_as_gdbserver "$dir" || return 1
    SESSION_PROGRAM=debuggee signal_session "$accel" "$dir" "$libc" "" \
        -ex 'catch syscall write writev' -ex continue -ex 'set var $orig_rax = -1' -ex delete \
        -ex continue
    expect "$dir" gdb.out.norm 'exited with code 012' || return 1
    sed -i -E 's/^(Catchpoint 1 )\((call to|returned from) /\1(/' "$dir/gdb.out.norm" \
        "$dir/native.gdb.out.norm"
    if [ -s "$dir/out" ]; then
        echo "the skipped write printed: $(head -c 200 "$dir/out")"
        return 1
    fi
    same_as_gdbserver "$dir"
}

# The program's own int3 stops gdb with SIGTRAP right after it, as under gdbserver; the
# program then spins at that very place (int3_spin.c) until a timer's SIGALRM (stopped at
# once `handle` asks, then passed) and another process's SIGUSR1 release it: on kvm (PVM)
# a stop there may have the #BP still queued (accel/kvm.c's step probe). Both signals come
# every 10 ms: after their first stop they pass silently, so that no later one stops.
gdb_int3_spin() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    SESSION_PROGRAM=../$libc/int3_spin signal_session "$accel" "$dir" "$libc" "" \
        -ex continue -ex 'p $pc == (long)int3_spin_loop' -ex 'handle SIGALRM stop print' \
        -ex continue -ex 'p $pc == (long)int3_spin_loop' -ex 'handle SIGALRM nostop noprint' \
        -ex continue -ex continue -ex 'p $pc == (long)int3_spin_loop' \
        -ex 'handle SIGUSR1 nostop noprint' -ex continue
    expect "$dir" gdb.out.norm 'SIGTRAP, Trace/breakpoint trap' 'SIGALRM, Alarm clock' \
        'SIGUSR1, User defined signal 1' 'exited with code 01' || return 1
    same_as_gdbserver "$dir"
}

for gdb_libc in glibc musl; do
    custom "gdb-signals/$gdb_libc/syscall-registers" gdb_syscall_registers "$gdb_libc"
    custom "gdb-signals/$gdb_libc/blocked-signal" gdb_blocked_call_signal "$gdb_libc"
    custom "gdb-signals/$gdb_libc/blocked-join" gdb_blocked_call "$gdb_libc" join -512 '^joined$'
    custom "gdb-signals/$gdb_libc/blocked-read" gdb_blocked_call "$gdb_libc" read -512 \
        '^read returned 1, errno 0$'
    custom "gdb-signals/$gdb_libc/blocked-sleep" gdb_blocked_call "$gdb_libc" sleep -516 \
        '^nanosleep returned 0, errno 0$'
    # Linux ends these with EINTR after a stop (signal(7)), and poll goes on for the time
    # left with restart_syscall (-516); before, all three restarted whole (-514).
    custom "gdb-signals/$gdb_libc/blocked-epoll" gdb_blocked_call \
        "$gdb_libc" epoll -4 '^epoll_wait returned -1, errno 4$'
    # (musl's sigtimedwait calls again after EINTR: it gets the signal sent after the stop.)
    sigwait_output='^sigtimedwait returned -1, errno 4$'
    [ "$gdb_libc" = musl ] && sigwait_output='^sigtimedwait returned 12, errno 0$'
    custom "gdb-signals/$gdb_libc/blocked-sigwait" gdb_blocked_call \
        "$gdb_libc" sigwait -4 "$sigwait_output"
    custom "gdb-signals/$gdb_libc/blocked-poll" gdb_blocked_call \
        "$gdb_libc" poll -516 '^poll returned 0, errno 0$'
    custom "gdb-signals/$gdb_libc/blocked-given" gdb_blocked_call_given "$gdb_libc"
    custom "gdb-signals/$gdb_libc/blocked-changed" gdb_blocked_call_changed "$gdb_libc"
    custom "gdb-signals/$gdb_libc/int3-spin" gdb_int3_spin "$gdb_libc"
done

for gdb_libc in glibc musl; do
    custom "gdb-process/$gdb_libc/exec" gdb_exec_events "$gdb_libc"
    custom "gdb-process/$gdb_libc/exec-stop" gdb_exec_stop "$gdb_libc"
    custom "gdb-process/$gdb_libc/exec-catch-syscall" gdb_exec_catch_syscall "$gdb_libc"
    custom "gdb-process/$gdb_libc/follow-child" gdb_follow_fork_child "$gdb_libc"
    custom "gdb-process/$gdb_libc/detach-on-fork-off" gdb_detach_on_fork_off "$gdb_libc"
    custom "gdb-process/$gdb_libc/parent-ends-first" gdb_detach_on_fork_off_parent_first \
        "$gdb_libc"
    custom "gdb-process/$gdb_libc/fork-tree" gdb_fork_tree "$gdb_libc"
    custom "gdb-process/$gdb_libc/schedule-multiple" gdb_schedule_multiple "$gdb_libc"
    custom "gdb-process/$gdb_libc/schedule-multiple-tree" gdb_schedule_multiple_tree "$gdb_libc"
    custom "gdb-signals/$gdb_libc/thread-stops" gdb_thread_signal_stops "$gdb_libc"
    custom "gdb-signals/$gdb_libc/thread-resume" gdb_thread_signal_resume "$gdb_libc"
    custom "gdb-signals/$gdb_libc/thread-given" gdb_thread_signal_given "$gdb_libc"
    custom "gdb-signals/$gdb_libc/thread-both" gdb_thread_signal_both "$gdb_libc"
    custom "gdb-signals/$gdb_libc/thread-fault" gdb_thread_fault "$gdb_libc"
    custom "gdb-signals/$gdb_libc/thread-fork" gdb_thread_fork_event "$gdb_libc"
    custom "gdb-signals/$gdb_libc/thread-vfork" gdb_thread_vfork_event "$gdb_libc"
done
# A dynamic program's exec stop is at the loader's first instruction, which gdb names
# (before, `?? ()`: the loader's list is empty there, and the stub listed the guest kernel
# alone, so gdb did not fall back on AT_BASE as it does under gdbserver).
custom "gdb-process/glibc-dynamic/exec-stop" gdb_exec_stop glibc-dynamic
for gdb_libc in glibc musl; do
    custom "gdb-signals/$gdb_libc/stops" gdb_signal_stops "$gdb_libc"
    custom "gdb-signals/$gdb_libc/fatal" gdb_signal_fatal "$gdb_libc"
done
custom "gdb-signals/glibc/discard-replace" gdb_signal_discard_replace glibc
custom "gdb-signals/glibc/handle" gdb_signal_handle glibc
custom "gdb-signals/glibc/given" gdb_signal_given glibc
custom "gdb-signals/glibc/siginfo-write" gdb_siginfo_write glibc
custom "gdb-process/glibc/events" gdb_process_events glibc
for gdb_libc in glibc musl; do
    custom "gdb-process/$gdb_libc/stepi-over-fork" gdb_stepi_over_fork "$gdb_libc"
    custom "gdb-signals/$gdb_libc/next-over-alarm" gdb_next_over_alarm "$gdb_libc"
done
custom "gdb-process/glibc/detach-parent-keep-child" gdb_detach_parent_keep_child glibc
