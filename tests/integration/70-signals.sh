# shellcheck shell=bash
# Signal delivery (tests/programs/signals.c): handlers on Linux's rt_sigframe, faults
# caught by the program, timers, broken pipes, and signals sent to hermitux-run from
# outside, each compared with a native run.

for scenario in basic nodefer registers faults trap altstack alarm-read alarm-read-restart \
    itimer timer; do
    program "signals-$scenario" -- signals "$scenario"
done
program signal_targets -- signal_targets
program signal_fds -- signal_fds
program sigchld -- sigchld
program child_reaping -- child_reaping
program rt_between -- rt_between
program sigio -- sigio
program signalfd_exec -- signalfd_exec
program exec_pending -- exec_pending
program exec_pending-itimer -- exec_pending itimer
# No timer signal after the setitimer or timer_settime that disarmed or re-armed the timer
# has returned (before, a host callback running late posted one: 33 to 86 of 100 rounds).
program timer_disarm -- timer_disarm
# A fork's child starts without its parent's timers (before: it inherited the slots, its
# setitimer failed and it waited in pause() for ever).
program fork_timers -- fork_timers
program signals-pipe-default --status 141 -- signals pipe default
program signals-pipe-ignore -- signals pipe ignore
program signals-pipe-handle -- signals pipe handle
# musl's raise() blocks every signal around tkill, and abort() raises with SIGABRT
# blocked: the signal must stay pending and be delivered once unblocked.
program signals-raise-term --status 143 -- signals raise-term
program signals-abort --status 134 -- signals abort

