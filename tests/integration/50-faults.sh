# Fault reports: each fault program under hermitux-run must exit 128 + the signal, print
# one stderr line naming the fault, function and file:line; with -v print HermiTux's
# kernel-log lines (checked by one regex per line) and the same summary; with --core
# write a core file in which `gdb -batch -ex bt` finds the faulting function. Sourced by
# tests/run-tests.sh; see its header for the case syntax.

# The HermiTux log prefix and the register line, as its kernel printed them.
FAULT_PREFIX='^\[[0-9]+\.[0-9]{3}\]\[0:1\]\[ERROR\] '
FAULT_REGISTERS="${FAULT_PREFIX}rax 0x[0-9a-f]+|${FAULT_PREFIX}rax 0,"
FAULT_HEAP="${FAULT_PREFIX}Heap 0x[0-9a-f]+ - 0x[0-9a-f]+\$"

# page_fault_line ERROR-WORDS: the regex of HermiTux's first page-fault line.
page_fault_line() {
    printf '%s' "${FAULT_PREFIX}Page Fault Exception \\(14\\) on core 0 at cs:ip = 0x[0-9a-f]+:(0x[0-9a-f]+|0), fs = 0x[0-9a-f]+, gs = (0x[0-9a-f]+|0), rflags 0x[0-9a-f]+, task = 1, addr = (0x[0-9a-f]+|0), error = 0x[0-9a-f]+ \\[ $1 \\S* \\]\$"
}
# exception_line NAME VECTOR: the regex of HermiTux's line for other exceptions.
exception_line() {
    printf '%s' "${FAULT_PREFIX}$1 Exception \\($2\\) on core 0 at 0x[0-9a-f]+:0x[0-9a-f]+, fs = 0x[0-9a-f]+, gs = (0x[0-9a-f]+|0), error code = (0x[0-9a-f]+|0), task id = 1, rflags = 0x[0-9a-f]+\$"
}

# fault_case ACCEL DIR PROGRAM STATUS SUMMARY-REGEX FIRST-LOG-LINE-REGEX GDB-FUNCTION
fault_case() {
    local accel=$1 dir=$2 program=$3 want=$4 summary=$5 first=$6 function=$7 st
    local run=("$HERMITUX_RUN" "--accel=$accel") argv
    read -ra argv <<<"$program" # the program and its arguments
    # Unicorn 2.0.1 is built on QEMU 5, whose TCG does not check the alignment
    # of movaps and friends: the access succeeds. A known gap, shown as such.
    if [ "$accel" = tcg ] && [[ $program == */misaligned_sse ]]; then
        echo "Unicorn 2.0.1 does not raise #GP for misaligned SSE accesses"
        return 77
    fi
    {
        timeout -k 5 "$TIMEOUT" "${run[@]}" "${argv[@]}" </dev/null >"$dir/out" 2>"$dir/err"
        st=$?
    } 2>/dev/null
    if [ "$st" != "$want" ]; then
        cp "$dir/err" "$dir/detail"
        echo "exit status $st, want $want"
        return 1
    fi
    if [ "$(wc -l <"$dir/err")" != 1 ] || ! grep -Eq "$summary" "$dir/err"; then
        { echo "want one line matching: $summary"; cat "$dir/err"; } >"$dir/detail"
        echo "stderr is not the one-line summary"
        return 1
    fi
    {
        timeout -k 5 "$TIMEOUT" "${run[@]}" -v --core "$dir/core" "${argv[@]}" </dev/null \
            >"$dir/out.v" 2>"$dir/err.v"
        st=$?
    } 2>/dev/null
    if [ "$st" != "$want" ]; then
        cp "$dir/err.v" "$dir/detail"
        echo "with -v: exit status $st, want $want"
        return 1
    fi
    # HermiTux's lines, in order: the exception, the registers, the heap if any.
    grep -E "$FAULT_PREFIX" "$dir/err.v" >"$dir/log"
    local lines=("$first" "$FAULT_REGISTERS") i=0 line
    while IFS= read -r line; do
        local regex=${lines[$i]:-$FAULT_HEAP}
        if ! [[ $line =~ $regex ]] || [ "$i" -gt 2 ]; then
            { echo "log line $((i + 1)) does not match: $regex"; cat "$dir/err.v"; } >"$dir/detail"
            echo "with -v: HermiTux log line $((i + 1)) differs"
            return 1
        fi
        i=$((i + 1))
    done <"$dir/log"
    if [ "$i" -lt 2 ] || ! grep -Eq "$summary" "$dir/err.v" || ! grep -q '^  backtrace:' "$dir/err.v"; then
        cp "$dir/err.v" "$dir/detail"
        echo "with -v: HermiTux lines, summary or backtrace missing"
        return 1
    fi
    if ! command -v gdb >/dev/null; then
        echo "gdb is not installed (core file not checked)"
        return 77
    fi
    timeout -k 5 "$TIMEOUT" gdb -nx -batch -ex "bt 5" "${argv[0]}" "$dir/core" >"$dir/gdb" 2>&1
    if ! grep -Eq "^#[0-9]+ +(0x[0-9a-f]+ in )?$function " "$dir/gdb"; then
        { echo "gdb bt has no frame in $function:"; cat "$dir/gdb"; } >"$dir/detail"
        echo "the core file's backtrace lacks $function"
        return 1
    fi
    return 0
}

