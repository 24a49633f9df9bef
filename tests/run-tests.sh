#!/usr/bin/env bash
# run-tests.sh — the one test runner (`make check` calls it).
#
# Runs the unit tests (tests/unit/unit-tests), then every integration case declared in
# tests/integration/*.sh, once per accelerator. A case's expected result is a native run
# of the same binary with the same arguments, input and environment, made in this same
# test run: stdout, stderr and exit status must match byte for byte.
#
# Environment:
#   HERMITUX_TEST_FILTER=REGEX    run only cases whose name matches (bash ERE); the unit
#                                 tests are the case named "unit"
#   HERMITUX_TEST_ACCELS="kvm tcg"  accelerators to try (default: both)
#   HERMITUX_TEST_TIMEOUT=60      seconds allowed for one run
#   HERMITUX_TEST_KEEP=1          keep the scratch directory (outputs of every run)
#   HERMITUX_RUN=./hermitux-run   the monitor under test
#   HERMITUX_TEST_TIMES=FILE      append each case's wall time to FILE
#   HERMITUX_TEST_JOBS=1          one runner only (default: two at once on a machine with
#                                 two cores or more, see run_both_shards)
# Output: one PASS/FAIL/SKIP line per case and accelerator, then exactly
# "N passed, N failed, N skipped". Exits 1 if anything failed.

set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd -P)
HERMITUX_RUN=${HERMITUX_RUN:-./hermitux-run}
FILTER=${HERMITUX_TEST_FILTER:-}
ACCELS=${HERMITUX_TEST_ACCELS:-kvm tcg}
TIMEOUT=${HERMITUX_TEST_TIMEOUT:-60}
DATA=$ROOT/tests/data
export LC_ALL=C
# No core files from the runs (the soft limit only: the core-pattern cases raise it).
ulimit -S -c 0 2>/dev/null
# Fds this runner inherited (a terminal multiplexer's, an agent's) would reach
# every program it starts and change what they see, e.g. the size of their
# fd table (select on a closed fd 100 is EBADF only in a table that large):
# closed, so a run here sees what CI sees.
for inherited in /proc/$$/fd/*; do
    inherited=${inherited##*/}
    [ "$inherited" -gt 2 ] && [ "$inherited" -lt 255 ] && eval "exec $inherited>&-"
done

