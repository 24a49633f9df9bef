# shellcheck shell=bash
# --strace: the trace of a program's own calls (between its BEGIN and END markers) must
# read as strace's trace of the same program run natively, once addresses and the
# scratch directory are masked; and tracing must not change what the program sees.

# strace_normalise FILE DIR: the lines from the BEGIN write to the END write, with the
# scratch directory as @TMP@ and addresses as ADDR.
strace_normalise() {
    sed -n '/^write(1, "BEGIN\\n"/,/^write(1, "END\\n"/p' "$1" |
        sed -E -e "s|$2|@TMP@|g" -e 's/0x[0-9a-f]{5,}/ADDR/g' -e 's/ +=/ =/'
}

strace_matches() {
    local accel=$1 dir=$2 libc=$3
    command -v strace >/dev/null || {
        echo "strace not installed"
        return 77
    }
    local program=tests/programs/build/$libc/strace_calls
    mkdir -p "$dir/native" "$dir/vm"
    strace -o "$dir/native.trace" "$program" "$dir/native" >"$dir/native.out" 2>&1
    "$HERMITUX_RUN" --accel="$accel" --strace="$dir/vm.trace" "$program" "$dir/vm" \
        >"$dir/vm.out" 2>&1
    local status=$?
    if [ "$status" -ne 0 ] || ! cmp -s "$dir/native.out" "$dir/vm.out"; then
        echo "traced run differs from the native one (status $status): $(head -c 200 "$dir/vm.out")"
        return 1
    fi
    strace_normalise "$dir/native.trace" "$dir/native" >"$dir/native.norm"
    strace_normalise "$dir/vm.trace" "$dir/vm" >"$dir/vm.norm"
    if [ "$(wc -l <"$dir/native.norm")" -lt 20 ]; then
        echo "strace's own trace has too few lines: $(wc -l <"$dir/native.norm")"
        return 1
    fi
    if ! diff -u "$dir/native.norm" "$dir/vm.norm" >"$dir/diff"; then
        echo "trace differs from strace's: $(grep '^[-+][^-+]' "$dir/diff" | head -4 | tr '\n' '|')"
        return 1
    fi
    if ! tail -n 1 "$dir/vm.trace" | grep -qx '+++ exited with 0 +++'; then
        echo "trace does not end with the exit: $(tail -n 1 "$dir/vm.trace")"
        return 1
    fi
    echo "$(wc -l <"$dir/vm.norm") calls as strace prints them"
}

# A fault ends the trace with strace's "killed by" line; stderr keeps the report.
strace_fault() {
    local accel=$1 dir=$2
    "$HERMITUX_RUN" --accel="$accel" --strace "tests/programs/build/glibc/null_write" \
        >"$dir/out" 2>"$dir/err"
    local status=$?
    if [ "$status" -ne 139 ] || ! grep -qx '+++ killed by SIGSEGV +++' "$dir/err"; then
        echo "status $status, trace end: $(grep '^+++' "$dir/err")"
        return 1
    fi
}

custom strace/glibc strace_matches glibc
custom strace/musl strace_matches musl
custom strace/fault strace_fault

# `monitor strace on` from gdb starts the trace mid-run; the program runs on unchanged.
strace_from_gdb() {
    local accel=$1 dir=$2
    have_gdb || return 77
    gdb_session "$accel" "$dir" glibc "" "" -ex "monitor strace on" -ex "continue"
    expect_status "$dir" 10 || return 1
    expect "$dir" gdb.out 'syscall trace on' || return 1
    expect "$dir" err '^write\(1, ".*\) += [0-9]+$' '^exit_group\(10\) += \?$' \
        '^\+\+\+ exited with 10 \+\+\+$' || return 1
}
custom strace/gdb-monitor strace_from_gdb
