# Cases for tests/programs: each runs the musl and the glibc build (musl/NAME, glibc/NAME)
# natively and under hermitux-run. Sourced by tests/run-tests.sh; see its header for the
# case syntax.

make_program_fixtures() {
    seq 1 100000 >"$1/numbers.txt"
    # ~200 KiB of incompressible-looking binary input.
    seq 1 100000 | gzip -n -1 >"$1/binary.gz"
}
FIXTURE_MAKERS+=(make_program_fixtures)

program hello -- hello
program hello-args -- hello "two words" "" "naïve ✓" '$HOME *' -x --long=option
program args_env_auxv --env HERMITUX_TEST_VALUE="a value with spaces" -- \
    args_env_auxv one "two three" env:HERMITUX_TEST_VALUE env:HERMITUX_TEST_UNSET
program args_env_auxv-clear-env --clear-env --env ONLY=this --env EMPTY= -- \
    args_env_auxv envcount env:ONLY env:EMPTY env:PATH env:HOME

for code in 0 1 42 255 256; do
    program "exit_codes-return-$code" --status $((code & 255)) -- exit_codes return "$code"
    program "exit_codes-exit-$code" --status $((code & 255)) -- exit_codes exit "$code"
done
for code in 0 42 256; do
    program "exit_codes-_exit-$code" --status $((code & 255)) -- exit_codes _exit "$code"
done
program exit_codes-Exit-255 --status 255 -- exit_codes Exit 255
program exit_codes-usage --status 2 -- exit_codes

program files --tmpdir -- files @TMP@
# sendfile from a file into a pipe moves more than a pipeful per call while a reader makes
# room (one VM exit per 64 KiB before): nothing lost, no hang without a reader, EPIPE, signals.
program sendfile_pipe --tmpdir -- sendfile_pipe @TMP@
program malloc_heavy -- malloc_heavy
program mmap_big --tmpdir -- mmap_big @TMP@
program tls -- tls
program clocks -- clocks
program vdso -- vdso
program restart_syscall -- restart_syscall
program stdin_echo --stdin @DATA@/lorem.txt -- stdin_echo
program stdin_echo-pipe --stdin-pipe @FIX@/numbers.txt -- stdin_echo
program stdin_echo-binary --stdin @FIX@/binary.gz -- stdin_echo
program stdin_echo-empty -- stdin_echo
program syscall_unsupported -- syscall_unsupported
program process_calls -- process_calls
program sysv_ipc -- sysv_ipc
# pidfds: pidfd_open, pidfd_send_signal, waitid(P_PIDFD), clone/clone3 with CLONE_PIDFD.
program pidfds -- pidfds
# getdents (the call before getdents64) on real and /proc directories.
program getdents_old -- getdents_old
# POSIX timers: SIGEV_THREAD (libc's helper thread, signalled by SIGEV_THREAD_ID), SIGEV_THREAD_ID
# at another thread, and the CPU clocks of a process or thread (clock_getcpuclockid,
# pthread_getcpuclockid) read and timed.
program posix_timers -- posix_timers
# fork, vfork, execve (fds, #! scripts, errors), wait statuses: each guest process is a
# host process with a VM of its own.
program processes --tmpdir -- processes all @TMP@
# SIGTSTP, SIGTTIN, SIGTTOU, SIGSTOP stop a child: its parent's wait sees that signal.
program stop_signals -- stop_signals
# A thread that is not the main one forks: the child resumes in that thread's frame.
program thread_fork -- thread_fork
program cpu_loop -- cpu_loop 20000000
program syscall_loop -- syscall_loop 10000
# Exitless syscalls (monitor/ring.h): the registers after each call as Linux leaves them,
# whichever way the call went (answered in the guest, handed back to the doorbell, or the
# doorbell alone).
program syscall_regs -- syscall_regs
program syscall_regs-doorbell --opt --syscall-ring=off -- syscall_regs

