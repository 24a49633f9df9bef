# What a CPU engine must get right beyond single instructions: stops at the exact
# instruction, sharing the CPU between threads, a heap grown page by page (each of
# these went wrong once under tcg). Sourced by tests/run-tests.sh; see its header.

# SIGALRM from setitimer interrupts a loop without system calls: the handler runs and
# the loop resumes at the exact next instruction (its invariants hold).
program timer_spin -- timer_spin 50
# Two threads hand a token back and forth by spinning on a flag (no futex, no
# sched_yield): a spinning thread must not keep the CPU from the other for ever.
program spin_threads -- spin_threads 50
# brk growth one page at a time (each page written and checked), shrinking and
# growing again (zeroed pages), then a write just past the break (SIGSEGV).
program brk_grow -- brk_grow 3000
program brk_grow-beyond --status 139 --no-stderr -- brk_grow 3000 beyond

# The same loop under gdb with a breakpoint set (under tcg an execute breakpoint is a
# code hook, with which Unicorn no longer restores rip when it stops a block): SIGALRM
# passes without stopping, and the status exit() gets, read at a breakpoint there, is 0.
# timer_spin_under_gdb ACCEL DIR TICKS GDB-ARGS...: those gdb commands before `break exit`.
timer_spin_under_gdb() {
    local accel=$1 dir=$2 ticks=$3 program=tests/programs/build/glibc/timer_spin
    shift 3
    if ! command -v gdb >/dev/null; then
        echo "gdb is not installed"
        return 77
    fi
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" --gdb "unix:$dir/gdb.sock" -S \
        "$program" "$ticks" </dev/null >"$dir/out" 2>"$dir/err" &
    local monitor=$!
    for _ in $(seq 100); do
        [ -S "$dir/gdb.sock" ] && break
        sleep 0.05
    done
    timeout -k 5 "$TIMEOUT" gdb -batch -nx -ex "file $program" -ex "target remote $dir/gdb.sock" \
        -ex 'handle SIGALRM nostop noprint pass' "$@" -ex 'break exit' -ex continue \
        -ex 'print $rdi' -ex kill >"$dir/gdb.out" 2>&1
    wait "$monitor"
    if ! grep -q '^\$1 = 0$' "$dir/gdb.out"; then
        echo "exit()'s status is not 0: $(tr '\n' '|' <"$dir/gdb.out" | cut -c1-300)"
        return 1
    fi
    echo "the loop's invariants held under gdb"
}
engine_gdb_timer_spin() {
    timer_spin_under_gdb "$1" "$2" 50
}
custom engine/gdb-timer_spin engine_gdb_timer_spin

# With a breakpoint in the loop whose condition the target finds false: every turn is a
# hit the stub steps over unseen, and SIGALRM lands in those steps. On PVM a kick on the
# exception stub's `out` was taken for the last exception's tail, the signal frame built
# from the new #BP's frame, and the program ran off to 0x1 (SIGSEGV): 10 runs in 10 of
# this case before f7a80db (gdb.base/branch-to-self.exp: 1 run in 15).
engine_gdb_timer_spin_false_condition() {
    local line
    line=$(grep -n 'twin += 2;' tests/programs/timer_spin.c | cut -d: -f1)
    timer_spin_under_gdb "$1" "$2" 300 -ex 'set breakpoint condition-evaluation target' \
        -ex "break timer_spin.c:$line if never == 1"
}
custom engine/gdb-timer_spin-false-condition engine_gdb_timer_spin_false_condition

