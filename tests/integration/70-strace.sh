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

# The port the kernel picked for a listening socket differs between runs: PORT (a
# zero port, the one asked for, stays); so do the time in a receive timestamp's
# control message and a netlink socket's port id (the pid of the process natively, of
# its monitor in the VM): N.
strace_port_normalise() {
    sed -E -e 's/(sin_port=htons\()[1-9][0-9]*\)/\1PORT)/g' \
        -e 's/(nl_pid|nlmsg_pid)=[1-9][0-9]*/\1=N/g' \
        -e 's/(cmsg_type=SO_TIMESTAMP[A-Z_]*, cmsg_data=\{tv_sec=)[0-9]+, (tv_[un]sec=)[0-9]+/\1N, \2N/g'
}

have_strace() {
    command -v strace >/dev/null || {
        echo "strace not installed"
        return 1
    }
}

# same_trace DIR: DIR/native.norm and DIR/vm.norm must be the same.
same_trace() {
    diff -u "$1/native.norm" "$1/vm.norm" >"$1/diff" && return 0
    echo "trace differs from strace's: $(grep '^[-+][^-+]' "$1/diff" | head -4 | tr '\n' '|')"
    return 1
}

# strace_matches ACCEL DIR LIBC [PROGRAM]: PROGRAM (strace_calls unless given) in a fresh
# scratch directory, natively under strace and in the VM under --strace.
strace_matches() {
    local accel=$1 dir=$2 libc=$3 name=${4:-strace_calls}
    have_strace || return 77
    local program=tests/programs/build/$libc/$name
    mkdir -p "$dir/native" "$dir/vm"
    strace -o "$dir/native.trace" "$program" "$dir/native" >"$dir/native.out" 2>&1
    "$HERMITUX_RUN" --accel="$accel" --strace="$dir/vm.trace" "$program" "$dir/vm" \
        >"$dir/vm.out" 2>&1
    local status=$?
    if [ "$status" -ne 0 ] || ! cmp -s "$dir/native.out" "$dir/vm.out"; then
        echo "traced run differs from the native one (status $status): $(head -c 200 "$dir/vm.out")"
        return 1
    fi
    strace_normalise "$dir/native.trace" "$dir/native" | strace_port_normalise >"$dir/native.norm"
    strace_normalise "$dir/vm.trace" "$dir/vm" | strace_port_normalise >"$dir/vm.norm"
    if [ "$(wc -l <"$dir/native.norm")" -lt 20 ]; then
        echo "strace's own trace has too few lines: $(wc -l <"$dir/native.norm")"
        return 1
    fi
    same_trace "$dir" || return 1
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
custom strace/glibc-net strace_matches glibc strace_net
custom strace/musl-net strace_matches musl strace_net
custom strace/glibc-fs strace_matches glibc strace_fs
custom strace/musl-fs strace_matches musl strace_fs
custom strace/glibc-rw-flags strace_matches glibc rw_flags
custom strace/musl-rw-flags strace_matches musl rw_flags
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

# strace_signal_normalise FILE: strace_normalise, with the pids (which differ between the
# runs) as PID.
strace_signal_normalise() {
    strace_normalise "$1" /nonexistent |
        sed -E -e 's/(si_pid=|getpid\(\) = |gettid\(\) = |kill\(|tgkill\(|rt_sigqueueinfo\()[0-9]+/\1PID/g' \
            -e 's/tgkill\(PID, [0-9]+/tgkill(PID, PID/'
}

# Signals from kill, tgkill, alarm (setitimer with musl) and sigqueue, caught, and an
# ignored one: the "--- SIGx {si_signo=...} ---" lines and the calls around them must read
# as strace's own trace of the same program.
strace_signals() {
    local accel=$1 dir=$2 libc=$3
    have_strace || return 77
    local program=tests/programs/build/$libc/strace_signals
    strace -o "$dir/native.trace" "$program" >"$dir/native.out" 2>&1
    "$HERMITUX_RUN" --accel="$accel" --strace="$dir/vm.trace" "$program" >"$dir/vm.out" 2>&1
    local status=$?
    if [ "$status" -ne 0 ] || ! cmp -s "$dir/native.out" "$dir/vm.out"; then
        echo "traced run differs from the native one (status $status): $(head -c 200 "$dir/vm.out")"
        return 1
    fi
    strace_signal_normalise "$dir/native.trace" >"$dir/native.norm"
    strace_signal_normalise "$dir/vm.trace" >"$dir/vm.norm"
    if [ "$(grep -c '^--- SIG' "$dir/native.norm")" -lt 5 ]; then
        echo "strace's own trace shows too few signals: $(grep -c '^--- SIG' "$dir/native.norm")"
        return 1
    fi
    same_trace "$dir" || return 1
    echo "$(grep -c '^--- SIG' "$dir/vm.norm") signals as strace prints them"
}
custom strace-signals/glibc strace_signals glibc
custom strace-signals/musl strace_signals musl

# A fork: the child's lines carry "[pid CHILD]" (strace -f's prefix), its exit is traced
# as "[pid CHILD] +++ exited with 3 +++", the parent's clone and wait4 are decoded as
# strace decodes them; abort() ends the trace with the SIGABRT and "+++ killed by".
strace_fork_abort() {
    local accel=$1 dir=$2
    local program=tests/programs/build/glibc/strace_signals
    "$HERMITUX_RUN" --accel="$accel" --strace "$program" fork >"$dir/out" 2>"$dir/err" ||
        return 1
    local child
    child=$(sed -nE 's/^\[pid +[0-9]+\] clone\(child_stack=NULL, flags=CLONE_CHILD_CLEARTID\|CLONE_CHILD_SETTID\|SIGCHLD, child_tidptr=0x[0-9a-f]+\) += ([0-9]+)$/\1/p' "$dir/err")
    if [ -z "$child" ]; then
        echo "no decoded clone line: $(grep clone "$dir/err")"
        return 1
    fi
    expect "$dir" err "^\\[pid +$child\\] write\\(1, \"child\\\\n\", 6\\) += 6$" \
        "^\\[pid +$child\\] \\+\\+\\+ exited with 3 \\+\\+\\+$" \
        "^\\[pid +[0-9]+\\] wait4\\($child, \\[\\{WIFEXITED\\(s\\) && WEXITSTATUS\\(s\\) == 3\\}\\], 0, NULL\\) += $child$" || return 1
    if ! tail -n 1 "$dir/err" | grep -Eq '^\[pid +[0-9]+\] \+\+\+ exited with 0 \+\+\+$'; then
        echo "the parent's trace does not end with its exit: $(tail -n 1 "$dir/err")"
        return 1
    fi
    "$HERMITUX_RUN" --accel="$accel" --strace "$program" abort >"$dir/out" 2>"$dir/err"
    local status=$?
    [ "$status" -eq 134 ] || {
        echo "abort: status $status"
        return 1
    }
    expect "$dir" err '^tgkill\([0-9]+, [0-9]+, SIGABRT\) += 0$' \
        '^--- SIGABRT \{si_signo=SIGABRT, si_code=SI_TKILL, si_pid=[0-9]+, si_uid=[0-9]+\} ---$' || return 1
    if ! tail -n 1 "$dir/err" | grep -qx '+++ killed by SIGABRT +++'; then
        echo "abort: trace ends with: $(tail -n 1 "$dir/err")"
        return 1
    fi
}
custom strace-signals/fork-abort strace_fork_abort

# Processes sharing memory (clone with CLONE_VM, without CLONE_THREAD): each one's end is
# traced under its own pid, as strace -f shows it: after its exit or exit_group, or its
# fatal signal; the program's own end comes last.
strace_clone_vm() {
    local accel=$1 dir=$2
    "$HERMITUX_RUN" --accel="$accel" --strace tests/programs/build/glibc/clone_vm \
        >"$dir/out" 2>"$dir/err" || return 1
    local child
    child=$(sed -nE 's/^\[pid +[0-9]+\] clone\(child_stack=0x[0-9a-f]+, flags=CLONE_VM\|CLONE_FILES\) += ([0-9]+)$/\1/p' "$dir/err" | head -n 1)
    if [ -z "$child" ]; then
        echo "no decoded clone line: $(grep clone "$dir/err" | head -n 1)"
        return 1
    fi
    expect "$dir" err "^\\[pid +$child\\] exit\\(7\\) += \\?$" \
        "^\\[pid +$child\\] \\+\\+\\+ exited with 7 \\+\\+\\+$" \
        '^\[pid +[0-9]+\] \+\+\+ exited with 5 \+\+\+$' \
        '^\[pid +[0-9]+\] \+\+\+ killed by SIGTERM \+\+\+$' \
        '^\[pid +[0-9]+\] \+\+\+ killed by SIGSEGV \+\+\+$' || return 1
    if ! tail -n 1 "$dir/err" | grep -Eq '^\[pid +[0-9]+\] \+\+\+ exited with 0 \+\+\+$'; then
        echo "the program's trace does not end with its exit: $(tail -n 1 "$dir/err")"
        return 1
    fi
}
custom strace/clone-vm strace_clone_vm

# glibc's pthread_create calls clone3: its struct clone_args is decoded as strace does,
# with the tid the kernel wrote back for the parent ("=> {parent_tid=[N]}") equal to the
# call's result.
strace_clone3() {
    local accel=$1 dir=$2
    "$HERMITUX_RUN" --accel="$accel" --strace tests/programs/build/glibc/threads \
        >"$dir/out" 2>"$dir/err" || return 1
    local line
    line=$(grep -E 'clone3\(' "$dir/err" | head -n 1)
    if ! printf '%s\n' "$line" | grep -Eq '^(\[pid +[0-9]+\] )?clone3\(\{flags=CLONE_VM\|CLONE_FS\|CLONE_FILES\|CLONE_SIGHAND\|CLONE_THREAD\|CLONE_SYSVSEM\|CLONE_SETTLS\|CLONE_PARENT_SETTID\|CLONE_CHILD_CLEARTID, child_tid=0x[0-9a-f]+, parent_tid=0x[0-9a-f]+, exit_signal=0, stack=0x[0-9a-f]+, stack_size=0x[0-9a-f]+, tls=0x[0-9a-f]+\} => \{parent_tid=\[([0-9]+)\]\}, 88\) += ([0-9]+)$'; then
        echo "clone3 line: $line"
        return 1
    fi
    local written result
    written=$(printf '%s\n' "$line" | sed -E 's/.*parent_tid=\[([0-9]+)\].*/\1/')
    result=$(printf '%s\n' "$line" | sed -E 's/.*= ([0-9]+)$/\1/')
    [ "$written" = "$result" ] || {
        echo "parent_tid [$written] is not the result $result"
        return 1
    }
}
custom strace/clone3 strace_clone3

# A fork child that execs, traced into a FILE: the trace goes on in the file after the
# execve (the new monitor appends to it; it opened the file again before, truncating it, or
# stopped), the execve line reads as strace's (path, argv, the environment's count, "= 0"),
# and the exec'd program's calls and exit keep the child's "[pid N]".
strace_exec_to_file() {
    local accel=$1 dir=$2 child
    "$HERMITUX_RUN" --accel="$accel" --strace="$dir/trace" "$BB" sh -c \
        "$BB echo one two >/dev/null; echo done" >"$dir/out" 2>"$dir/err" || {
        echo "exited $?: $(head -c 200 "$dir/err")"
        return 1
    }
    child=$(sed -nE 's/^\[pid +([0-9]+)\] execve\(.*/\1/p' "$dir/trace" | head -n 1)
    expect "$dir" trace \
        "^\\[pid +[0-9]+\\] execve\\(\"$BB\", \\[\"$BB\", \"echo\", \"one\", \"two\"\\], 0x[0-9a-f]+ /\\* [0-9]+ vars \\*/\\) += 0$" \
        "^\\[pid +$child\\] write\\(1, \"one two\\\\n\", 8\\) += 8$" \
        "^\\[pid +$child\\] \\+\\+\\+ exited with 0 \\+\\+\\+$" \
        '^\[pid +[0-9]+\] write\(1, "done\\n", 5\) += 5$' || return 1
    if ! tail -n 1 "$dir/trace" | grep -Eq '^\[pid +[0-9]+\] \+\+\+ exited with 0 \+\+\+$'; then
        echo "the trace does not end with the shell's exit: $(tail -n 1 "$dir/trace")"
        return 1
    fi
}
custom strace/exec-to-file strace_exec_to_file