# The ring answers a burst of getppid calls inside the guest (kvm on a host whose syscall
# entry runs in user mode, as PVM's; elsewhere there is none, and -v says why). "always":
# on a loaded machine the default leaves bursts to the doorbell.
syscall_ring_used() {
    local accel=$1 dir=$2 libc=$3 try answered
    [ "$accel" = kvm ] || return 77
    # How many calls the ring answers depends on the machine's load (a call its thread
    # does not take at once goes to the doorbell): none in five runs is a ring that does
    # not work.
    for try in 1 2 3 4 5; do
        "$HERMITUX_RUN" --accel="$accel" -v --syscall-ring=always \
            "tests/programs/build/$libc/syscall_loop" 20000 >"$dir/out" 2>"$dir/err" || {
            echo "exited $?: $(grep -v '^hermitux-run: ' "$dir/err" | head -c 200)"
            return 1
        }
        if grep -q 'no syscall ring.*\(kernel mode\|one CPU\)' "$dir/err"; then
            grep -m1 'no syscall ring' "$dir/err"
            return 77
        fi
        answered=$(sed -n 's/.*syscall ring: \([0-9]*\) calls answered inside the guest.*/\1/p' \
            "$dir/err" | head -n 1)
        if [ "${answered:-0}" -gt 0 ]; then
            echo "$answered of 20000 calls answered inside the guest (run $try)"
            return 0
        fi
    done
    echo "no call answered inside the guest in 5 runs: $(grep 'syscall ring' "$dir/err" | head -n 2 | tr '\n' ' ')"
    return 1
}
custom glibc/syscall-ring syscall_ring_used glibc
custom musl/syscall-ring syscall_ring_used musl

# Faults: natively death by SIGSEGV, SIGFPE, SIGILL; hermitux-run must exit alike
# (128 + signal) and keep the stdout written before the fault. Its stderr is its own
# crash report, so it is not compared.
program null_write --status 139 --no-stderr -- null_write
program div_zero --status 136 --no-stderr -- div_zero
program use_after_munmap --status 139 --no-stderr -- use_after_munmap
# A file mapping's page wholly past the end of the file (at mmap, or since an ftruncate):
# SIGBUS BUS_ADRERR at the address, caught by a handler; with none, death by SIGBUS.
program mmap_sigbus --tmpdir -- mmap_sigbus @TMP@
program mmap_sigbus-fatal --status 135 --no-stderr -- mmap_sigbus
# The same when ANOTHER process (a forked child: a monitor of its own) cuts the file short
# and grows it back: the program's monitor learns of it only from the host.
program mmap_sigbus-elsewhere --tmpdir -- mmap_sigbus @TMP@ elsewhere
program mmap_sigbus-elsewhere-fatal --status 135 --no-stderr -- mmap_sigbus - elsewhere
# mremap growth of a file mapping (in place, moved, from an offset, MAP_SHARED anonymous):
# the file's next pages, SIGBUS past EOF.
program mmap_sigbus-mremap --tmpdir -- mmap_sigbus @TMP@ mremap
# SIGSEGV or SIGBUS and their si_code where the mapping does not allow the access (a write
# past EOF of a read-only mapping is SEGV_ACCERR, PROT_NONE too; a call past EOF SIGBUS).
program mmap_sigbus-codes --tmpdir -- mmap_sigbus @TMP@ codes

# The host's own truncate(1) cuts a file the program has mapped (shared and private) to
# nothing while it waits, then makes it 3 pages again: same output as native.
mmap_cut_by_host() {
    local accel=$1 dir=$2 libc=$3 mode pid st size i
    local program=tests/programs/build/$libc/mmap_sigbus run
    for mode in native vm; do
        mkdir -p "$dir/$mode"
        mkfifo "$dir/$mode.in"
        run=("$program")
        [ $mode = vm ] && run=("$HERMITUX_RUN" --accel="$accel" "$program")
        timeout -k 5 "$TIMEOUT" "${run[@]}" "$dir/$mode" host <"$dir/$mode.in" \
            >"$dir/$mode.out" 2>&1 &
        pid=$!
        exec 3>"$dir/$mode.in"
        for size in 0 12288; do
            for ((i = 0; i < 600; i++)); do
                [ "$(grep -c '^ready:' "$dir/$mode.out")" -gt $((size ? 1 : 0)) ] && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            truncate -s $size "$dir/$mode/host-cut"
            echo go >&3
        done
        exec 3>&-
        wait "$pid"
        st=$?
        if [ $st != 0 ]; then
            echo "$mode run exited $st: $(tr '\n' '|' <"$dir/$mode.out" | cut -c1-300)"
            return 1
        fi
    done
    same_as_native "$dir"
}
custom musl/mmap_sigbus-host mmap_cut_by_host musl
custom glibc/mmap_sigbus-host mmap_cut_by_host glibc
program cpu_user-segments -- cpu_user segments
program cpu_user-out --status 139 --no-stderr -- cpu_user out
program cpu_user-in --status 139 --no-stderr -- cpu_user in
# kvm (PVM here) raises #UD for `int n` through a kernel-only gate: 132, not 139.
program cpu_user-int0d --status 139 --no-stderr --accels tcg -- cpu_user int0d
program ud2 --status 132 --no-stderr -- ud2
# lcall/ljmp on a register at the start of a block: SIGILL at the instruction. On tcg,
# Unicorn's translator killed the whole monitor there (accel/tcg.c, tb_gen_code).
program far_branch_reg -- far_branch_reg

