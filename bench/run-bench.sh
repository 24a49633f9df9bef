#!/usr/bin/env bash
# bench/run-bench.sh — `make bench`: hermitux-run against real peers measured in the same
# run (native execution, qemu-x86_64 from qemu-user, gdbserver), printed as ratios.
# Nothing here asserts a wall-clock time; the issue's targets are judged on ratios and
# reported as met or missed. The exit status is non-zero only if something could not be
# measured (a program failed or printed the wrong output), never for a missed target.
#
# Sections: 1 start-up (hello world; 1b /bin/true, dynamically linked), 2 CPU-bound
# (cpu_loop), 2b ordinary programs (a -O0 xorshift loop, busybox sha256sum/gzip/sort of a
# 20 MB file, busybox awk crunching numbers, xz -6 of 2 MB of it), 3 one forwarded system call
# (syscall_loop, and VM exits per call), 4 peak RSS, 5 gdb (breakpoint hits, stepi, 1 MiB
# memory read) against hermitux-run --gdb -S, gdbserver and qemu-x86_64 -g, 6 processes
# (fork_loop: fork + exit + wait, and fork + execve of hello + wait), 7 HTTP requests
# from the host to a static epoll server (tests/programs/http_server), 9 I/O and memory
# (clock_gettime through the vDSO, cat of a file through a pipe, first touch of fresh
# heap). The summary is also written to bench/build/results.tsv and drawn as a chart of
# the ratios, bench/build/ratios.svg (bench/chart.py; docs/ copies it).
#
# Scale with the environment (defaults keep the whole run near 3 minutes on 2 cores):
#   BENCH_RUNS=20                start-up runs per configuration (median of them)
#   BENCH_CPU_ITERS=1500000000   cpu_loop iterations (a few seconds natively)
#   BENCH_CPU_REPS=5             cpu_loop runs per configuration (median)
#   BENCH_WORK_REPS=3            runs per configuration of each ordinary program (median)
#   BENCH_CRUNCH_ITERS=10000000  iterations of the -O0 xorshift loop
#   BENCH_DATA_MB=20             size of the text file for sha256sum, gzip and sort
#   BENCH_AWK_ITERS=100000       iterations of the awk number crunching
#   BENCH_SYSCALLS_KVM=200000    getppid() calls under KVM, default and ring (the ring's
#                                start is charged to the calls: 20000 made the default look
#                                twice as slow as it is); BENCH_SYSCALLS_DOORBELL=20000,
#                                BENCH_SYSCALLS_TCG=200000, BENCH_SYSCALLS_NATIVE=2000000,
#                                BENCH_SYSCALLS_QEMU=2000000
#   BENCH_GDB_REPS=3             gdb sessions per target (median per phase)
#   BENCH_GDB_HITS=1000 BENCH_GDB_STEPS=10000
#   BENCH_GDB_MEM_REPS=5         1 MiB dumps per session (the mean of them is reported)
#   BENCH_GDB_TCG=1              also debug under --accel=tcg, one session, scaled down
#                                (BENCH_GDB_TCG_HITS=50, BENCH_GDB_TCG_STEPS=1000; 0 skips it)
#   BENCH_FORKS=20               fork round trips per fork_loop run (BENCH_FORK_REPS=3 runs)
#   BENCH_HTTP_REQUESTS=10000    HTTP requests per run of section 7 (BENCH_HTTP_REPS=3 runs
#                                per configuration and mode, median)
#   BENCH_THREAD_ITERS=1500000000 thread_work split: CPU work over 1 and 2 threads
#   BENCH_THREAD_REPS=3          runs per configuration and thread count (median)
#   BENCH_PINGPONG=20000         mutex/condvar hand-overs between two threads
#   BENCH_SPAWN=1000             threads created and joined one after the other
#   BENCH_CLOCK_CALLS=2000000    clock_gettime() calls of section 9 (BENCH_IO_REPS=3 runs)
#   BENCH_PIPE_MB=100            size of the file cat writes through a pipe
#   BENCH_TOUCH_MB=300           fresh heap touched page by page
#   BENCH_QUICK=1                a smoke run: every count divided by about 10
set -euo pipefail
cd "$(dirname "$0")/.."

HERMITUX_RUN=$PWD/hermitux-run
PROGRAMS=tests/programs/build/glibc
BUILD=bench/build

RUNS=${BENCH_RUNS:-20}
CPU_ITERS=${BENCH_CPU_ITERS:-1500000000}
CPU_REPS=${BENCH_CPU_REPS:-5}
SYSCALLS_KVM=${BENCH_SYSCALLS_KVM:-200000}
SYSCALLS_DOORBELL=${BENCH_SYSCALLS_DOORBELL:-20000}
SYSCALLS_TCG=${BENCH_SYSCALLS_TCG:-200000}
SYSCALLS_NATIVE=${BENCH_SYSCALLS_NATIVE:-2000000}
SYSCALLS_QEMU=${BENCH_SYSCALLS_QEMU:-2000000}
SYSCALL_REPS=${BENCH_SYSCALL_REPS:-5}
WORK_REPS=${BENCH_WORK_REPS:-3}
CRUNCH_ITERS=${BENCH_CRUNCH_ITERS:-10000000}
DATA_MB=${BENCH_DATA_MB:-20}
AWK_ITERS=${BENCH_AWK_ITERS:-100000}
EXIT_SYSCALLS=${BENCH_EXIT_SYSCALLS:-2000}
GDB_REPS=${BENCH_GDB_REPS:-3}
GDB_HITS=${BENCH_GDB_HITS:-1000}
GDB_STEPS=${BENCH_GDB_STEPS:-10000}
GDB_MEM_REPS=${BENCH_GDB_MEM_REPS:-5}
GDB_TCG=${BENCH_GDB_TCG:-1}
GDB_TCG_HITS=${BENCH_GDB_TCG_HITS:-50}
GDB_TCG_STEPS=${BENCH_GDB_TCG_STEPS:-1000}
FORKS=${BENCH_FORKS:-20}
FORK_REPS=${BENCH_FORK_REPS:-3}
HTTP_REQUESTS=${BENCH_HTTP_REQUESTS:-10000}
HTTP_REPS=${BENCH_HTTP_REPS:-3}
THREAD_ITERS=${BENCH_THREAD_ITERS:-1500000000}
THREAD_REPS=${BENCH_THREAD_REPS:-3}
PINGPONG=${BENCH_PINGPONG:-20000}
SPAWN=${BENCH_SPAWN:-1000}
CLOCK_CALLS=${BENCH_CLOCK_CALLS:-2000000}
IO_REPS=${BENCH_IO_REPS:-3}
PIPE_MB=${BENCH_PIPE_MB:-100}
TOUCH_MB=${BENCH_TOUCH_MB:-300}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    CLOCK_CALLS=200000 IO_REPS=1 PIPE_MB=10 TOUCH_MB=30
    THREAD_ITERS=150000000 THREAD_REPS=1 PINGPONG=2000
    RUNS=5 CPU_ITERS=150000000 CPU_REPS=1 SYSCALLS_KVM=2000 SYSCALLS_DOORBELL=2000 SYSCALLS_TCG=20000
    SYSCALLS_NATIVE=200000 SYSCALLS_QEMU=200000 SYSCALL_REPS=2 EXIT_SYSCALLS=200
    GDB_REPS=1 GDB_HITS=100 GDB_STEPS=1000 GDB_TCG_HITS=10 GDB_TCG_STEPS=100
    FORKS=5 FORK_REPS=1 HTTP_REQUESTS=1000 HTTP_REPS=1
    WORK_REPS=1 CRUNCH_ITERS=1000000 DATA_MB=2 AWK_ITERS=10000
fi