# A tcg plugin that loads but lacks tcg_accel_ops: one line saying so, status 1 (the
# loader once printed an uninitialised reason and kept the library open). A copy of
# hermitux-run (its launcher and monitor) finds the plugin beside itself, in accel/.
engine_plugin_without_ops() {
    local accel=$1 dir=$2 monitor
    mkdir -p "$dir/accel"
    cp "$HERMITUX_RUN" "$dir/hermitux-run"
    monitor=$(dirname "$HERMITUX_RUN")/hermitux-run-monitor
    [ ! -x "$monitor" ] || cp "$monitor" "$dir/"
    # The kernel too: the accelerator is chosen after the kernel and the
    # program are loaded (its plugin loads meanwhile).
    if [ -r "$(dirname "$monitor")/kernel/hermitux-kernel" ]; then
        mkdir -p "$dir/kernel"
        cp "$(dirname "$monitor")/kernel/hermitux-kernel" "$dir/kernel/"
    fi
    echo 'int not_the_ops;' >"$dir/plugin.c"
    if ! gcc -shared -fPIC -o "$dir/accel/hermitux-accel-tcg.so" "$dir/plugin.c" 2>"$dir/cc.err"; then
        echo "cannot build a stand-in plugin: $(head -1 "$dir/cc.err")"
        return 77
    fi
    "$dir/hermitux-run" --accel="$accel" tests/programs/build/glibc/hello >"$dir/out" 2>"$dir/err"
    local status=$?
    if [ "$status" != 1 ] || [ -s "$dir/out" ] || [ "$(wc -l <"$dir/err")" != 1 ] ||
        ! grep -q 'undefined symbol: tcg_accel_ops' "$dir/err"; then
        echo "status $status, stderr: $(tr '\n' '|' <"$dir/err" | cut -c1-200)"
        return 1
    fi
    echo "refused in one line: $(cut -c1-80 "$dir/err")"
}
custom engine/plugin-without-ops engine_plugin_without_ops --accels tcg

# The instructions cpuid offers run, and /proc/cpuinfo's flags are cpuid's: under
# tcg, Unicorn 2.0.1 refused POPCNT, MOVBE, PCLMULQDQ and RDRAND whatever its CPU
# model (SIGILL), and cpuinfo named the host's AVX, which tcg does not run.
program x86_isa -- x86_isa
# A program built for x86-64-v2 and marked so (ld.so checks the mark against cpuid,
# "CPU ISA level is lower than required" before the fix) runs as natively.
engine_x86_64_v2() {
    local accel=$1 dir=$2 st
    command -v gcc >/dev/null || { echo "gcc is not installed"; return 77; }
    printf '#include <stdio.h>\nint main(int c, char **v) { (void)v;\n  printf("%%d\\n", __builtin_popcount((unsigned)c * 12345u)); return 0; }\n' >"$dir/v2.c"
    gcc -O2 -march=x86-64-v2 -Wl,-z,x86-64-v2 -o "$dir/v2" "$dir/v2.c" 2>"$dir/err" ||
        { echo "gcc cannot build for x86-64-v2: $(head -c 200 "$dir/err")"; return 77; }
    "$dir/v2" a b >"$dir/native" 2>&1 || { echo "this CPU is not x86-64-v2"; return 77; }
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" "$dir/v2" a b >"$dir/out" 2>&1
    st=$?
    if [ "$st" != 0 ] || ! cmp -s "$dir/native" "$dir/out"; then
        echo "exit status $st, output $(head -c 200 "$dir/out") (natively $(cat "$dir/native"))"
        return 1
    fi
}
custom x86_64_v2 engine_x86_64_v2

# BMI2 used without asking cpuid: the right result where cpuid offers BMI2, else SIGILL
# (status 132) as on a CPU without it. Unicorn 2.0.1 ran PEXT with its operands swapped
# (0x8000003 for 7) and cpuid did not say BMI2: a wrong result and exit 0.
engine_pext() {
    local accel=$1 dir=$2 libc st
    for libc in glibc musl; do
        timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" \
            "tests/programs/build/$libc/pext_check" >"$dir/out" 2>"$dir/err"
        st=$?
        if grep -qx 'cpuid bmi2: yes' "$dir/out"; then
            [ "$st" = 0 ] && grep -qx 'pext: 0x7' "$dir/out" && continue
        elif grep -qx 'cpuid bmi2: no' "$dir/out"; then
            [ "$st" = 132 ] && ! grep -q '^pext' "$dir/out" && continue
        fi
        echo "$libc: exit status $st, output $(tr '\n' ' ' <"$dir/out")"
        return 1
    done
}
custom pext engine_pext