# A signal whose kick comes while a thread is entering pause() (the window widened by a
# test hook): the call returns EINTR after the handler, as on Linux, and the loop around it
# ends; it was made again and slept for ever.
pause_race() {
    local accel=$1 dir=$2 libc=$3
    run_native_and_vm "$accel" "$dir" "tests/programs/build/$libc/pause_race" \
        env HERMITUX_TEST_PAUSE_DELAY_MS=300
    same_as_native "$dir"
}
custom glibc/pause_race pause_race glibc
custom musl/pause_race pause_race musl

# Runs PROGRAM natively and under hermitux-run through the same wrapper command (as
# nobody, in a mount namespace; none at all): DIR/native.out and DIR/vm.out get stdout
# and stderr, then "status N".
run_native_and_vm() {
    local accel=$1 dir=$2 program=$3
    shift 3
    # Bounded as every other case (a fork child spinning on KVM_RUN once hung CI here).
    local limit=(timeout -k 5 "${HERMITUX_TEST_TIMEOUT:-60}")
    "${limit[@]}" "$@" "$program" >"$dir/native.out" 2>&1
    echo "status $?" >>"$dir/native.out"
    "${limit[@]}" "$@" "$HERMITUX_RUN" --accel="$accel" "$program" >"$dir/vm.out" 2>&1
    echo "status $?" >>"$dir/vm.out"
}

# same_as_native DIR: fails, saying how, when DIR/native.out and DIR/vm.out differ (the
# runs of run_native_and_vm, or of a case's own); the whole difference is in DIR/detail.
same_as_native() {
    local dir=$1
    cmp -s "$dir/native.out" "$dir/vm.out" && return 0
    diff "$dir/native.out" "$dir/vm.out" >"$dir/detail"
    echo "differs from native: $(tr '\n' '|' <"$dir/detail" | cut -c1-200)"
    return 1
}

# RLIMIT_NPROC: a fork bomb gets EAGAIN and the host survives. Root ignores the limit, so
# both runs are made as nobody (setpriv), which needs the build readable by nobody and,
# for kvm, /dev/kvm open to it; otherwise the case skips.
# Runs PROGRAM natively and under hermitux-run as nobody (setpriv) and compares them; 77
# (skip) where that cannot be done here.
same_as_nobody() {
    local accel=$1 dir=$2 program=$3 refused="cannot run here\|Permission denied"
    command -v setpriv >/dev/null || {
        echo "setpriv (util-linux) not installed"
        return 77
    }
    run_native_and_vm "$accel" "$dir" "$program" setpriv --reuid=65534 --regid=65534 --clear-groups
    if ! grep -qx "status 0" "$dir/native.out"; then
        echo "cannot run as nobody natively: $(first_line "$dir/native.out")"
        return 77
    fi
    if grep -q "$refused" "$dir/vm.out"; then
        echo "nobody cannot use this accelerator or the build: $(grep -m1 "$refused" "$dir/vm.out")"
        return 77
    fi
    same_as_native "$dir"
}

fork_bomb_as_nobody() {
    same_as_nobody "$1" "$2" "$ROOT/tests/programs/build/$3/fork_bomb" || return $?
    echo "EAGAIN as natively"
}
custom musl/fork_bomb fork_bomb_as_nobody musl
custom glibc/fork_bomb fork_bomb_as_nobody glibc

# process_calls as a user without CAP_SYSLOG: the kernel log is what
# kernel.dmesg_restrict lets it have (EPERM where it is 1), as natively.
process_calls_as_nobody() {
    same_as_nobody "$1" "$2" "$ROOT/tests/programs/build/$3/process_calls" || return $?
    echo "as natively, the kernel log included"
}
custom glibc/process_calls-nobody process_calls_as_nobody glibc

# system() and popen() run /bin/sh. Where the host's /bin/sh is a program hermitux-run
# cannot run (a dynamically linked dash, until dynamic programs run), both runs are made
# in a mount namespace where /bin/sh is bash-static (root only); else the case skips.
popen_system_case() {
    local accel=$1 dir=$2 libc=$3 wrap=()
    if ! "$HERMITUX_RUN" --accel="$accel" /bin/sh -c true >/dev/null 2>"$dir/sh.err"; then
        wrap=(unshare -m /bin/bash-static -c 'mount --bind /bin/bash-static /bin/sh && exec "$@"' sh)
        if ! "${wrap[@]}" "$HERMITUX_RUN" --accel="$accel" /bin/sh -c true >/dev/null 2>&1; then
            echo "/bin/sh does not run under hermitux-run: $(first_line "$dir/sh.err")"
            return 77
        fi
    fi
    run_native_and_vm "$accel" "$dir" "tests/programs/build/$libc/popen_system" "${wrap[@]}"
    same_as_native "$dir" || return 1
    echo "as natively${wrap:+ (/bin/sh = bash-static)}"
}
custom musl/popen_system popen_system_case musl
custom glibc/popen_system popen_system_case glibc