# fault NAME PROGRAM STATUS SUMMARY-REGEX FIRST-LOG-LINE-REGEX GDB-FUNCTION, for both libcs.
fault() {
    local name=$1 program=$2 libc
    shift 2
    for libc in musl glibc; do
        custom "$libc/fault-$name" fault_case "tests/programs/build/$libc/$program" "$@"
    done
}

SEGV='^hermitux-run: fault: segmentation fault at'
fault null_write null_write 139 \
    "$SEGV 0x[0-9a-f]+ in main \\(null_write\\.c:10\\): NULL pointer dereference \\(writing address 0\\)\$" \
    "$(page_fault_line 'user data write not present')" main
fault unmapped_read unmapped_read 139 \
    "$SEGV 0x[0-9a-f]+ in peek \\(unmapped_read\\.c:10\\): access to unmapped memory \\(reading address 0xdead0000\\)\$" \
    "$(page_fault_line 'user data read not present')" peek
fault null_call null_call 139 \
    "$SEGV 0, called from main \\(null_call\\.c:12\\): NULL pointer dereference \\(fetching an instruction at address 0\\)\$" \
    "$(page_fault_line 'user instruction fetch not present')" main
fault stack_overflow stack_overflow 139 \
    "$SEGV 0x[0-9a-f]+ in recurse \\(stack_overflow\\.c:[0-9]+\\): stack overflow \\(writing address 0x7f[0-9a-f]+\\)\$" \
    "$(page_fault_line 'user data write not present')" recurse
fault misaligned_sse misaligned_sse 139 \
    "$SEGV 0x[0-9a-f]+ in load_aligned \\(misaligned_sse\\.c:9\\): misaligned SSE access at 0x[0-9a-f]*[1-9a-f]\$" \
    "$(exception_line 'General Protection Fault' 13)" load_aligned
fault text_write text_write 139 \
    "$SEGV 0x[0-9a-f]+ in patch \\(text_write\\.c:13\\): write to read-only memory \\(writing address 0x[0-9a-f]+\\)\$" \
    "$(page_fault_line 'user data write protection')" patch
fault int3 int3 133 \
    '^hermitux-run: fault: breakpoint trap at 0x[0-9a-f]+ in main \(int3\.c:9\): int3 breakpoint with no debugger attached$' \
    "$(exception_line Breakpoint 3)" main
fault div_zero div_zero 136 \
    '^hermitux-run: fault: arithmetic exception at 0x[0-9a-f]+ in main \(div_zero\.c:9\): integer division by zero$' \
    "$(exception_line 'Division By Zero' 0)" main
fault ud2 ud2 132 \
    '^hermitux-run: fault: illegal instruction at 0x[0-9a-f]+ in main \(ud2\.c:8\): invalid instruction `ud2`$' \
    "$(exception_line 'Invalid Opcode' 6)" main