passed=0 failed=0 skipped=0

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hermitux-tests.XXXXXX") || exit 2
WORK=$(cd "$WORK" && pwd -P)
FIX=$WORK/fixtures
mkdir -p "$FIX"
chmod 755 "$WORK" "$FIX"
cleanup() {
    if [ -n "${HERMITUX_TEST_KEEP:-}" ]; then
        echo "kept scratch directory $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------
# The case table. tests/integration/*.sh call these while being sourced.
#
#   compare NAME [OPTIONS] -- PROGRAM [ARGS...]
#       Run PROGRAM natively and under hermitux-run; compare stdout, stderr, status.
#       --stdin FILE       standard input (default /dev/null); --stdin-pipe FILE feeds it
#                          through a pipe instead of a file
#       --env NAME=VALUE   set for both runs (-E NAME=VALUE for hermitux-run)
#       --clear-env        empty environment (env -i natively, --clear-env for the VM)
#       --tmpdir           a fresh scratch directory per run: @TMP@ in ARGS names it, and
#                          its path is replaced by @TMP@ in both outputs before comparing
#       --no-stderr        do not compare stderr (e.g. a fault: the VM reports it)
#       --status N         the native run must exit N (default 0): checks the test itself
#       --vm-stdout FILE   the VM's stdout must equal FILE (not the native stdout); for
#                          behaviour a unikernel has on purpose (fork fails)
#       --opt OPTION       an extra hermitux-run option (repeatable), e.g. --opt -m64M
#       --accels "LIST"    only these accelerators
#   program NAME [OPTIONS] -- PROG [ARGS...]
#       compare musl/NAME and glibc/NAME on tests/programs/build/{musl,glibc}/PROG
#       (PROGRAM_BUILDS="glibc-dynamic musl-dynamic" picks other builds).
#   bad_input NAME [--accels LIST] -- HERMITUX-RUN-ARGS...
#       hermitux-run --accel=ACCEL ARGS must print exactly one line on stderr, nothing on
#       stdout, and exit with a status in 1..127.
#   custom NAME FUNCTION [--accels LIST] [ARGS...]
#       FUNCTION ACCEL DIR ARGS... runs the case itself (DIR is its scratch directory);
#       returns 0 pass, 1 fail, 77 skip, and prints its reason (one line) on stdout.
#
# In arguments and file names, @FIX@ is the generated-fixtures directory (filled by the
# functions a case file appends to FIXTURE_MAKERS), @DATA@ is tests/data, and @TMP@ the
# per-run scratch directory.
# ---------------------------------------------------------------------------------------
CASES=()
FIXTURE_MAKERS=() # functions called with the fixtures directory before any case runs
CASE_KIND=()
CASE_SPEC=()

register() {
    local kind=$1 name=$2
    shift 2
    CASES+=("$name")
    CASE_KIND+=("$kind")
    CASE_SPEC+=("$(printf '%q ' "$@")")
}
compare() { register compare "$@"; }
bad_input() { register bad_input "$@"; }
custom() { register custom "$@"; }
program() {
    local name=$1 opts=() libc
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    shift
    local prog=$1
    shift
    # PROGRAM_BUILDS: which builds of tests/programs (default: the static ones).
    for libc in ${PROGRAM_BUILDS:-musl glibc}; do
        compare "$libc/$name" "${opts[@]}" -- "tests/programs/build/$libc/$prog" "$@"
    done
}

# Replace @FIX@, @DATA@ and @TMP@ (the latter with $2, if given).
subst() {
    local s=${1//@FIX@/$FIX}
    s=${s//@DATA@/$DATA}
    [ -n "${2:-}" ] && s=${s//@TMP@/$2}
    printf '%s' "$s"
}

# Replace every occurrence of the path $2 by @TMP@ in file $1.
normalise() {
    local pattern
    pattern=$(printf '%s' "$2" | sed 's/[.[\*^$|]/\\&/g')
    sed -i "s|$pattern|@TMP@|g" "$1"
}

result_pass() {
    echo "PASS [$1] $2"
    passed=$((passed + 1))
}
result_skip() {
    echo "SKIP [$1] $2: $3"
    skipped=$((skipped + 1))
}
# result_fail ACCEL NAME REASON [DETAIL-FILE]
result_fail() {
    echo "FAIL [$1] $2: $3"
    if [ -n "${4:-}" ] && [ -s "$4" ]; then
        head -n 40 "$4" | sed 's/^/    /'
        [ "$(wc -l <"$4")" -gt 40 ] && echo "    ..."
    fi
    failed=$((failed + 1))
}

# One line of a file for a reason: its first line, cut short.
first_line() {
    head -n 1 "$1" 2>/dev/null | cut -c 1-160
}

# ---------------------------------------------------------------------------------------
# Running a compare case.
# ---------------------------------------------------------------------------------------
parse_compare() {
    o_stdin=/dev/null o_pipe=0 o_env=() o_clear=0 o_tmp=0 o_stderr=1 o_status=0
    o_vmout="" o_opts=() o_accels=""
    while [ $# -gt 0 ]; do
        case $1 in
        --stdin) o_stdin=$2 && shift ;;
        --stdin-pipe) o_stdin=$2 o_pipe=1 && shift ;;
        --env) o_env+=("$2") && shift ;;
        --clear-env) o_clear=1 ;;
        --tmpdir) o_tmp=1 ;;
        --no-stderr) o_stderr=0 ;;
        --status) o_status=$2 && shift ;;
        --vm-stdout) o_vmout=$2 && shift ;;
        --opt) o_opts+=("$2") && shift ;;
        --accels) o_accels=$2 && shift ;;
        --)
            shift
            break
            ;;
        *)
            echo "run-tests.sh: bad case option '$1'" >&2
            return 1
            ;;
        esac
        shift
    done
    c_prog=$1
    shift
    c_args=("$@")
}

# run_compare_one native|vm ACCEL DIR: leaves DIR/out, DIR/err, DIR/status.
run_compare_one() {
    local mode=$1 accel=$2 dir=$3 tmp="" cmd a e st
    mkdir -p "$dir"
    if [ "$o_tmp" = 1 ]; then
        tmp=$(mktemp -d "$dir/tmp.XXXXXX")
    fi
    local argv=()
    for a in "${c_args[@]}"; do
        argv+=("$(subst "$a" "$tmp")")
    done
    if [ "$mode" = native ]; then
        cmd=(env)
        [ "$o_clear" = 1 ] && cmd+=(-i)
        cmd+=("${o_env[@]}" "$(subst "$c_prog")" "${argv[@]}")
    else
        cmd=("$HERMITUX_RUN" "--accel=$accel" "${o_opts[@]}")
        [ "$o_clear" = 1 ] && cmd+=(--clear-env)
        for e in "${o_env[@]}"; do
            cmd+=(-E "$e")
        done
        cmd+=("$(subst "$c_prog")" "${argv[@]}")
    fi
    local input
    input=$(subst "$o_stdin" "$tmp")
    # The braces catch the shell's own "Segmentation fault" report of a child.
    {
        if [ "$o_pipe" = 1 ]; then
            cat "$input" | timeout -k 5 "$TIMEOUT" "${cmd[@]}" >"$dir/out" 2>"$dir/err"
            st=${PIPESTATUS[1]}
        else
            timeout -k 5 "$TIMEOUT" "${cmd[@]}" <"$input" >"$dir/out" 2>"$dir/err"
            st=$?
        fi
    } 2>/dev/null
    echo "$st" >"$dir/status"
    if [ -n "$tmp" ]; then
        normalise "$dir/out" "$tmp"
        normalise "$dir/err" "$tmp"
    fi
}

