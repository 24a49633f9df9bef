#!/bin/sh
# The guest syscall fuzzer: tests/fuzz/syscall_fuzz.c makes random syscalls with hostile
# arguments inside hermitux-run, seed after seed, for a bounded time. Each run happens in
# a private mount namespace where /, /dev, /sys and /dev/shm are read-only and the
# program's directory is a fresh tmpfs, so the calls the monitor makes on the program's
# behalf (as root, here) reach nothing of the host's. It is a PID namespace too, with its
# own /proc: in the host's /proc, /proc/PID/root and /proc/PID/cwd of this script (whose
# mounts are the host's) led back to a writable / , and fuzzed runs left files with
# random names and modes there. Where those namespaces cannot be made (not root, no
# unshare), the fuzzer does not run: it says so and succeeds.
#
# The monitor fails a run when it reports an internal or sanitizer error, exits 1 (it
# could not go on), or ends in any way but the program's own (0, 124 for a run that
# blocked, 128 + a signal the program brought on itself). Failing seeds are kept in
# tests/fuzz/build/crashes/syscalls/; keep one by adding it to
# tests/fuzz/regressions/syscalls/seeds (every run replays those first).
# Replay one:  FUZZ_VERBOSE=1 hermitux-run tests/fuzz/build/syscall_fuzz SEED CALLS
# (with --strace=/dev/null for an odd SEED)
#
# Usage: tests/fuzz/run-syscall-fuzz.sh [seconds] (default 60)
#   HERMITUX_RUN   the monitor to test (default: the build's); the sanitizer build is best
#   FUZZ_ACCELS    accelerators, default "kvm tcg" (those that work here)
set -u
seconds=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/tests/fuzz/build
run=${HERMITUX_RUN:-$top/hermitux-run}
calls=${FUZZ_CALLS:-3000}
mkdir -p "$build/crashes/syscalls" "$build/syscall-runs"
cc -std=gnu11 -O1 -static -Wall -Wextra -Werror -o "$build/syscall_fuzz" \
    "$top/tests/fuzz/syscall_fuzz.c" || exit 1

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null ||
    ! unshare -m -p -f --mount-proc true 2>/dev/null; then
    echo "syscall fuzzer: not run (needs root and unshare for its read-only mount and PID namespaces)"
    exit 0
fi

accels=
for accel in ${FUZZ_ACCELS:-kvm tcg}; do
    "$run" --accel="$accel" /bin/true 2>/dev/null && accels="$accels $accel"
done

# Odd seeds run with --strace, whose decoders read every hostile argument the calls get.
trace_option() {
    [ $(($1 % 2)) = 1 ] && echo --strace=/dev/null
}

# one ACCEL SEED: 0 when the monitor held.
one() {
    dir=$build/syscall-runs/$1-$2
    mkdir -p "$dir"
    # The output files are opened outside the namespace: opened for writing on its copy
    # of /, they kept the remount read-only from working (EBUSY, and / stayed writable).
    unshare -m -p -f --mount-proc bash -c '
        mount --make-rprivate / &&
        for m in / /dev /sys /dev/shm; do mount -o remount,bind,ro "$m" 2>/dev/null; done
        # Checked, not assumed: a remount that fails leaves the host writable.
        touch /.hermitux-fuzz-probe 2>/dev/null && { rm -f /.hermitux-fuzz-probe; echo "/ stayed writable: not fuzzing" >&2; exit 3; }
        mount -t tmpfs -o size=64m none "$1" && cd "$1" || exit 3
        # Descriptors inherited from outside (a CI runner hands over its own /dev/null
        # as fd 10, say) are on the host'"'"'s writable mounts: the program inherits them, and
        # a random fchmod(10) once turned the host'"'"'s /dev/null into mode 2143, uid 11.
        for fd in /proc/self/fd/*; do
            fd=${fd##*/}
            [ "$fd" -gt 4 ] && eval "exec $fd>&-"
        done
        exec "$2" --accel="$3" --timeout 10 $7 "$4" "$5" "$6" </dev/null >&3 2>&4
    ' bash "$dir" "$run" "$1" "$build/syscall_fuzz" "$2" "$calls" "$(trace_option "$2")" 2>"$dir/setup.err" \
        3>"$dir/out" 4>"$dir/err"
    status=$?
    if grep -Eq 'Sanitizer|runtime error|internal error|KVM_|Assertion' "$dir/err"; then
        status=1
    fi
    grep -q '^done$' "$dir/out" && completed=$((completed + 1))
    case $status in
    0 | 124) return 0 ;;
    1 | 2 | 127) ;;
    *) [ "$status" -gt 128 ] && [ "$status" -lt 160 ] && [ "$status" != 134 ] && return 0 ;;
    esac
    echo "$2" >>"$build/crashes/syscalls/seeds-$1"
    echo "syscall fuzzer: [$1] seed $2: hermitux-run exited $status: $(cat "$dir/setup.err" "$dir/err" | grep -v '^ *$' | head -n 3 | tr '\n' ' ' | cut -c1-300)"
    return 1
}

if [ -z "$accels" ]; then
    echo "syscall fuzzer: $run runs on no accelerator (not even tcg): the monitor is broken"
    exit 1
fi
failures=0 runs=0 completed=0
# The host's device nodes, checked after the runs: nothing a fuzzed program does may reach them.
devices="/dev/null /dev/zero /dev/full /dev/urandom"
devices_before=$(stat -c '%n %a %u %g' $devices)
regressions=$top/tests/fuzz/regressions/syscalls/seeds
for accel in $accels; do
    if [ -f "$regressions" ]; then
        for seed in $(grep -v '^#' "$regressions"); do
            one "$accel" "$seed" || failures=$((failures + 1))
            runs=$((runs + 1))
        done
    fi
done
end=$(($(date +%s) + seconds))
seed=$(date +%s)
while [ "$(date +%s)" -lt "$end" ]; do
    for accel in $accels; do
        one "$accel" "$seed" || failures=$((failures + 1))
        runs=$((runs + 1))
    done
    seed=$((seed + 1))
done
rm -rf "$build/syscall-runs"
if [ "$(stat -c '%n %a %u %g' $devices)" != "$devices_before" ]; then
    echo "syscall fuzzer: a fuzzed program changed a host device node (mode, owner): $(stat -c '%n %a %u %g' $devices | tr '\n' ' ')"
    failures=$((failures + 1))
fi
echo "syscall fuzzer: $runs runs of $calls calls on:$accels ($completed made every call), $failures failed"
[ "$failures" -eq 0 ]