# The vDSO answers clock_gettime in the guest: 10,000 calls after the monitor has
# calibrated its clock page reach the monitor (seen by --strace) a handful of times at
# most — and every one when the page is not in use.
vdso_no_syscalls() {
    local accel=$1 dir=$2 libc=$3
    "$HERMITUX_RUN" --accel="$accel" --strace="$dir/trace" \
        "tests/programs/build/$libc/vdso" calls 10000 >"$dir/out" 2>"$dir/err" || {
        echo "exited $?: $(head -c 200 "$dir/err")"
        return 1
    }
    local calls
    calls=$(grep -c '^clock_gettime(CLOCK_MONOTONIC' "$dir/trace")
    if [ "$calls" -gt 100 ]; then
        echo "$calls of 10000 clock_gettime calls left the guest"
        return 1
    fi
    echo "$calls of 10000 calls left the guest"
}
custom glibc/vdso-no-syscalls vdso_no_syscalls glibc
custom musl/vdso-no-syscalls vdso_no_syscalls musl

# Threads: one vCPU per thread (pthreads over clone/clone3 and futex).
program threads -- threads
# clone with CLONE_VM and without CLONE_THREAD: a process sharing memory.
program clone_vm -- clone_vm
program cleartid_race -- cleartid_race
program signal_rip -- signal_rip
program self_modifying -- self_modifying
# Two buffers 64 MiB apart used in turns while mappings change: tcg grows its TLB.
program tlb_pressure -- tlb_pressure
# unshare and chroot: what a lone thread owns succeeds, namespaces and jails are EPERM.
program unshare_chroot -- unshare_chroot
# preadv2/pwritev2 with RWF_* flags, readahead, mlock2.
program rw_flags --tmpdir -- rw_flags @TMP@
# membarrier forwarded to the host's, with a second thread running.
program membarrier_calls -- membarrier_calls
# prctl's read-only questions and fcntl's write-lifetime hints.
program prctl_gets --tmpdir -- prctl_gets @TMP@
# A socket's and a pipe's queue ioctls (SIOCOUTQ, SIOCATMARK...).
program socket_ioctls -- socket_ioctls
program shared_sem -- shared_sem
# Robust process-shared mutexes whose owner process goes (_exit, exit with two
# threads, a fatal signal, execve, a waiter already asleep): EOWNERDEAD next.
program robust_shared -- robust_shared
program rlimit_as -- rlimit_as
program futex_timeout -- futex_timeout
program thread_end-exit_group --status 3 -- thread_end exit_group
program thread_end-main_exit -- thread_end main_exit
# A faulting thread kills the whole program; the VM's report replaces the shell's.
program thread_end-fault --status 139 --no-stderr -- thread_end fault
program thread_end-max-threads --opt --max-threads=3 --vm-stdout @DATA@/thread_end-limit.vm.out \
    -- thread_end limit
program thread_work-split -- thread_work split 4 20000000
program thread_work-pingpong -- thread_work pingpong 2000
program thread_work-spawn -- thread_work spawn 300
program thread_end-fork -- thread_end fork
program thread_end-vfork -- thread_end vfork
# Pseudo-terminals (expect, script and terminal emulators open them).
program pty_pair -- pty_pair

# What a process holds is let go by the time its parent's wait returns (hermitux-run leaves
# the freeing of the VM and guest RAM to a process that outlives the monitor): a fork
# child's flock, pipe end and System V attachment, and hermitux-run's own for a parent
# outside (the flock of a program that exited is free at once for the shell's next command).
program exit_release --tmpdir -- exit_release rounds @TMP@
exit_release_outside() {
    local accel=$1 dir=$2 native=tests/programs/build/glibc/exit_release round
    for round in 1 2 3 4 5 6 7 8 9 10; do
        timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" "$native" hold "$dir/lock" \
            </dev/null >"$dir/out" 2>&1 || {
            echo "hold failed: $(head -c 300 "$dir/out")"
            return 1
        }
        "$native" check "$dir/lock" >"$dir/out" 2>&1 || {
            echo "round $round: $(head -c 300 "$dir/out")"
            return 1
        }
    done
}
custom exit_release-outside exit_release_outside