mkdir -p "$BUILD"
TIMER=$BUILD/bench-timer
GDB_TARGET=$BUILD/gdb-target
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$TIMER" bench/bench-timer.c
gcc -std=gnu11 -static -O0 -g -Wall -Wextra -Werror -o "$GDB_TARGET" bench/gdb-target.c
CRUNCH=$BUILD/crunch
gcc -std=gnu11 -static -O0 -Wall -Wextra -Werror -o "$CRUNCH" bench/crunch.c
CLOCK_LOOP=$BUILD/clock-loop TOUCH=$BUILD/touch
gcc -std=gnu11 -static -O2 -Wall -Wextra -Werror -o "$CLOCK_LOOP" bench/clock-loop.c
gcc -std=gnu11 -static -O2 -Wall -Wextra -Werror -o "$TOUCH" bench/touch.c

# Background servers of the gdb section, killed by pid if the script stops early.
SERVER_PID=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

FAILED=0
fail() {
    echo "bench: $*" >&2
    FAILED=1
}

# Results: "section|what|value|peer|ratio|target|verdict" lines for the final table.
TABLE=()
row() {
    local IFS='|'
    TABLE+=("$*")
}

# Arithmetic on decimals.
calc() { awk "BEGIN { printf \"%.${2:-2}f\", ($1) }"; }
# ratio A B [DIGITS]: A/B, or n/a when either is missing or B is 0.
ratio() {
    if [ -z "$1" ] || [ -z "$2" ] || [ "$(calc "$2 == 0" 0)" = 1 ]; then
        echo n/a
    else
        calc "$1 / $2" "${3:-2}"
    fi
}
# verdict RATIO LIMIT: met when RATIO <= LIMIT.
verdict() {
    if [ "$1" = n/a ]; then
        echo "not measured"
    elif [ "$(calc "$1 <= $2" 0)" = 1 ]; then
        echo met
    else
        echo MISSED
    fi
}