fault mmap_sigbus mmap_sigbus 135 \
    '^hermitux-run: fault: bus error at 0x[0-9a-f]+ in fatal \(mmap_sigbus\.c:[0-9]+\): access past the end of a mapped file \(reading address 0x[0-9a-f]+001\)$' \
    "$(page_fault_line 'user data read not present')" fatal
fault mmap_sigbus-elsewhere 'mmap_sigbus - elsewhere' 135 \
    '^hermitux-run: fault: bus error at 0x[0-9a-f]+ in fatal \(mmap_sigbus\.c:[0-9]+\): access past the end of a mapped file \(reading address 0x[0-9a-f]+001\)$' \
    "$(page_fault_line 'user data read not present')" fatal

# With `ulimit -c unlimited` and a kernel.core_pattern that names a file (`core`,
# `core.%p`), a program dying of a core signal leaves the core file a native run leaves
# (the same name, digits aside), in its cwd, and gdb's backtrace in it names the function
# that crashed; a fault (SIGSEGV) and abort() (SIGABRT). There was none: the program's
# RLIMIT_CORE was 0 whatever the shell's. A core_pattern piping to a program skips.
core_pattern_case() {
    local accel=$1 dir=$2 program=$3 function=$4 want=$5 pattern mode st
    local argv
    read -ra argv <<<"$program"
    pattern=$(cat /proc/sys/kernel/core_pattern)
    if [[ $pattern == \|* ]]; then
        echo "kernel.core_pattern pipes cores to a program here: $pattern"
        return 77
    fi
    command -v gdb >/dev/null || { echo "gdb is not installed"; return 77; }
    local monitor=$HERMITUX_RUN
    [[ $monitor == /* ]] || monitor=$ROOT/$monitor # the runs are in scratch directories
    for mode in native vm; do
        local run=()
        # A sanitizer build's runtime sets the monitor's RLIMIT_CORE to 0 as it starts
        # (ASan's disable_coredump), and the program inherits that; asked not to. The
        # monitor itself never dumps: it is not dumpable when it dies of the signal.
        [ "$mode" = vm ] && run=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0"
            "$monitor" --accel="$accel")
        mkdir -p "$dir/$mode"
        {
            (cd "$dir/$mode" && ulimit -S -c unlimited &&
                exec timeout -k 5 "$TIMEOUT" "${run[@]}" "$ROOT/${argv[0]}" "${argv[@]:1}" \
                    </dev/null >../$mode.out 2>&1)
            st=$?
        } 2>/dev/null
        if [ "$st" != "$want" ]; then
            echo "$mode: exit status $st, want $want: $(tr '\n' '|' <"$dir/$mode.out" | cut -c1-200)"
            return 1
        fi
        ls "$dir/$mode" | sed 's/[0-9][0-9]*/N/g' >"$dir/$mode.files"
    done
    if ! cmp -s "$dir/native.files" "$dir/vm.files"; then
        echo "files left: native $(tr '\n' ' ' <"$dir/native.files"), vm $(tr '\n' ' ' <"$dir/vm.files")"
        return 1
    fi
    local core
    core=$(ls "$dir/vm" | head -n 1)
    [ -n "$core" ] || { echo "no core file, natively either"; return 1; }
    timeout -k 5 "$TIMEOUT" gdb -nx -batch -ex "bt 8" "$ROOT/${argv[0]}" "$dir/vm/$core" \
        >"$dir/gdb" 2>&1
    if ! grep -Eq "^#[0-9]+ +(0x[0-9a-f]+ in )?$function " "$dir/gdb"; then
        cp "$dir/gdb" "$dir/detail"
        echo "gdb's backtrace in the core lacks $function: $(grep '^#' "$dir/gdb" | head -n 3 | tr '\n' '|')"
        return 1
    fi
    echo "core file $core as natively, gdb finds $function"
}
# (musl's raise has no unwind information: natively too, gdb goes no further.)
for libc_caller in musl:raise glibc:main; do
    libc=${libc_caller%%:*}
    custom "$libc/core-pattern-segv" core_pattern_case "tests/programs/build/$libc/unmapped_read" \
        peek 139
    custom "$libc/core-pattern-abort" core_pattern_case "tests/programs/build/$libc/signals abort" \
        "${libc_caller#*:}" 134
done

# --timeout stops a runaway program, says where it was and exits 124 (as timeout(1)).
timeout_case() {
    local accel=$1 dir=$2 libc=$3 st
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" --timeout 1 \
        "tests/programs/build/gdb-$libc/debuggee" spin </dev/null >"$dir/out" 2>"$dir/err"
    st=$?
    if [ "$st" != 124 ]; then
        echo "exit status $st, expected 124; stderr: $(head -c 300 "$dir/err")"
        return 1
    fi
    if ! grep -Eq '^hermitux-run: timeout: the program ran longer than 1 s; it was at 0x[0-9a-f]+ in main \(debuggee\.c:[0-9]+\)$' "$dir/err"; then
        echo "no timeout line naming main (debuggee.c:N): $(head -c 300 "$dir/err")"
        return 1
    fi
}
custom timeout/glibc timeout_case glibc
custom timeout/musl timeout_case musl

# --timeout and SIGTERM end a program blocked in a host call (the accelerator kicks the
# vCPU thread out of it): busybox cat reading a pipe nobody writes, busybox sleep.
blocked_case() {
    local accel=$1 dir=$2 how=$3 want st writer pid
    shift 3
    mkfifo "$dir/fifo"
    sleep 60 >"$dir/fifo" &
    writer=$!
    local run=(timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel")
    if [ "$how" = timeout ]; then
        want=124
        "${run[@]}" --timeout 1 /bin/busybox "$@" <"$dir/fifo" >"$dir/out" 2>"$dir/err"
        st=$?
    else
        want=143
        "${run[@]}" /bin/busybox "$@" <"$dir/fifo" >"$dir/out" 2>"$dir/err" &
        pid=$!
        sleep 1
        kill -TERM "$pid"
        wait "$pid"
        st=$?
    fi
    kill "$writer" 2>/dev/null
    wait "$writer" 2>/dev/null
    if [ "$st" != "$want" ]; then
        echo "exit status $st, expected $want; stderr: $(head -c 300 "$dir/err")"
        return 1
    fi
}
custom blocked/timeout-read blocked_case timeout cat
custom blocked/timeout-sleep blocked_case timeout sleep 30
custom blocked/sigterm-read blocked_case sigterm cat
custom blocked/sigterm-sleep blocked_case sigterm sleep 30

# A fault inside a shared library: the summary names the library (and the function where
# its symbols or debug information say it), gdb finds main in the core's backtrace
# through the library's frame.
for libc_build in glibc-dynamic:libc\\.so\\.6 musl-dynamic:ld-musl-x86_64\\.so\\.1; do
    custom "${libc_build%%:*}/fault-libc_fault" fault_case \
        "tests/programs/build/${libc_build%%:*}/libc_fault" 139 \
        "$SEGV 0x[0-9a-f]+ in .* from ${libc_build#*:}: access to unmapped memory \\(reading address 0xdead0000\\)\$" \
        "$(page_fault_line 'user data read not present')" main
done

# A page of a file mapping past the end of the file, under gdb: the stop is SIGBUS with
# the siginfo Linux gives (BUS_ADRERR, si_addr the address read), then the program dies
# of it, all as under gdbserver. Uses signal_session from 45-gdb-signals.sh.
gdb_sigbus_case() {
    local accel=$1 dir=$2 libc=$3
    have_gdbserver || return 77
    SESSION_PROGRAM=../$libc/mmap_sigbus signal_session "$accel" "$dir" "$libc" "" \
        -ex continue -ex 'p $_siginfo.si_signo' -ex 'p $_siginfo.si_code' \
        -ex 'p $_siginfo._sifields._sigfault.si_addr == fatal_address' -ex continue
    # shellcheck disable=SC2016 # gdb's $N in the regexes
    expect "$dir" gdb.out.norm '^Program received signal SIGBUS, Bus error\.' '^\$1 = 7$' \
        '^\$2 = 2$' '^\$3 = 1$' '^Program terminated with signal SIGBUS, Bus error\.' || return 1
    expect_status "$dir" 135 || return 1
    same_as_gdbserver "$dir"
}
custom gdb-signals/musl/sigbus gdb_sigbus_case musl
custom gdb-signals/glibc/sigbus gdb_sigbus_case glibc
