# shellcheck shell=bash
# A program trying to reach the monitor: its /proc, its fds, its working directory.
# Each case runs the same program natively and in the VM where Linux's answer is
# defined, or checks the monitor's own files stayed its own (docs/SECURITY.md).

program proc_self --tmpdir -- proc_self @TMP@
program proc_self-clear-env --tmpdir --clear-env --env ONLY=this -- proc_self @TMP@

HOSTILE_PROC=tests/programs/build/musl/proc_self

# Started with fds 0-2 closed, the program must find them closed too, never
# /dev/kvm or the VM's fds in their place.
closed_standard_fds() {
    local accel=$1 dir=$2 st
    timeout "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" tests/programs/build/musl/stdin_echo \
        <&- >"$dir/out" 2>"$dir/err"
    st=$?
    # stdin_echo reads fd 0: closed, the read fails with EBADF and it says so.
    if grep -qi kvm "$dir/out" "$dir/err"; then
        echo "the program reached a KVM fd: $(head -c 300 "$dir/err")"
        return 1
    fi
    if ! grep -q 'Bad file descriptor' "$dir/err"; then
        echo "status $st; fd 0 was not closed for the program: $(head -c 300 "$dir/err")"
        return 1
    fi
}
custom hostile/closed-stdin closed_standard_fds

# The program's chdir is its own: a relative --core lands where the monitor was
# started, not in the directory the program moved to.
core_after_chdir() {
    local accel=$1 dir=$2 st run program
    run=$(realpath "$HERMITUX_RUN") program=$(realpath tests/programs/build/musl/chdir_fault)
    mkdir -p "$dir/start" "$dir/elsewhere"
    (cd "$dir/start" && timeout "$TIMEOUT" "$run" "--accel=$accel" --core core.x \
        "$program" "$dir/elsewhere" </dev/null >"$dir/out" 2>"$dir/err")
    st=$?
    if [ "$st" != 139 ] || [ ! -s "$dir/start/core.x" ] || [ -e "$dir/elsewhere/core.x" ]; then
        echo "status $st; core in start: $(ls "$dir/start"); elsewhere: $(ls "$dir/elsewhere")"
        return 1
    fi
    # The program's umask 0777 is not the monitor's: the core is readable by its owner.
    if [ "$(stat -c %a "$dir/start/core.x")" != 600 ]; then
        echo "core file mode $(stat -c %a "$dir/start/core.x"), not 600"
        return 1
    fi
    if ! grep -q "core.x" "$dir/err"; then
        echo "no hint naming the core file: $(head -c 300 "$dir/err")"
        return 1
    fi
}
custom hostile/core-after-chdir core_after_chdir

# Monitor options checked before anything is built: one line, exit 2.
bad_input gdb-bad-spec -- --gdb tcp:nowhere tests/programs/build/musl/hello
bad_input gdb-bad-port -- --gdb tcp::99999 tests/programs/build/musl/hello
bad_input timeout-too-long -- --timeout 1e12 tests/programs/build/musl/hello

# The program's cwd is its own, and its children and exec'd programs inherit it.
compare hostile/cwd-fork-exec -- /bin/busybox sh -c \
    'cd /tmp && /bin/busybox pwd && (cd / && /bin/busybox pwd) && /bin/busybox pwd && cd /usr && exec /bin/busybox pwd'

# The rest of the file interface (issue 10): openat2, close_range, memfd_create, utimes, xattrs.
program file_calls --tmpdir -- file_calls @TMP@
program proc_threads -- proc_threads

# Every access to the doorbell page (the page the syscall entry writes to leave
# the VM) but the entry's own ring is the program's page fault, as natively where
# nothing is mapped there: killed by SIGSEGV, or a handler gets SEGV_MAPERR at the
# address with rip at the instruction and the program goes on.
for attack in read write stub-copy rmw sse-store string-read; do
    program "hostile_cpu-doorbell-$attack" --status 139 --no-stderr -- hostile_cpu "doorbell-$attack"
    program "hostile_cpu-caught-doorbell-$attack" -- hostile_cpu "caught-doorbell-$attack"
done
# fxsave's si_addr is the last byte natively: only the signal is compared. Unicorn
# has no AVX nor xsave (SIGILL): kvm only.
program hostile_cpu-doorbell-fxsave --status 139 --no-stderr -- hostile_cpu doorbell-fxsave
# Unicorn's clflush never faults: kvm only.
program hostile_cpu-caught-doorbell-clflush --accels kvm -- hostile_cpu caught-doorbell-clflush
program hostile_cpu-caught-doorbell-avx-store --accels kvm -- hostile_cpu caught-doorbell-avx-store
program hostile_cpu-caught-doorbell-xsave --accels kvm -- hostile_cpu caught-doorbell-xsave
# Privileged instructions at CPL3: SIGSEGV (SI_KERNEL), never acted on.
for attack in port-out port-in hlt cli; do
    program "hostile_cpu-caught-$attack" -- hostile_cpu "caught-$attack"
done