# The native run of the current case, made once and shared by the accelerators.
native_ready=""
native_dir=""
native_result() {
    local index=$1
    if [ "$native_ready" != "$index" ]; then
        native_dir=$WORK/case$index/native
        run_compare_one native "" "$native_dir"
        native_ready=$index
    fi
}

run_compare() {
    local index=$1 accel=$2 name=$3
    local dir=$WORK/case$index/$accel
    native_result "$index"
    local native_status vm_status
    native_status=$(cat "$native_dir/status")
    if [ "$native_status" != "$o_status" ]; then
        result_fail "$accel" "$name" \
            "the native run exited $native_status, expected $o_status (the test itself is wrong)" \
            "$native_dir/err"
        return
    fi
    run_compare_one vm "$accel" "$dir"
    vm_status=$(cat "$dir/status")
    if { [ "$vm_status" = 124 ] || [ "$vm_status" = 137 ]; } && [ "$native_status" != "$vm_status" ]; then
        result_fail "$accel" "$name" "timed out after ${TIMEOUT}s" "$dir/err"
        return
    fi
    local expected_out=$native_dir/out
    [ -n "$o_vmout" ] && expected_out=$(subst "$o_vmout")
    if [ "$vm_status" != "$native_status" ]; then
        {
            cat "$dir/err"
            diff -u --label expected --label hermitux-run "$expected_out" "$dir/out"
        } >"$dir/detail" 2>&1
        result_fail "$accel" "$name" \
            "exit status $vm_status, native $native_status (stderr, then stdout diff, below)" \
            "$dir/detail"
        return
    fi
    if ! cmp -s "$expected_out" "$dir/out"; then
        diff -u --label expected --label hermitux-run "$expected_out" "$dir/out" >"$dir/diff" 2>&1 ||
            true
        result_fail "$accel" "$name" "stdout differs (diff below)" "$dir/diff"
        return
    fi
    if [ "$o_stderr" = 1 ] && ! cmp -s "$native_dir/err" "$dir/err"; then
        diff -u --label native --label hermitux-run "$native_dir/err" "$dir/err" >"$dir/diff" 2>&1 ||
            true
        result_fail "$accel" "$name" "stderr differs (diff below)" "$dir/diff"
        return
    fi
    result_pass "$accel" "$name"
}

# ---------------------------------------------------------------------------------------
# Bad input: one line on stderr, empty stdout, status 1..127.
# ---------------------------------------------------------------------------------------