# --- What runs here -----------------------------------------------------------------
HAVE_KVM=0 HAVE_TCG=0 HAVE_QEMU=0 HAVE_GDB=0 HAVE_GDBSERVER=0
expected=$("$PROGRAMS/hello")
if [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
    [ "$("$HERMITUX_RUN" --accel=kvm "$PROGRAMS/hello" 2>/dev/null)" = "$expected" ]; then
    HAVE_KVM=1
fi
if [ "$("$HERMITUX_RUN" --accel=tcg "$PROGRAMS/hello" 2>/dev/null)" = "$expected" ]; then
    HAVE_TCG=1
fi
if command -v qemu-x86_64 >/dev/null; then HAVE_QEMU=1; fi
if command -v gdb >/dev/null; then HAVE_GDB=1; fi
if command -v gdbserver >/dev/null; then HAVE_GDBSERVER=1; fi

kvm_note=""
if [ -e /sys/module/kvm_pvm ] || grep -qw kvm_pvm /proc/modules 2>/dev/null; then
    kvm_note=" (PVM: pagetable-based virtual machine, no VMX/SVM)"
fi
echo "== hermitux-run benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "CPU:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "kernel:  $(uname -r); /dev/kvm: $([ "$HAVE_KVM" = 1 ] && echo usable || echo unusable)$kvm_note"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"
echo "gcc:     $(gcc -dumpfullversion); glibc $(ldd --version | head -1 | awk '{print $NF}')"
echo "unicorn: $(dpkg-query -W -f='${Version}' libunicorn2 2>/dev/null || echo unknown);" \
    "qemu: $([ "$HAVE_QEMU" = 1 ] && qemu-x86_64 --version | head -1 | awk '{print $3}' || echo none);" \
    "gdb: $([ "$HAVE_GDB" = 1 ] && gdb --version | head -1 | awk '{print $NF}' || echo none)"
echo "hermitux-run: $("$HERMITUX_RUN" --version 2>/dev/null | head -1), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo

# Configurations: name and command prefix. Native has an empty prefix.
CONFIG_NAMES=(native)
CONFIG_PREFIX=("")
if [ "$HAVE_KVM" = 1 ]; then
    CONFIG_NAMES+=(kvm)
    CONFIG_PREFIX+=("$HERMITUX_RUN --accel=kvm")
fi
if [ "$HAVE_TCG" = 1 ]; then
    CONFIG_NAMES+=(tcg)
    CONFIG_PREFIX+=("$HERMITUX_RUN --accel=tcg")
fi
if [ "$HAVE_QEMU" = 1 ]; then
    CONFIG_NAMES+=(qemu)
    CONFIG_PREFIX+=("qemu-x86_64")
fi

# The syscall ring's variants of kvm, for the sections where syscalls count (2b, 3, 9):
# "ring" uses it even when no CPU is free (--syscall-ring=always), "doorbell" never
# (every call an exit); plain kvm decides by the machine's load (docs/PERFORMANCE.md).
with_ring_variants() {
    SAVED_NAMES=("${CONFIG_NAMES[@]}") SAVED_PREFIXES=("${CONFIG_PREFIX[@]}")
    if [ "$HAVE_KVM" = 1 ]; then
        CONFIG_NAMES+=(ring doorbell)
        CONFIG_PREFIX+=("$HERMITUX_RUN --accel=kvm --syscall-ring=always"
            "$HERMITUX_RUN --accel=kvm --syscall-ring=off")
    fi
}
without_ring_variants() {
    CONFIG_NAMES=("${SAVED_NAMES[@]}") CONFIG_PREFIX=("${SAVED_PREFIXES[@]}")
}

# timed RUNS WARMUP ARGS...: runs every configuration's prefix + ARGS interleaved through
# bench-timer; sets STAT_<config>="median min p25 p75 max maxrss cpu" (nanoseconds, KiB).
# A configuration whose run fails gets an empty STAT.
timed() {
    local runs=$1 warmup=$2
    shift 2
    local argv=() i out
    for i in "${!CONFIG_NAMES[@]}"; do
        [ "$i" -gt 0 ] && argv+=(---)
        # shellcheck disable=SC2206 # the prefixes are word lists without globs
        argv+=(${CONFIG_PREFIX[$i]} "$@")
    done
    if ! out=$("$TIMER" -n "$runs" -w "$warmup" -- "${argv[@]}"); then
        fail "a run of $* failed (see above)"
    fi
    i=0
    while read -r line; do
        printf -v "STAT_${CONFIG_NAMES[$i]}" '%s' "$line"
        i=$((i + 1))
    done <<<"$out"
}
# field CONFIG N: field N (1 = median ns, 2 min, 3 p25, 4 p75, 5 max, 6 maxrss KiB, 7 cpu ns).
field() {
    local var="STAT_$1"
    [ -n "${!var:-}" ] && echo "${!var}" | cut -d' ' -f"$2"
    return 0
}
have() {
    local c
    for c in "${CONFIG_NAMES[@]}"; do [ "$c" = "$1" ] && return 0; done
    return 1
}
ms() {
    if [ -n "$1" ]; then calc "$1 / 1e6" "${2:-2}"; else echo n/a; fi
}
# spread CONFIG: interquartile range as a percentage of the median.
spread() {
    local m p25 p75
    m=$(field "$1" 1) p25=$(field "$1" 3) p75=$(field "$1" 4)
    if [ -n "$m" ]; then calc "100 * ($p75 - $p25) / $m" 0; else echo n/a; fi
}

# Output check: every configuration prints what the native program prints.
check_output() {
    local i got want
    want=$("$@")
    for i in "${!CONFIG_NAMES[@]}"; do
        [ "${CONFIG_NAMES[$i]}" = native ] && continue
        # shellcheck disable=SC2086
        got=$(${CONFIG_PREFIX[$i]} "$@" 2>&1) || true
        [ "$got" = "$want" ] || fail "${CONFIG_NAMES[$i]}: $* printed '$got', expected '$want'"
    done
}

# --- 1. Start-up and 4. peak RSS ----------------------------------------------------
echo "== 1. start-up: $PROGRAMS/hello, median of $RUNS runs per configuration (interleaved)"
check_output "$PROGRAMS/hello"
timed "$RUNS" 3 "$PROGRAMS/hello"
printf '   %-8s %10s %10s %10s %8s %10s %12s\n' config median_ms min_ms max_ms IQR_% cpu_ms maxrss_KiB
for c in "${CONFIG_NAMES[@]}"; do
    printf '   %-8s %10s %10s %10s %8s %10s %12s\n' "$c" "$(ms "$(field "$c" 1)")" \
        "$(ms "$(field "$c" 2)")" "$(ms "$(field "$c" 5)")" "$(spread "$c")" \
        "$(ms "$(field "$c" 7)")" "$(field "$c" 6)"
done
# Where start-up goes: the same processes started without running a program (process
# creation, dynamic linking of hermitux-run's libraries, option parsing).
FLOOR_HX="" FLOOR_QEMU=""
floor_argv=("$HERMITUX_RUN" --version)
[ "$HAVE_QEMU" = 1 ] && floor_argv+=(--- qemu-x86_64 --version)
if out=$("$TIMER" -n "$RUNS" -w 3 -- "${floor_argv[@]}"); then
    FLOOR_HX=$(echo "$out" | sed -n 1p | cut -d' ' -f1)
    FLOOR_QEMU=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
    echo "   --version (process start and shared libraries, no program): hermitux-run" \
        "$(ms "$FLOOR_HX") ms, qemu-x86_64 $(ms "$FLOOR_QEMU") ms"
fi
START_NATIVE=$(field native 1) START_KVM="" START_TCG="" START_QEMU=""
have kvm && START_KVM=$(field kvm 1)
have tcg && START_TCG=$(field tcg 1)
have qemu && START_QEMU=$(field qemu 1)
r=$(ratio "$START_KVM" "$START_QEMU")
row "start-up" "hello, kvm vs qemu-x86_64" "$(ms "$START_KVM") ms" "$(ms "$START_QEMU") ms" "$r" \
    "<= 0.40" "$(verdict "$r" 0.40)"
r=$(ratio "$START_KVM" "$START_NATIVE" 1)
row "start-up" "hello, kvm vs native" "$(ms "$START_KVM") ms" "$(ms "$START_NATIVE") ms" "$r" \
    "<= 5.0" "$(verdict "$r" 5.0)"
# Where a kvm start-up goes, from one run under strace (only execve, ioctl and exit_group
# stop it, with a seccomp filter, so the rest runs at full speed; each stop still adds
# some microseconds, so the phases sum to a little more than the median above).
startup_breakdown() {
    local trace=$BUILD/startup.strace
    strace --seccomp-bpf -f -ttt -T -e trace=execve,ioctl,exit_group -o "$trace" \
        "$HERMITUX_RUN" --accel=kvm "$PROGRAMS/hello" >/dev/null 2>&1 || return 0
    awk '
        function dur(line) { sub(/.*</, "", line); sub(/>.*/, "", line); return line + 0 }
        $3 ~ /^execve/ && !t_exec { t_exec = $2 }
        /KVM_CREATE_VM/ { t_vm = $2 }
        /KVM_SET_USER_MEMORY_REGION/ && !slot { slot = dur($0) }
        # The vCPU set-up makes one KVM_RUN with immediate_exit (EINTR at once).
        /KVM_RUN/ && /EINTR/ && !t_run1 { next }
        /KVM_RUN/ {
            if (!t_run1) { t_run1 = $2; d_run1 = dur($0) }
            else { runs++; in_guest += dur($0) }
            t_last = $2 + dur($0)
        }
        /exit_group/ { t_end = $2 }
        END {
            if (!t_vm || !t_run1 || !t_end) exit
            printf "   where a kvm start-up of hello goes (one run under strace, ms):\n"
            printf "     process, libraries, options, loading the kernel and program  %7.2f\n", (t_vm - t_exec) * 1e3
            printf "     VM and vCPU creation, threads (of which the RAM memslot %.2f)  %7.2f\n", slot * 1e3, (t_run1 - t_vm) * 1e3
            printf "     first KVM_RUN: the program up to its first system call       %7.2f\n", d_run1 * 1e3
            printf "     the program: %d exits (%.2f ms in KVM_RUN)                   %7.2f\n", runs, in_guest * 1e3, (t_last - t_run1 - d_run1) * 1e3
            printf "     end: threads joined, VM and RAM released                     %7.2f\n", (t_end - t_last) * 1e3
        }' "$trace"
}
command -v strace >/dev/null && have kvm && startup_breakdown
if [ -n "$FLOOR_HX" ] && [ -n "$START_KVM" ]; then
    row "start-up" "  of which hermitux-run --version" "$(ms "$FLOOR_HX") ms" \
        "$(ms "$FLOOR_QEMU") ms" "$(ratio "$FLOOR_HX" "$FLOOR_QEMU")" "" ""
    row "start-up" "  of which VM + program (kvm)" "$(calc "($START_KVM - $FLOOR_HX) / 1e6") ms" \
        "$(calc "($START_QEMU - $FLOOR_QEMU) / 1e6") ms" \
        "$(ratio "$(calc "$START_KVM - $FLOOR_HX" 0)" "$(calc "$START_QEMU - $FLOOR_QEMU" 0)")" "" ""
fi
r=$(ratio "$START_TCG" "$START_QEMU")
row "start-up" "hello, tcg vs qemu-x86_64" "$(ms "$START_TCG") ms" "$(ms "$START_QEMU") ms" "$r" \
    "<= 1.50" "$(verdict "$r" 1.50)"
for c in kvm tcg; do
    have "$c" || continue
    r=$(ratio "$(field "$c" 6)" "$(field qemu 6)")
    row "peak RSS" "hello, $c vs qemu-x86_64" "$(field "$c" 6) KiB" "$(field qemu 6) KiB" "$r" "" ""
done
r=$(ratio "$(field kvm 6)" "$(field native 6)" 1)
row "peak RSS" "hello, kvm vs native" "$(field kvm 6) KiB" "$(field native 6) KiB" "$r" "" ""
echo

# --- 1b. Start-up of a dynamically linked program -------------------------------------
# /bin/true as Debian ships it: ld.so maps libc, relocates, protects RELRO (each a
# narrowing the VM must see), then the program exits.
DYNAMIC_TRUE=/bin/true
echo "== 1b. start-up: $DYNAMIC_TRUE (dynamically linked), median of $RUNS runs per configuration"
check_output "$DYNAMIC_TRUE"
timed "$RUNS" 3 "$DYNAMIC_TRUE"
for c in "${CONFIG_NAMES[@]}"; do
    printf '   %-8s %10s %10s %10s %8s %10s %12s\n' "$c" "$(ms "$(field "$c" 1)")" \
        "$(ms "$(field "$c" 2)")" "$(ms "$(field "$c" 5)")" "$(spread "$c")" \
        "$(ms "$(field "$c" 7)")" "$(field "$c" 6)"
done
for c in kvm tcg; do
    have "$c" || continue
    r=$(ratio "$(field "$c" 1)" "$(field qemu 1)")
    row "start-up" "/bin/true (dynamic), $c vs qemu-x86_64" "$(ms "$(field "$c" 1)") ms" \
        "$(ms "$(field qemu 1)") ms" "$r" "" ""
    r=$(ratio "$(field "$c" 1)" "$(field native 1)" 1)
    row "start-up" "/bin/true (dynamic), $c vs native" "$(ms "$(field "$c" 1)") ms" \
        "$(ms "$(field native 1)") ms" "$r" "" ""
done
echo

# --- 2. CPU-bound --------------------------------------------------------------------
echo "== 2. CPU-bound: cpu_loop $CPU_ITERS, median of $CPU_REPS runs per configuration (interleaved)"
check_output "$PROGRAMS/cpu_loop" 1000000
timed "$CPU_REPS" 0 "$PROGRAMS/cpu_loop" "$CPU_ITERS"
printf '   %-8s %10s %10s %10s %10s\n' config median_s min_s max_s cpu_s
for c in "${CONFIG_NAMES[@]}"; do
    printf '   %-8s %10s %10s %10s %10s\n' "$c" "$(calc "$(field "$c" 1) / 1e9" 3)" \
        "$(calc "$(field "$c" 2) / 1e9" 3)" "$(calc "$(field "$c" 5) / 1e9" 3)" \
        "$(calc "$(field "$c" 7) / 1e9" 3)"
done
# Noise on a shared machine only adds time, so the fastest runs are a second opinion.
echo "   ratios of the fastest runs: kvm/native $(ratio "$(field kvm 2)" "$(field native 2)")," \
    "tcg/qemu $(ratio "$(field tcg 2)" "$(field qemu 2)"), qemu/native $(ratio "$(field qemu 2)" "$(field native 2)")"
r=$(ratio "$(field kvm 1)" "$(field native 1)")
row "CPU-bound" "cpu_loop, kvm vs native" "$(calc "$(field kvm 1) / 1e9" 2) s" \
    "$(calc "$(field native 1) / 1e9" 2) s" "$r" "<= 1.10" "$(verdict "$r" 1.10)"
r=$(ratio "$(field tcg 1)" "$(field qemu 1)")
row "CPU-bound" "cpu_loop, tcg vs qemu-x86_64" "$(calc "$(field tcg 1) / 1e9" 2) s" \
    "$(calc "$(field qemu 1) / 1e9" 2) s" "$r" "<= 1.50" "$(verdict "$r" 1.50)"
r=$(ratio "$(field qemu 1)" "$(field native 1)")
row "CPU-bound" "cpu_loop, qemu-x86_64 vs native" "$(calc "$(field qemu 1) / 1e9" 2) s" \
    "$(calc "$(field native 1) / 1e9" 2) s" "$r" "" ""
echo

# --- 2b. Ordinary programs ----------------------------------------------------------
# What a new user runs: unoptimised compiled code and real tools, not a register-only loop.
# Targets: tcg within 1.3x qemu-x86_64 on each; kvm never slower than qemu-x86_64; kvm
# within 1.3x native on sha256sum (an I/O loop: about 4,900 reads of 4 KiB).
DATA=$BUILD/data-${DATA_MB}mb.txt
if [ ! -s "$DATA" ]; then
    # Lines of pseudo-random numbers and words, the same file every time (srand(1)).
    awk -v mb="$DATA_MB" 'BEGIN {
        srand(1); n = 0; limit = mb * 1048576
        while (n < limit) {
            line = sprintf("%d w%d %.6f", int(rand() * 1e9), int(rand() * 1e5), rand())
            print line; n += length(line) + 1
        }
    }' >"$DATA"
