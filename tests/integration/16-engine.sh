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
engine_gdb_timer_spin() {
    local accel=$1 dir=$2 program=tests/programs/build/glibc/timer_spin
    if ! command -v gdb >/dev/null; then
        echo "gdb is not installed"
        return 77
    fi
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" --gdb "unix:$dir/gdb.sock" -S \
        "$program" 50 </dev/null >"$dir/out" 2>"$dir/err" &
    local monitor=$!
    for _ in $(seq 100); do
        [ -S "$dir/gdb.sock" ] && break
        sleep 0.05
    done
    timeout -k 5 "$TIMEOUT" gdb -batch -nx -ex "file $program" -ex "target remote $dir/gdb.sock" \
        -ex 'handle SIGALRM nostop noprint pass' -ex 'break exit' -ex continue \
        -ex 'print $rdi' -ex kill >"$dir/gdb.out" 2>&1
    wait "$monitor"
    if ! grep -q '^\$1 = 0$' "$dir/gdb.out"; then
        echo "exit()'s status is not 0: $(tr '\n' '|' <"$dir/gdb.out" | cut -c1-300)"
        return 1
    fi
    echo "the loop's invariants held under gdb"
}
custom engine/gdb-timer_spin engine_gdb_timer_spin

# A tcg plugin that loads but lacks tcg_accel_ops: one line saying so, status 1 (the
# loader once printed an uninitialised reason and kept the library open). A copy of
# hermitux-run finds the plugin beside itself, in accel/.
engine_plugin_without_ops() {
    local accel=$1 dir=$2
    mkdir -p "$dir/accel"
    cp "$HERMITUX_RUN" "$dir/hermitux-run"
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