# check_bad_input ACCEL NAME DIR: judges DIR/out, DIR/err, DIR/status.
check_bad_input() {
    local accel=$1 name=$2 dir=$3 st problems=()
    st=$(cat "$dir/status")
    local lines
    lines=$(tr -cd '\n' <"$dir/err" | wc -c)
    if [ "$st" = 124 ] || [ "$st" = 137 ]; then
        result_fail "$accel" "$name" "timed out after ${TIMEOUT}s" "$dir/err"
        return
    fi
    [ "$st" -ge 1 ] && [ "$st" -le 127 ] || problems+=("exit status $st, not in 1..127")
    [ -s "$dir/out" ] && problems+=("stdout not empty ($(wc -c <"$dir/out") bytes)")
    if [ ! -s "$dir/err" ]; then
        problems+=("stderr empty")
    elif [ "$lines" != 1 ] || [ "$(tail -c 1 "$dir/err" | od -An -c | tr -d ' ')" != '\n' ]; then
        problems+=("stderr has $lines newline(s), want exactly one line")
    fi
    if [ ${#problems[@]} = 0 ]; then
        result_pass "$accel" "$name"
    else
        local reason
        reason=$(printf '%s; ' "${problems[@]}")
        {
            echo "stderr:"
            head -n 10 "$dir/err"
            if [ -s "$dir/out" ]; then
                echo "stdout:"
                head -c 400 "$dir/out" | head -n 5
            fi
        } >"$dir/detail"
        result_fail "$accel" "$name" "${reason%; }" "$dir/detail"
    fi
}

run_bad_input() {
    local index=$1 accel=$2 name=$3 a st
    local dir=$WORK/case$index/$accel
    shift 3
    mkdir -p "$dir"
    local argv=()
    for a in "$@"; do
        argv+=("$(subst "$a")")
    done
    {
        timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" "${argv[@]}" </dev/null \
            >"$dir/out" 2>"$dir/err"
        st=$?
    } 2>/dev/null
    echo "$st" >"$dir/status"
    check_bad_input "$accel" "$name" "$dir"
}

# ---------------------------------------------------------------------------------------
# Accelerators.
# ---------------------------------------------------------------------------------------
kvm_usable() {
    [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null
}
tcg_probe_done=""
tcg_usable=1
tcg_available() {
    if [ -z "$tcg_probe_done" ]; then
        tcg_probe_done=1
        if [ -x "$HERMITUX_RUN" ] && [ -x tests/programs/build/musl/hello ] &&
            timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel=tcg tests/programs/build/musl/hello \
                </dev/null >/dev/null 2>"$WORK/tcg-probe.err"; then
            tcg_usable=0
        else
            tcg_usable=1
        fi
    fi
    return $tcg_usable
}

# accel_skip_reason ACCEL: sets skip_reason to why ACCEL cannot be tested here, or "".
accel_skip_reason() {
    skip_reason=""
    case $1 in
    kvm) kvm_usable || skip_reason="/dev/kvm absent or not permitted" ;;
    tcg)
        if ! tcg_available; then
            skip_reason="tcg accelerator not built yet"
            [ -s "$WORK/tcg-probe.err" ] &&
                echo "note: the tcg probe said: $(first_line "$WORK/tcg-probe.err")"
        fi
        ;;
    *) skip_reason="unknown accelerator '$1'" ;;
    esac
}

# ---------------------------------------------------------------------------------------
# Unit tests.
# ---------------------------------------------------------------------------------------
run_unit_tests() {
    local binary=tests/unit/unit-tests log=$WORK/unit.log st
    if [ ! -x "$binary" ]; then
        echo "FAIL unit: $binary is missing (make $binary)"
        failed=$((failed + 1))
        return
    fi
    {
        timeout -k 5 600 "$binary" </dev/null >"$log" 2>&1
        st=$?
    } 2>/dev/null
    local ok bad skip
    ok=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' "$log" | tail -n 1)
    bad=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\{0,1\}, listed below.*/\1/p' "$log" | tail -n 1)
    skip=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) tests\{0,1\}, listed below.*/\1/p' "$log" | tail -n 1)
    ok=${ok:-0} bad=${bad:-0} skip=${skip:-0}
    if [ "$st" != 0 ] && [ "$bad" = 0 ]; then
        # Crashed, timed out or printed no summary: count the binary itself as a failure.
        bad=1
        echo "FAIL unit: unit-tests exited $st without a gtest summary; last lines:"
        tail -n 10 "$log" | sed 's/^/    /'
    elif [ "$bad" != 0 ]; then
        echo "FAIL unit: $bad of $((ok + bad)) unit tests failed:"
        grep '^\[  FAILED  \] [A-Za-z_]' "$log" | sort -u | sed 's/^/    /' | head -n 30
    else
        if [ "$skip" != 0 ]; then
            echo "PASS unit: $ok unit tests passed, $skip skipped"
        else
            echo "PASS unit: $ok unit tests passed"
        fi
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
    skipped=$((skipped + skip))
}

# record_time START-US ACCEL NAME: with HERMITUX_TEST_TIMES=FILE, append the case's wall
# time ("SECONDS [ACCEL] NAME") to FILE, to find what a long run spends its time on.
record_time() {
    [ -n "${HERMITUX_TEST_TIMES:-}" ] || return 0
    local us=$((${EPOCHREALTIME/./} - $1))
    printf '%d.%02d [%s] %s\n' $((us / 1000000)) $((us % 1000000 / 10000)) "$2" "$3" \
        >>"$HERMITUX_TEST_TIMES"
}

# ---------------------------------------------------------------------------------------
# Two runners at once (unless HERMITUX_TEST_JOBS=1 or one core). One case at a time used
# under one core of two: most cases wait (a gdb session for its packets, a native run for
# its child). The shards split by kind, not by count: the debugger sessions (gdb*, lldb*)
# stay one at a time among themselves, as their timing tests were written for, and
# everything else (the unit tests, the program comparisons) runs beside them. Each shard
# is this script again with HERMITUX_TEST_SHARD set, in its own scratch directory; its
# output is printed whole when it ends, the programs' first, and the totals are summed.
# ---------------------------------------------------------------------------------------
in_shard() {
    case ${HERMITUX_TEST_SHARD:-} in
    debuggers) [[ $1 =~ ^(gdb|lldb) ]] ;;
    programs) ! [[ $1 =~ ^(gdb|lldb) ]] ;;
    *) true ;;
    esac
}