fi
# Debian's busybox awk has no libm (no sin, sqrt): arithmetic, arrays and strings only.
AWK_PROGRAM="BEGIN { for (i = 1; i <= $AWK_ITERS; i++) { s += (i * i % 7919) / (1 + i % 13);"
AWK_PROGRAM+=" a[i % 1000] += i; n += length(i \"\") } printf \"%.6f %d %d\\n\", s, a[7], n }"
# xz -6 (Debian's /usr/bin/xz, dynamically linked, one thread): tens of MiB of match-finder
# tables, used all over; it is what found tcg's TLB never growing. 2 MiB of the file: about
# a second natively.
XZ_DATA=$BUILD/data-xz.txt
[ -s "$XZ_DATA" ] || head -c 2097152 "$DATA" >"$XZ_DATA"
WORKLOADS=(crunch sha256sum gzip sort awk)
command -v xz >/dev/null && WORKLOADS+=(xz)
declare -A WORK_LABEL=([crunch]="crunch -O0 x$CRUNCH_ITERS" [sha256sum]="sha256sum ${DATA_MB} MB"
    [gzip]="gzip -c ${DATA_MB} MB" [sort]="sort ${DATA_MB} MB" [awk]="awk x$AWK_ITERS"
    [xz]="xz -6 2 MB")
workload_argv() { # NAME: sets ARGV to the program and its arguments
    case $1 in
    crunch) ARGV=("$CRUNCH" "$CRUNCH_ITERS") ;;
    sha256sum) ARGV=(/bin/busybox sha256sum "$DATA") ;;
    gzip) ARGV=(/bin/busybox gzip -c "$DATA") ;;
    sort) ARGV=(/bin/busybox sort "$DATA") ;;
    awk) ARGV=(/bin/busybox awk "$AWK_PROGRAM") ;;
    xz) ARGV=("$(command -v xz)" -6 -T1 -c "$XZ_DATA") ;;
    esac
}
# The same output everywhere, compared by hash (gzip's is megabytes of binary).
check_output_hash() {
    local i got want
    want=$("$@" | sha256sum)
    for i in "${!CONFIG_NAMES[@]}"; do
        [ "${CONFIG_NAMES[$i]}" = native ] && continue
        # shellcheck disable=SC2086 # the prefixes are word lists without globs
        got=$(${CONFIG_PREFIX[$i]} "$@" 2>/dev/null | sha256sum) || true
        [ "$got" = "$want" ] || fail "${CONFIG_NAMES[$i]}: $* printed something else than natively"
    done
}
seconds() { # CONFIG: its median in seconds, or n/a
    if [ -n "$(field "$1" 1)" ]; then calc "$(field "$1" 1) / 1e9" 3; else echo n/a; fi
}
with_ring_variants
echo "== 2b. ordinary programs: median of $WORK_REPS runs per configuration (interleaved)"
printf '   %-22s %9s %9s %9s %9s %9s %9s %9s\n' "busybox or program" native_s kvm_s tcg_s qemu_s \
    tcg/qemu kvm/qemu kvm/nat
declare -A WORK_CPU=()
for w in "${WORKLOADS[@]}"; do
    workload_argv "$w"
    check_output_hash "${ARGV[@]}"
    timed "$WORK_REPS" 1 "${ARGV[@]}"
    r_tq=$(ratio "$(field tcg 1)" "$(field qemu 1)")
    r_kq=$(ratio "$(field kvm 1)" "$(field qemu 1)")
    r_kn=$(ratio "$(field kvm 1)" "$(field native 1)")
    printf '   %-22s %9s %9s %9s %9s %9s %9s %9s\n' "${WORK_LABEL[$w]}" "$(seconds native)" \
        "$(seconds kvm)" "$(seconds tcg)" "$(seconds qemu)" "$r_tq" "$r_kq" "$r_kn"
    WORK_CPU[$w]=$(ratio "$(field tcg 7)" "$(field qemu 7)")
    row "programs" "${WORK_LABEL[$w]}, tcg vs qemu" "$(seconds tcg) s" "$(seconds qemu) s" \
        "$r_tq" "<= 1.30" "$(verdict "$r_tq" 1.30)"
    row "programs" "${WORK_LABEL[$w]}, kvm vs qemu" "$(seconds kvm) s" "$(seconds qemu) s" \
        "$r_kq" "<= 1.00" "$(verdict "$r_kq" 1.00)"
    if [ "$w" = sha256sum ]; then
        row "programs" "${WORK_LABEL[$w]}, kvm vs native" "$(seconds kvm) s" \
            "$(seconds native) s" "$r_kn" "<= 1.30" "$(verdict "$r_kn" 1.30)"
        for c in ring doorbell; do
            have "$c" || continue
            r=$(ratio "$(field "$c" 1)" "$(field native 1)")
            row "programs" "${WORK_LABEL[$w]}, kvm $c vs native" "$(seconds "$c") s" \
                "$(seconds native) s" "$r" "" ""
        done
        echo "   (sha256sum: ring $(seconds ring) s, doorbell $(seconds doorbell) s)"
    fi