# external_signal ACCEL DIR LIBC SIGNAL MODE: `signals wait MODE` blocks in a read; once it
# printed "ready", SIGNAL is sent to it (natively) or to hermitux-run. Output and status
# must be the same.
signal_run() {
    local dir=$1 name=$2 signal=$3 st i
    shift 3
    "$@" >"$dir/$name.out" 2>"$dir/$name.err" </dev/null &
    local pid=$!
    # A watchdog instead of timeout(1), which would take the signal itself.
    (sleep "$TIMEOUT" && kill -KILL "$pid") >/dev/null 2>&1 &
    local watchdog=$!
    for ((i = 0; i < 200; i++)); do
        grep -q '^ready$' "$dir/$name.out" 2>/dev/null && break
        sleep 0.05
    done
    # Then until one of its threads blocks in read(2) or readv(2) (syscalls 0, 19; the
    # monitor reads for the program with readv): a handled signal that
    # came between "ready" and the read would leave the read waiting for ever (a native
    # run under load hung so, killed by the watchdog).
    for ((i = 0; i < 200; i++)); do
        local calls
        calls=$(cat /proc/"$pid"/task/*/syscall 2>/dev/null) || break # not readable here
        grep -qE '^(0|19) ' <<<"$calls" && break
        sleep 0.05
    done
    kill "-$signal" "$pid"
    wait "$pid"
    st=$?
    kill "$watchdog" 2>/dev/null
    wait "$watchdog" 2>/dev/null
    echo "$st" >"$dir/$name.status"
}

external_signal() {
    local accel=$1 dir=$2 libc=$3 signal=$4 mode=$5
    local prog=tests/programs/build/$libc/signals
    signal_run "$dir" native "$signal" "$prog" wait "$mode"
    signal_run "$dir" vm "$signal" "$HERMITUX_RUN" --accel="$accel" "$prog" wait "$mode"
    local native vm
    native="$(cat "$dir/native.status") $(cat "$dir/native.out")"
    vm="$(cat "$dir/vm.status") $(cat "$dir/vm.out")"
    if [ "$native" != "$vm" ] || [ -s "$dir/vm.err" ]; then
        echo "native: $native; hermitux-run: $vm $(head -c 200 "$dir/vm.err")"
        return 1
    fi
}

for libc in musl glibc; do
    # (SIGINT and SIGQUIT are ignored in a non-interactive shell's background jobs, and
    # so for the program then: only handled.)
    for signal in USR1 USR2 TERM HUP ALRM PIPE; do
        custom "$libc/signals-external-$signal-default" external_signal "$libc" "$signal" default
    done
    for signal in USR1 TERM INT; do
        custom "$libc/signals-external-$signal-handled" external_signal "$libc" "$signal" handle
    done
    # The main thread has exited (the monitor crashed posting it to that thread).
    custom "$libc/signals-external-USR1-main-exit" external_signal "$libc" USR1 main-exit
done
# tgkill from another process aimed at single threads (thread_kill.c): the main thread
# (tid = pid) and a worker asleep in nanosleep, a worker spinning in user code. Each handler
# must run on the thread aimed at, with SI_TKILL and the sender's pid, as natively.
thread_kill_run() {
    local dir=$1 name=$2 i line
    shift 2
    "$@" >"$dir/$name.out" 2>"$dir/$name.err" </dev/null &
    local pid=$!
    (sleep "$TIMEOUT" && kill -KILL "$pid") >/dev/null 2>&1 &
    local watchdog=$!
    for ((i = 0; i < 400; i++)); do
        line=$(grep '^tids ' "$dir/$name.out" 2>/dev/null) && break
        sleep 0.05
    done
    # Aimed at the program's tids: USR1 at the main thread, USR2 and HUP at the workers.
    python3 -c 'import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
pid, t1, t2 = (int(x) for x in sys.argv[1:4])
for tid, sig in ((t2, 1), (t1, 12), (pid, 10)):
    if libc.syscall(234, pid, tid, sig) != 0:
        print("tgkill", tid, sig, "failed:", ctypes.get_errno())' ${line#tids } >"$dir/$name.sender" 2>&1
    wait "$pid"
    echo "$?" >"$dir/$name.status"
    kill "$watchdog" 2>/dev/null
    wait "$watchdog" 2>/dev/null
    grep -v '^tids ' "$dir/$name.out" >"$dir/$name.result"
}

thread_kill_case() {
    local accel=$1 dir=$2 libc=$3
    local prog=tests/programs/build/$libc/thread_kill
    thread_kill_run "$dir" native "$prog"
    thread_kill_run "$dir" vm "$HERMITUX_RUN" --accel="$accel" "$prog"
    if ! grep -q '^thread 2 took SIGHUP, SI_TKILL, from outside$' "$dir/native.result"; then
        echo "the native run did not take the signals as expected: $(head -c 300 "$dir/native.result")"
        return 1
    fi
    if ! cmp -s "$dir/native.result" "$dir/vm.result" ||
        [ "$(cat "$dir/native.status")" != "$(cat "$dir/vm.status")" ] || [ -s "$dir/vm.err" ] ||
        [ -s "$dir/vm.sender" ]; then
        echo "native $(cat "$dir/native.status"): $(tr '\n' ' ' <"$dir/native.result")"
        echo "hermitux-run $(cat "$dir/vm.status"): $(tr '\n' ' ' <"$dir/vm.result")" \
            "$(head -c 200 "$dir/vm.err" "$dir/vm.sender")"
        return 1
    fi
}
for libc in musl glibc; do
    custom "$libc/thread_kill" thread_kill_case "$libc"
done

program signal_loop -- signal_loop 2000
# A 50 us timer's signals while int3 and ud2 are caught in a loop: on kvm a kick that
# lands between an exception and its exit (in the guest kernel's stub, or with the trap
# still queued) must not build a frame from the kernel's registers or lose the trap.
program trap_storm -- trap_storm 5000
# A SIGTRAP handler returns right after its int3 and the program spins there without
# syscalls until a timer's, then another process's, signal moves it out: on kvm (PVM)
# such a stop looks like one with the int3's #BP still queued; a step probe tells them
# apart (accel/kvm.c) instead of the signals waiting for an exit that never comes.
program int3_spin -- int3_spin

# The FP/vector state across a handler and the frame's FP part (xstate_signal.c): on kvm
# the XSAVE frame with AVX (and AVX-512 when the host has it) as natively. tcg runs the
# program as on a CPU without AVX or XSAVE (accel/tcg.c, "cpuid"), so there the AVX and
# layout modes are checked against what Linux gives on such a CPU instead.
program xstate_signal-sse -- xstate_signal sse
program xstate_signal-avx --accels kvm -- xstate_signal avx
program xstate_signal-avx512 --accels kvm -- xstate_signal avx512
program xstate_signal-altstack --accels kvm -- xstate_signal altstack
program xstate_signal-layout --accels kvm -- xstate_signal layout
program xstate_signal-minsigstksz --accels kvm -- xstate_signal minsigstksz

xstate_without_avx() {
    local accel=$1 dir=$2 libc=$3 prog=tests/programs/build/$3/xstate_signal
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" "$prog" avx >"$dir/avx.out" 2>&1 || return 1
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" "$prog" layout >"$dir/layout.out" 2>&1 || return 1
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" "$prog" minsigstksz >>"$dir/layout.out" 2>&1 || return 1
    printf '%s\n' 'skip: the CPU has no usable AVX (cpuid/xgetbv)' >"$dir/avx.want"
    printf '%s\n' 'cpu: avx no, xsave no' \
        "frame: UC_FP_XSTATE clear, magic1 ok, xstate_size the CPU's, extended_size xstate_size + 4" \
        'AT_MINSIGSTKSZ 1440' 'altstack of that size: handler ran' >"$dir/layout.want"
    if ! cmp -s "$dir/avx.out" "$dir/avx.want" || ! cmp -s "$dir/layout.out" "$dir/layout.want"; then
        echo "got: $(cat "$dir/avx.out" "$dir/layout.out" | head -c 300)"
        return 1
    fi
}
for libc in musl glibc; do
    custom "$libc/xstate_signal-fxsave-frame" xstate_without_avx --accels tcg "$libc"
done

# What the process starting hermitux-run gives the program across execve (nohup, nice, a
# shell's `trap '' SIG`): ignored signals (a SIGHUP it sends itself does nothing), the
# signal mask and the nice value. The monitor's own signal routing hid them.
inherited_case() {
    local accel=$1 dir=$2 libc=$3
    local prog=tests/programs/build/$libc/inherited
    "$prog" launch "$prog" report >"$dir/native.out" 2>&1
    echo "status $?" >>"$dir/native.out"
    "$prog" launch "$HERMITUX_RUN" --accel="$accel" "$prog" report >"$dir/vm.out" 2>&1
    echo "status $?" >>"$dir/vm.out"
    diff "$dir/native.out" "$dir/vm.out" >"$dir/diff" || {
        echo "differs from native: $(tr '\n' '|' <"$dir/diff" | head -c 300)"
        return 1
    }
}
for libc in musl glibc; do
    custom "$libc/inherited" inherited_case "$libc"
done