run_both_shards() {
    local shard status=0 p f s
    local -A pid
    for shard in programs debuggers; do
        HERMITUX_TEST_SHARD=$shard HERMITUX_TEST_JOBS=1 "$ROOT/tests/run-tests.sh" \
            >"$WORK/shard-$shard.log" 2>&1 &
        pid[$shard]=$!
    done
    for shard in programs debuggers; do
        wait "${pid[$shard]}" || status=1
        grep -vE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$WORK/shard-$shard.log"
        read -r p f s < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' \
            "$WORK/shard-$shard.log" | tail -n 1)
        if [ -z "${p:-}" ]; then
            echo "FAIL shard $shard: its runner printed no totals"
            f=1 p=0 s=0
        fi
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    done
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" = 0 ] && [ "$status" = 0 ]
}

# ---------------------------------------------------------------------------------------
# Main.
# ---------------------------------------------------------------------------------------
for file in tests/integration/*.sh; do
    # shellcheck source=/dev/null
    . "$file"
done

if [ "${HERMITUX_TEST_JOBS:-$(nproc)}" -gt 1 ] && [ -z "${HERMITUX_TEST_SHARD:-}" ]; then
    run_both_shards
    exit $?
fi

for maker in "${FIXTURE_MAKERS[@]}"; do
    "$maker" "$FIX" >>"$WORK/fixtures.log" 2>&1 || {
        echo "note: fixture maker $maker failed; its cases will fail. Log:"
        sed 's/^/    /' "$WORK/fixtures.log" | tail -n 20
    }
done

if { [ -z "$FILTER" ] || [[ unit =~ $FILTER ]]; } && in_shard unit; then
    run_unit_tests
fi

if [ ! -x "$HERMITUX_RUN" ]; then
    echo "note: $HERMITUX_RUN is not built; every integration case fails (make hermitux-run)"
fi

# Accelerator availability, decided once.
declare -A ACCEL_SKIP
for accel in $ACCELS; do
    accel_skip_reason "$accel"
    ACCEL_SKIP[$accel]=$skip_reason
done

for index in "${!CASES[@]}"; do
    name=${CASES[$index]}
    kind=${CASE_KIND[$index]}
    if [ -n "$FILTER" ] && ! [[ $name =~ $FILTER ]]; then
        continue
    fi
    in_shard "$name" || continue
    eval "set -- ${CASE_SPEC[$index]}"
    case_accels=$ACCELS
    case $kind in
    compare)
        parse_compare "$@" || {
            result_fail - "$name" "malformed case"
            continue
        }
        [ -n "$o_accels" ] && case_accels=$o_accels
        ;;
    bad_input | custom)
        if [ "$kind" = custom ]; then
            custom_function=$1
            shift
        fi
        if [ "${1:-}" = --accels ]; then
            case_accels=$2
            shift 2
        fi
        [ "${1:-}" = -- ] && shift
        ;;
    esac
    for accel in $ACCELS; do
        [[ " $case_accels " == *" $accel "* ]] || continue
        if [ -n "${ACCEL_SKIP[$accel]}" ]; then
            result_skip "$accel" "$name" "${ACCEL_SKIP[$accel]}"
            continue
        fi
        if [ ! -x "$HERMITUX_RUN" ]; then
            result_fail "$accel" "$name" "$HERMITUX_RUN is not built"
            continue
        fi
        case_start=${EPOCHREALTIME/./}
        case $kind in
        compare) run_compare "$index" "$accel" "$name" ;;
        bad_input) run_bad_input "$index" "$accel" "$name" "$@" ;;
        custom)
            dir=$WORK/case$index/$accel
            mkdir -p "$dir"
            chmod 755 "$WORK/case$index" "$dir"
            reason=$("$custom_function" "$accel" "$dir" "$@" 2>"$dir/custom.err")
            st=$?
            reason=${reason:-exit $st}
            case $st in
            0) result_pass "$accel" "$name" ;;
            77) result_skip "$accel" "$name" "$reason" ;;
            *) result_fail "$accel" "$name" "$reason" "$dir/detail" ;;
            esac
            ;;
        esac
        record_time "$case_start" "$accel" "$name"
    done
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