done
# CPU time (user + system) is less disturbed than wall time by other load on the machine.
echo "   tcg/qemu in CPU time:$(for w in "${WORKLOADS[@]}"; do printf ' %s %s' "$w" "${WORK_CPU[$w]}"; done)"
echo
without_ring_variants

# --- 3. One forwarded system call -----------------------------------------------------
with_ring_variants
echo "== 3. one system call: syscall_loop N minus syscall_loop 0, divided by N;" \
    "median of $SYSCALL_REPS runs"
check_output "$PROGRAMS/syscall_loop" 100
declare -A SYSCALL_N=([native]=$SYSCALLS_NATIVE [kvm]=$SYSCALLS_KVM [ring]=$SYSCALLS_KVM
    [doorbell]=$SYSCALLS_DOORBELL [tcg]=$SYSCALLS_TCG [qemu]=$SYSCALLS_QEMU)
declare -A PER_CALL_US=()
printf '   %-8s %10s %12s %12s %12s\n' config N "0 calls ms" "N calls ms" us/call
for i in "${!CONFIG_NAMES[@]}"; do
    c=${CONFIG_NAMES[$i]}
    n=${SYSCALL_N[$c]}
    # shellcheck disable=SC2086
    if out=$("$TIMER" -n "$SYSCALL_REPS" -w 1 -- ${CONFIG_PREFIX[$i]} "$PROGRAMS/syscall_loop" 0 \
        --- ${CONFIG_PREFIX[$i]} "$PROGRAMS/syscall_loop" "$n"); then
        t0=$(echo "$out" | sed -n 1p | cut -d' ' -f1)
        tn=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
        PER_CALL_US[$c]=$(calc "($tn - $t0) / $n / 1000" 3)
        printf '   %-8s %10s %12s %12s %12s\n' "$c" "$n" "$(ms "$t0")" "$(ms "$tn")" "${PER_CALL_US[$c]}"
    else
        fail "$c: syscall_loop failed"
    fi
done
r=$(ratio "${PER_CALL_US[kvm]:-}" "${PER_CALL_US[native]:-}" 0)
row "syscall" "getppid, kvm vs native" "${PER_CALL_US[kvm]:-n/a} us" "${PER_CALL_US[native]:-n/a} us" \
    "$r" "<= 10" "$(verdict "$r" 10)"
for c in ring doorbell; do
    have "$c" || continue
    r=$(ratio "${PER_CALL_US[$c]:-}" "${PER_CALL_US[native]:-}" 0)
    row "syscall" "getppid, kvm $c vs native" "${PER_CALL_US[$c]:-n/a} us" \
        "${PER_CALL_US[native]:-n/a} us" "$r" "" ""
done
without_ring_variants
r=$(ratio "${PER_CALL_US[tcg]:-}" "${PER_CALL_US[qemu]:-}")
row "syscall" "getppid, tcg vs qemu-x86_64" "${PER_CALL_US[tcg]:-n/a} us" \
    "${PER_CALL_US[qemu]:-n/a} us" "$r" "" ""

# --- 3b. A signal's round trip ----------------------------------------------------------
# kill(self, SIGUSR1), the handler on its frame, rt_sigreturn: signal_loop N minus
# signal_loop 0, over N (each round trip is two syscalls and a frame built and undone).
echo "== 3b. signal round trip: signal_loop N minus signal_loop 0, divided by N"
check_output "$PROGRAMS/signal_loop" 10
declare -A SIGNAL_N=([native]=$((SYSCALLS_NATIVE / 10)) [kvm]=$((SYSCALLS_DOORBELL / 4))
    [tcg]=$((SYSCALLS_TCG / 10)) [qemu]=$((SYSCALLS_QEMU / 10)))
declare -A PER_SIGNAL_US=()
for i in "${!CONFIG_NAMES[@]}"; do
    c=${CONFIG_NAMES[$i]}
    n=${SIGNAL_N[$c]}
    # shellcheck disable=SC2086
    if out=$("$TIMER" -n "$SYSCALL_REPS" -w 1 -- ${CONFIG_PREFIX[$i]} "$PROGRAMS/signal_loop" 0 \
        --- ${CONFIG_PREFIX[$i]} "$PROGRAMS/signal_loop" "$n"); then
        t0=$(echo "$out" | sed -n 1p | cut -d' ' -f1)
        tn=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
        PER_SIGNAL_US[$c]=$(calc "($tn - $t0) / $n / 1000" 3)
        printf '   %-8s %10s %12s\n' "$c" "$n" "${PER_SIGNAL_US[$c]} us"
    else
        fail "$c: signal_loop failed"
    fi
done
r=$(ratio "${PER_SIGNAL_US[kvm]:-}" "${PER_SIGNAL_US[native]:-}" 0)
row "signal" "kill+handler+return, kvm vs native" "${PER_SIGNAL_US[kvm]:-n/a} us" \
    "${PER_SIGNAL_US[native]:-n/a} us" "$r" "" ""
r=$(ratio "${PER_SIGNAL_US[tcg]:-}" "${PER_SIGNAL_US[qemu]:-}")
row "signal" "kill+handler+return, tcg vs qemu" "${PER_SIGNAL_US[tcg]:-n/a} us" \
    "${PER_SIGNAL_US[qemu]:-n/a} us" "$r" "" ""

# VM exits per forwarded system call: exits to the monitor (KVM_RUN returns) for
# syscall_loop EXIT_SYSCALLS minus those for syscall_loop 0, over EXIT_SYSCALLS. perf's
# kvm:kvm_userspace_exit tracepoint counts them; strace counts KVM_RUN ioctls as a check.
# Exits that the host kernel handles without returning to the monitor are invisible to
# both (kvm:kvm_exit counts them on hardware KVM; PVM does not fire it).
count_exits() { # TOOL N: prints the number of exits to the monitor
    local out=$BUILD/exits.out
    case $1 in
    perf)
        perf stat -x, -e kvm:kvm_userspace_exit -o "$out" -- "$HERMITUX_RUN" --accel=kvm \
            "$PROGRAMS/syscall_loop" "$2" >/dev/null 2>&1 || return 1
        grep kvm_userspace_exit "$out" | cut -d, -f1
        ;;
    strace)
        strace -f -e trace=ioctl -o "$out" -- "$HERMITUX_RUN" --accel=kvm \
            "$PROGRAMS/syscall_loop" "$2" >/dev/null 2>&1 || return 1
        grep -c 'KVM_RUN' "$out"
        ;;
    esac
}
# Native system calls of a program, by strace -c.
native_syscalls() {
    strace -f -c -o "$BUILD/native.strace" -- "$@" >/dev/null 2>&1 || return 1
    awk '$NF == "total" { print $4 }' "$BUILD/native.strace"
}
EXITS_PER_CALL=""
if [ "$HAVE_KVM" = 1 ]; then
    for tool in perf strace; do
        command -v "$tool" >/dev/null || continue
        if ! e0=$(count_exits "$tool" 0) || ! en=$(count_exits "$tool" "$EXIT_SYSCALLS") ||
            [ "$(calc "${e0:-0} > 0" 0)" != 1 ]; then
            echo "   $tool: cannot count exits here"
            continue
        fi
        per=$(calc "($en - $e0) / $EXIT_SYSCALLS" 3)
        line="   exits to the monitor ($tool): syscall_loop 0: $e0, syscall_loop $EXIT_SYSCALLS: $en"
        if command -v strace >/dev/null && n0=$(native_syscalls "$PROGRAMS/syscall_loop" 0) &&
            nn=$(native_syscalls "$PROGRAMS/syscall_loop" "$EXIT_SYSCALLS"); then
            line+=" (native system calls: $n0 and $nn)"
        fi
        echo "$line; $per exits per extra getppid()"
        if [ -z "$EXITS_PER_CALL" ]; then EXITS_PER_CALL=$per; fi
        row "syscall" "VM exits per getppid() ($tool)" "$per" "" "" "<= 1" "$(verdict "$per" 1.0)"
    done
    if command -v strace >/dev/null && h=$(native_syscalls "$PROGRAMS/hello"); then
        for tool in perf strace; do
            command -v "$tool" >/dev/null || continue
            he=""
            case $tool in
            perf) perf stat -x, -e kvm:kvm_userspace_exit -o "$BUILD/exits.out" -- \
                "$HERMITUX_RUN" --accel=kvm "$PROGRAMS/hello" >/dev/null 2>&1 &&
                he=$(grep kvm_userspace_exit "$BUILD/exits.out" | cut -d, -f1) ;;
            strace) strace -f -e trace=ioctl -o "$BUILD/exits.out" -- "$HERMITUX_RUN" --accel=kvm \
                "$PROGRAMS/hello" >/dev/null 2>&1 && he=$(grep -c KVM_RUN "$BUILD/exits.out") ;;
            esac
            [ -n "$he" ] && echo "   hello: $he exits to the monitor ($tool), $h system calls natively"
        done
    fi
    [ -n "$EXITS_PER_CALL" ] || echo "   neither perf nor strace can count exits here"
fi
echo

# --- 5. gdb -------------------------------------------------------------------------
# One gdb script for every server: connect, break hit, continue to the first hit (not
# timed), then time HITS continues that each stop at the breakpoint, STEPS stepi (with the
# breakpoint deleted), and a dump of the 1 MiB buffer. gdb's Python clock stamps the
# phases. The script prints hit()'s argument after the loop: HITS when no hit was missed.
gdb_script() { # TARGET HITS STEPS MEM_REPS
    cat <<EOF
set pagination off
set confirm off
file $GDB_TARGET
target remote $1
python import time
python bench_t = [time.monotonic()]
break hit
continue
python bench_t.append(time.monotonic())
set \$bench_i = 0
while \$bench_i < $2
  continue
  set \$bench_i = \$bench_i + 1
end
python bench_t.append(time.monotonic())
python print("BENCH-LAST-HIT %d" % int(gdb.parse_and_eval("i")))
delete
stepi $3
python bench_t.append(time.monotonic())
set \$bench_a = (char *) &buffer
set \$bench_b = \$bench_a + 0x100000
set \$bench_i = 0
while \$bench_i < $4
  dump binary memory /dev/null \$bench_a \$bench_b
  set \$bench_i = \$bench_i + 1
end
python bench_t.append(time.monotonic())
python print("BENCH-PHASES %.6f %.6f %.6f" % tuple(b - a for a, b in zip(bench_t[1:], bench_t[2:])))
kill
EOF
}
PORT=$((20000 + $$ % 20000))
# gdb_session NAME HITS STEPS: one session against server NAME; sets GDB_RES to
# "hit_us step_us mem_ms last_hit" (per breakpoint hit, per stepi, per MiB).
gdb_session() {
    # hit() is called more often than needed, so that missed hits show as a wrong i.
    local name=$1 hits=$2 steps=$3 calls=$((3 * $2 + 1))
    PORT=$((PORT + 1))
    case $name in
    gdbserver) gdbserver --once "127.0.0.1:$PORT" "$GDB_TARGET" "$calls" >/dev/null 2>&1 & ;;
    qemu) qemu-x86_64 -g "$PORT" "$GDB_TARGET" "$calls" >/dev/null 2>&1 & ;;
    kvm | tcg) "$HERMITUX_RUN" --accel="$name" --gdb "tcp::$PORT" -S "$GDB_TARGET" "$calls" \
        >/dev/null 2>&1 & ;;
    esac
    SERVER_PID=$!
    gdb_script "127.0.0.1:$PORT" "$hits" "$steps" "$GDB_MEM_REPS" >"$BUILD/bench.gdb"
    timeout -k 5 600 gdb -batch -nx -x "$BUILD/bench.gdb" >"$BUILD/gdb-$name.out" 2>&1 || true
    local tries
    for ((tries = 0; tries < 100; tries++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    local phases last t_hits t_steps t_mem
    phases=$(sed -n 's/^BENCH-PHASES //p' "$BUILD/gdb-$name.out")
    last=$(sed -n 's/^BENCH-LAST-HIT //p' "$BUILD/gdb-$name.out")
    [ -n "$phases" ] || return 1
    read -r t_hits t_steps t_mem <<<"$phases"
    GDB_RES="$(calc "$t_hits * 1e6 / $hits" 1) $(calc "$t_steps * 1e6 / $steps" 1)"
    GDB_RES+=" $(calc "$t_mem * 1000 / $GDB_MEM_REPS" 1) ${last:-?}"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

if [ "$HAVE_GDB" = 1 ]; then
    echo "== 5. gdb: $GDB_HITS breakpoint hits, stepi $GDB_STEPS, dump 1 MiB x $GDB_MEM_REPS;" \
        "median of $GDB_REPS sessions per server (interleaved), all over TCP on 127.0.0.1"
    GDB_SERVERS=()
    [ "$HAVE_KVM" = 1 ] && GDB_SERVERS+=(kvm)
    [ "$HAVE_GDBSERVER" = 1 ] && GDB_SERVERS+=(gdbserver)
    [ "$HAVE_QEMU" = 1 ] && GDB_SERVERS+=(qemu)
    [ "$HAVE_TCG" = 1 ] && [ "$GDB_TCG" = 1 ] && GDB_SERVERS+=(tcg)
    declare -A GDB_RESULTS=()
    for ((rep = 0; rep < GDB_REPS; rep++)); do
        for s in "${GDB_SERVERS[@]}"; do
            hits=$GDB_HITS steps=$GDB_STEPS
            if [ "$s" = tcg ]; then
                # Informational and slow: one session only.
                [ "$rep" -gt 0 ] && continue
                hits=$GDB_TCG_HITS steps=$GDB_TCG_STEPS
            fi
            if gdb_session "$s" "$hits" "$steps"; then
                GDB_RESULTS[$s]+="$GDB_RES"$'\n'
                last=${GDB_RES##* }
                [ "$last" = "$hits" ] ||
                    echo "   $s: after $hits continues hit() had i=$last, not $hits: breakpoint hits were missed"
            else
                fail "gdb against $s did not finish; see $BUILD/gdb-$s.out"
            fi
        done
    done
    declare -A HIT_US=() STEP_US=() MEM_MS=()
    printf '   %-10s %8s %8s %12s %10s %10s\n' server hits steps us/hit us/stepi ms/MiB
    for s in "${GDB_SERVERS[@]}"; do
        [ -n "${GDB_RESULTS[$s]:-}" ] || continue
        HIT_US[$s]=$(echo -n "${GDB_RESULTS[$s]}" | cut -d' ' -f1 | median)
        STEP_US[$s]=$(echo -n "${GDB_RESULTS[$s]}" | cut -d' ' -f2 | median)
        MEM_MS[$s]=$(echo -n "${GDB_RESULTS[$s]}" | cut -d' ' -f3 | median)
        hits=$GDB_HITS steps=$GDB_STEPS
        [ "$s" = tcg ] && hits=$GDB_TCG_HITS steps=$GDB_TCG_STEPS
        printf '   %-10s %8s %8s %12s %10s %10s\n' "$s" "$hits" "$steps" "${HIT_US[$s]}" \
            "${STEP_US[$s]}" "${MEM_MS[$s]}"
    done
    for peer in gdbserver qemu; do
        for what in hit step mem; do
            case $what in
            hit) label="breakpoint hit" unit=us a=${HIT_US[kvm]:-} b=${HIT_US[$peer]:-} ;;
            step) label="stepi" unit=us a=${STEP_US[kvm]:-} b=${STEP_US[$peer]:-} ;;
            mem) label="read 1 MiB" unit=ms a=${MEM_MS[kvm]:-} b=${MEM_MS[$peer]:-} ;;
            esac
            r=$(ratio "$a" "$b")
            target="" v=""
            if [ "$peer" = gdbserver ] && [ "$what" != step ]; then
                target="<= 1.00" v=$(verdict "$r" 1.0)
            fi
            row "gdb" "$label, kvm vs $peer" "${a:-n/a} $unit" "${b:-n/a} $unit" "$r" "$target" "$v"
        done
    done
    if [ -n "${HIT_US[tcg]:-}" ]; then
        for what in hit step mem; do
            case $what in
            hit) label="breakpoint hit" unit=us a=${HIT_US[tcg]} b=${HIT_US[qemu]:-} ;;
            step) label="stepi" unit=us a=${STEP_US[tcg]} b=${STEP_US[qemu]:-} ;;
            mem) label="read 1 MiB" unit=ms a=${MEM_MS[tcg]} b=${MEM_MS[qemu]:-} ;;
            esac
            row "gdb" "$label, tcg vs qemu" "$a $unit" "${b:-n/a} $unit" "$(ratio "$a" "$b")" "" ""
        done
    fi
    echo
fi

# --- 6. Processes ----------------------------------------------------------------------
# One child process: fork_loop N minus fork_loop 0, over N. Under hermitux-run the child
# is a host fork of the monitor that builds its own VM; with execve it is a new monitor.
echo "== 6. processes: fork_loop $FORKS minus fork_loop 0, divided by $FORKS; median of $FORK_REPS runs"
check_output "$PROGRAMS/fork_loop" 2
printf '   %-8s %16s %22s\n' config "fork+exit+wait ms" "fork+execve hello ms"
declare -A FORK_MS=() EXEC_MS=()
for i in "${!CONFIG_NAMES[@]}"; do
    c=${CONFIG_NAMES[$i]}
    # shellcheck disable=SC2086
    if out=$("$TIMER" -n "$FORK_REPS" -w 1 -- ${CONFIG_PREFIX[$i]} "$PROGRAMS/fork_loop" 0 \
        --- ${CONFIG_PREFIX[$i]} "$PROGRAMS/fork_loop" "$FORKS" \
        --- ${CONFIG_PREFIX[$i]} "$PROGRAMS/fork_loop" "$FORKS" "$PROGRAMS/hello"); then
        t0=$(echo "$out" | sed -n 1p | cut -d' ' -f1)
        tf=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
        te=$(echo "$out" | sed -n 3p | cut -d' ' -f1)
        FORK_MS[$c]=$(calc "($tf - $t0) / $FORKS / 1e6" 3)
        EXEC_MS[$c]=$(calc "($te - $t0) / $FORKS / 1e6" 3)
        printf '   %-8s %16s %22s\n' "$c" "${FORK_MS[$c]}" "${EXEC_MS[$c]}"
    else
        fail "$c: fork_loop failed"
    fi
done
for c in kvm tcg qemu; do
    have "$c" || continue
    row "process" "fork+exit+wait, $c vs native" "${FORK_MS[$c]:-n/a} ms" \
        "${FORK_MS[native]:-n/a} ms" "$(ratio "${FORK_MS[$c]:-}" "${FORK_MS[native]:-}" 0)" "" ""
    row "process" "fork+execve hello, $c vs native" "${EXEC_MS[$c]:-n/a} ms" \
        "${EXEC_MS[native]:-n/a} ms" "$(ratio "${EXEC_MS[$c]:-}" "${EXEC_MS[native]:-}" 0)" "" ""
done
echo

# --- 7. HTTP over localhost ---------------------------------------------------------
# tests/programs/http_server (static, epoll) runs in each configuration and answers
# bench/http-load on the host: HTTP_REQUESTS requests over one keep-alive connection, and
# as many over a fresh connection each. Configurations interleaved, median of HTTP_REPS.
echo "== 7. HTTP: $HTTP_REQUESTS requests from the host to http_server, keep-alive and one" \
    "connection per request, median of $HTTP_REPS runs"
HTTP_LOAD=$BUILD/http-load
HTTP_PORT_FILE=$BUILD/http.port
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$HTTP_LOAD" bench/http-load.c

# http_run PREFIX MODE: a server under PREFIX, HTTP_REQUESTS requests in MODE; prints the
# nanoseconds they took, nothing if anything failed.
http_run() {
    local prefix=$1 mode=$2 ns tries=0
    rm -f "$HTTP_PORT_FILE"
    # shellcheck disable=SC2086 # the prefix is a word list
    $prefix "$PROGRAMS/http_server" "$HTTP_PORT_FILE" "$HTTP_REQUESTS" >/dev/null 2>&1 &
    SERVER_PID=$!
    until [ -s "$HTTP_PORT_FILE" ] || [ $tries -gt 200 ]; do
        tries=$((tries + 1))
        sleep 0.05
    done
    ns=""
    [ -s "$HTTP_PORT_FILE" ] && ns=$("$HTTP_LOAD" "$(cat "$HTTP_PORT_FILE")" "$HTTP_REQUESTS" "$mode")
    [ -n "$ns" ] || kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" || ns=""
    SERVER_PID=""
    echo "$ns"
}
declare -A HTTP_TIMES=()
for ((rep = 0; rep < HTTP_REPS; rep++)); do
    for i in "${!CONFIG_NAMES[@]}"; do
        for mode in keepalive close; do
            ns=$(http_run "${CONFIG_PREFIX[$i]}" "$mode")
            if [ -z "$ns" ]; then
                fail "http_server under ${CONFIG_NAMES[$i]} ($mode) did not answer every request"
                continue
            fi
            HTTP_TIMES[${CONFIG_NAMES[$i]}.$mode]+="$ns"$'\n'
        done
    done
done
declare -A HTTP_US=()
printf '   %-8s %14s %14s %14s %14s\n' config keepalive_ms us/request close_ms us/connection
for c in "${CONFIG_NAMES[@]}"; do
    for mode in keepalive close; do
        t=$(echo -n "${HTTP_TIMES[$c.$mode]:-}" | median)
        HTTP_US[$c.$mode]=""
        [ -n "$t" ] && HTTP_US[$c.$mode]=$(calc "$t / 1000 / $HTTP_REQUESTS" 1)
        printf -v "HTTP_MS_$mode" '%s' "$(ms "$t" 0)"
    done
    printf '   %-8s %14s %14s %14s %14s\n' "$c" "$HTTP_MS_keepalive" \
        "${HTTP_US[$c.keepalive]:-n/a}" "$HTTP_MS_close" "${HTTP_US[$c.close]:-n/a}"
done
for c in kvm tcg qemu; do
    have "$c" || continue
    row "HTTP" "request (keep-alive), $c vs native" "${HTTP_US[$c.keepalive]:-n/a} us" \
        "${HTTP_US[native.keepalive]:-n/a} us" \
        "$(ratio "${HTTP_US[$c.keepalive]:-}" "${HTTP_US[native.keepalive]:-}")" "" ""
    row "HTTP" "connection+request, $c vs native" "${HTTP_US[$c.close]:-n/a} us" \
        "${HTTP_US[native.close]:-n/a} us" \
        "$(ratio "${HTTP_US[$c.close]:-}" "${HTTP_US[native.close]:-}")" "" ""
done
echo

# --- 8. Threads ---------------------------------------------------------------------
# CPU-bound work split over 2 threads: the speed-up over 1 thread, against the native
# speed-up in the same run (tcg runs one thread at a time by design: ~1x); and a mutex
# ping-pong between two threads (every hand-over is a futex wake and wait).
echo "== 8. threads: thread_work split 1 and 2 over $THREAD_ITERS, pingpong $PINGPONG," \
    "spawn $SPAWN (threads created and joined in turn); median of $THREAD_REPS runs"
check_output "$PROGRAMS/thread_work" split 2 1000000
check_output "$PROGRAMS/thread_work" spawn 10
printf '   %-8s %10s %10s %9s %12s %10s
' config 1thread_s 2threads_s speed-up pingpong_ms spawn_ms
declare -A SPEEDUP=() PINGPONG_MS=() SPAWN_MS=()
for i in "${!CONFIG_NAMES[@]}"; do
    c=${CONFIG_NAMES[$i]}
    # shellcheck disable=SC2086
    if out=$("$TIMER" -n "$THREAD_REPS" -w 0 -- \
        ${CONFIG_PREFIX[$i]} "$PROGRAMS/thread_work" split 1 "$THREAD_ITERS" \
        --- ${CONFIG_PREFIX[$i]} "$PROGRAMS/thread_work" split 2 "$THREAD_ITERS" \
        --- ${CONFIG_PREFIX[$i]} "$PROGRAMS/thread_work" pingpong "$PINGPONG" \
        --- ${CONFIG_PREFIX[$i]} "$PROGRAMS/thread_work" spawn "$SPAWN"); then
        t1=$(echo "$out" | sed -n 1p | cut -d' ' -f1)
        t2=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
        tp=$(echo "$out" | sed -n 3p | cut -d' ' -f1)
        ts=$(echo "$out" | sed -n 4p | cut -d' ' -f1)
        SPEEDUP[$c]=$(calc "$t1 / $t2" 2)
        PINGPONG_MS[$c]=$(calc "$tp / 1e6" 1)
        SPAWN_MS[$c]=$(calc "$ts / 1e6" 1)
        printf '   %-8s %10s %10s %9s %12s %10s
' "$c" "$(calc "$t1 / 1e9" 2)" "$(calc "$t2 / 1e9" 2)" \
            "${SPEEDUP[$c]}" "${PINGPONG_MS[$c]}" "${SPAWN_MS[$c]}"
    else
        fail "$c: thread_work failed"
    fi
done
if have kvm; then
    r=$(ratio "${SPEEDUP[native]:-}" "${SPEEDUP[kvm]:-}")
    row "threads" "2-thread speed-up, native/kvm" "${SPEEDUP[kvm]:-n/a}x" "${SPEEDUP[native]:-n/a}x" \
        "$r" "<= 1.10" "$(verdict "$r" 1.10)"
    row "threads" "mutex ping-pong, kvm vs native" "${PINGPONG_MS[kvm]:-n/a} ms" \
        "${PINGPONG_MS[native]:-n/a} ms" "$(ratio "${PINGPONG_MS[kvm]:-}" "${PINGPONG_MS[native]:-}" 0)" "" ""
fi
if have tcg; then
    row "threads" "mutex ping-pong, tcg vs native" "${PINGPONG_MS[tcg]:-n/a} ms" \
        "${PINGPONG_MS[native]:-n/a} ms" "$(ratio "${PINGPONG_MS[tcg]:-}" "${PINGPONG_MS[native]:-}" 0)" "" ""
fi
# Issue 11: at least as fast as qemu-user on every workload.
for c in kvm tcg; do
    have "$c" && have qemu || continue
    r=$(ratio "${SPAWN_MS[$c]:-}" "${SPAWN_MS[qemu]:-}")
    row "threads" "$SPAWN threads spawned in turn, $c vs qemu-x86_64" "${SPAWN_MS[$c]:-n/a} ms" \
        "${SPAWN_MS[qemu]:-n/a} ms" "$r" "<= 1.00" "$(verdict "$r" 1.00)"
done
echo

# --- 9. I/O and memory -----------------------------------------------------------------
with_ring_variants
echo "== 9. I/O and memory: median of $IO_REPS runs per configuration (interleaved)"
PIPE_DATA=$BUILD/data-${PIPE_MB}mb.bin
[ -s "$PIPE_DATA" ] || head -c "$((PIPE_MB * 1048576))" /dev/urandom >"$PIPE_DATA"
printf '   %-30s %9s %9s %9s %9s %9s %9s %9s\n' workload native_s kvm_s tcg_s qemu_s \
    kvm/nat tcg/nat qemu/nat
io_workload() { # LABEL TARGET_KVM_VS_NATIVE CHECK(check|checked) PROGRAM ARGS...
    local label=$1 target=$2 c r
    [ "$3" = check ] && check_output "${@:4}"
    shift 3
    timed "$IO_REPS" 1 "$@"
    printf '   %-30s %9s %9s %9s %9s %9s %9s %9s\n' "$label" "$(seconds native)" "$(seconds kvm)" \
        "$(seconds tcg)" "$(seconds qemu)" "$(ratio "$(field kvm 1)" "$(field native 1)")" \
        "$(ratio "$(field tcg 1)" "$(field native 1)")" "$(ratio "$(field qemu 1)" "$(field native 1)")"
    for c in kvm ring doorbell tcg qemu; do
        have "$c" || continue
        r=$(ratio "$(field "$c" 1)" "$(field native 1)")
        if [ "$c" = kvm ] && [ -n "$target" ]; then
            row "I/O, mem" "$label, $c vs native" "$(seconds "$c") s" "$(seconds native) s" "$r" \
                "<= $target" "$(verdict "$r" "$target")"
        else
            row "I/O, mem" "$label, $c vs native" "$(seconds "$c") s" "$(seconds native) s" "$r" "" ""
        fi
    done
}
io_workload "clock_gettime x$CLOCK_CALLS" "" check "$CLOCK_LOOP" "$CLOCK_CALLS"
# cat writes the file into a pipe read by the host's cat: the same shell and reader in
# every configuration, only the writer runs in the VM. The output is checked first.
check_output_hash /bin/busybox cat "$PIPE_DATA"
PIPE_THROUGH=$BUILD/pipe-through.sh
printf '#!/bin/sh\n"$@" | cat >/dev/null\n' >"$PIPE_THROUGH"
SAVED_PREFIX=("${CONFIG_PREFIX[@]}")
for i in "${!CONFIG_NAMES[@]}"; do
    CONFIG_PREFIX[i]="sh $PIPE_THROUGH ${CONFIG_PREFIX[i]}"
done
io_workload "cat ${PIPE_MB} MB into a pipe" 1.5 checked /bin/busybox cat "$PIPE_DATA"
CONFIG_PREFIX=("${SAVED_PREFIX[@]}")
io_workload "touch ${TOUCH_MB} MB of fresh heap" 2.0 check "$TOUCH" "$TOUCH_MB"
echo
without_ring_variants

# --- Table --------------------------------------------------------------------------
echo "== summary (ratio = hermitux-run / peer; lower is better)"
printf '%-10s %-34s %14s %14s %8s %8s %s\n' section measurement hermitux-run peer ratio target verdict
for line in "${TABLE[@]}"; do
    IFS='|' read -r section what value peer r target v <<<"$line"
    printf '%-10s %-34s %14s %14s %8s %8s %s\n' "$section" "$what" "$value" "${peer:--}" "${r:--}" \
        "${target:--}" "${v:-}"
done
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at the end"

# The summary as data, and a chart of the ratios drawn from it (no figure typed by hand).
RESULTS=$BUILD/results.tsv
{
    printf '# %s, load %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'section\tmeasurement\thermitux-run\tpeer\tratio\ttarget\tverdict\n'
    for line in "${TABLE[@]}"; do
        IFS='|' read -r section what value peer r target v <<<"$line"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$section" "$what" "$value" "$peer" "$r" "$target" "$v"
    done
} >"$RESULTS"
if command -v python3 >/dev/null && python3 bench/chart.py "$RESULTS" "$BUILD/ratios.svg"; then
    echo "results: $RESULTS, chart: $BUILD/ratios.svg"
fi
exit "$FAILED"
