#!/bin/bash
# make check-gdb: GDB's own testsuite against hermitux-run's GDB stub, with gdbserver on the
# same statically linked programs as the reference.
#
# 1. Fetches Debian's source package of the installed gdb (apt-get source, through a private
#    apt configuration in build/gdb-testsuite/apt with a deb-src line for the mirror the
#    installed gdb came from; the system's apt configuration is not touched).
# 2. Configures only gdb/testsuite, once per target, under build/gdb-testsuite.
# 3. Runs every .exp of the list (tests/gdb/list.txt, one per line; # comments) with the
#    board tests/gdb/boards/hermitux-run.exp on each accelerator and with
#    tests/gdb/boards/gdbserver-static.exp, the targets side by side.
# 4. Prints a table per .exp and a total line; fails when hermitux-run fails a test that
#    gdbserver passes, or passes fewer tests than gdbserver in all.
#
# Environment: HERMITUX_GDB_LIST (another list), HERMITUX_GDB_ACCELS (default: kvm when
# /dev/kvm works, else tcg; "kvm tcg" for both), HERMITUX_GDB_TIMEOUT (seconds per .exp,
# default 900), HERMITUX_GDB_JOBS (targets run at once, default 2), HERMITUX_GDB_MARKDOWN
# (also write the table as Markdown to this file).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build/gdb-testsuite
LIST=${HERMITUX_GDB_LIST:-$ROOT/tests/gdb/list.txt}
PER_FILE_TIMEOUT=${HERMITUX_GDB_TIMEOUT:-900}
JOBS=${HERMITUX_GDB_JOBS:-2}

say() { echo "check-gdb: $*" >&2; }
die() {
    say "$*"
    exit 1
}

default_accels() {
    if [ -r /dev/kvm ] && [ -w /dev/kvm ] && "$ROOT/hermitux-run" --accel=kvm \
        "$ROOT/tests/programs/build/glibc/hello" >/dev/null 2>&1; then
        echo kvm
    else
        echo tcg
    fi
}
ACCELS=${HERMITUX_GDB_ACCELS:-$(default_accels)}

# The mirror, suite and component the installed gdb came from, as apt-cache policy shows:
# "        500 http://deb.debian.org/debian bookworm/main amd64 Packages".
gdb_origin() {
    apt-cache policy gdb | awk '
        /^ \*\*\* / { installed = 1; next }
        installed && $2 ~ /^(https?|file):/ && $3 !~ /^\/var\/lib\/dpkg/ { print $2, $3; exit }
        /^     [^ ]/ && installed && $2 !~ /^[0-9]+$/ { installed = 0 }'
}

fetch_source() {
    local version=$1 upstream=${1%-*}
    SRC=$BUILD/gdb-$upstream
    [ -f "$SRC/gdb/testsuite/configure" ] && return 0
    command -v dpkg-source >/dev/null || die "dpkg-source is missing (apt-get install dpkg-dev)"
    local origin mirror suite_component
    origin=$(gdb_origin)
    [ -n "$origin" ] || die "apt-cache policy gdb names no Debian mirror for gdb $version"
    mirror=${origin% *}
    suite_component=${origin#* }
    local apt=$BUILD/apt
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts"
    local signed=
    [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] &&
        signed="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
    echo "deb-src ${signed}$mirror ${suite_component%/*} ${suite_component#*/}" >"$apt/sources.list"
    local options=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
        -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1)
    # As root, apt runs its download and signature methods as the _apt user, whose
    # apt-key cannot open /dev/null on hosts where it is mode 0000 (seen on CI machines:
    # "gpgv ... required for verification, but neither seems installed"): run them as
    # root, which the private lists and cache above keep apart from the system's.
    [ "$(id -u)" -eq 0 ] && options+=(-o APT::Sandbox::User=root)
    say "fetching gdb $version's source ($(cat "$apt/sources.list"))"
    apt-get -q "${options[@]}" update >"$apt/update.log" 2>&1 ||
        die "apt-get update with a deb-src line failed: $(tail -n 2 "$apt/update.log" | tr '\n' ' ')"
    (cd "$BUILD" && apt-get -q "${options[@]}" source "gdb=$version") >"$apt/source.log" 2>&1 ||
        die "apt-get source gdb=$version failed: $(tail -n 2 "$apt/source.log" | tr '\n' ' ')"
    [ -f "$SRC/gdb/testsuite/configure" ] || die "apt-get source gave no $SRC/gdb/testsuite"
}

# An objdir per target: the testsuite builds its programs there.
configure_target() {
    local objdir=$1
    [ -f "$objdir/site.exp" ] && return 0
    mkdir -p "$objdir"
    (cd "$objdir" && "$SRC/gdb/testsuite/configure" --quiet >configure.log 2>&1 &&
        make site.exp >>configure.log 2>&1) ||
        die "configuring gdb/testsuite failed: see $objdir/configure.log"
}

# run_target NAME BOARD ACCEL: every .exp of the list, one runtest each; counts in
# $BUILD/NAME/counts (file pass fail other) and test names in $BUILD/NAME/sums/.
run_target() {
    local name=$1 board=$2 accel=$3 objdir=$BUILD/$1
    configure_target "$objdir"
    rm -rf "$objdir/sums" "$objdir/counts"
    mkdir -p "$objdir/sums"
    local exp
    while read -r exp; do
        local key=${exp//\//_}
        mkdir -p "$objdir/out/$key"
        (cd "$objdir" && HERMITUX_GDB_ACCEL=$accel HERMITUX_RUN=$ROOT/hermitux-run \
            HERMITUX_GDBSERVER=$ROOT/tests/gdb/hermitux-gdbserver \
            timeout -k 10 "$PER_FILE_TIMEOUT" runtest --tool gdb --srcdir "$SRC/gdb/testsuite" \
            --outdir "$objdir/out/$key" --target_board="$board" GDB=/usr/bin/gdb \
            "$exp" >/dev/null 2>&1 </dev/null)
        local sum=$objdir/out/$key/gdb.sum
        if [ -f "$sum" ]; then
            grep -E '^(PASS|FAIL|XPASS|XFAIL|KFAIL|KPASS|UNRESOLVED|UNSUPPORTED|UNTESTED|ERROR):' \
                "$sum" | sort -u >"$objdir/sums/$key"
        else
            echo "ERROR: $exp: no gdb.sum (runtest timed out or failed)" >"$objdir/sums/$key"
        fi
        printf '%s %d %d %d\n' "$exp" "$(grep -c '^PASS:' "$objdir/sums/$key")" \
            "$(grep -cE '^(FAIL|ERROR|UNRESOLVED):' "$objdir/sums/$key")" \
            "$(grep -cvE '^(PASS|FAIL|ERROR|UNRESOLVED):' "$objdir/sums/$key")" >>"$objdir/counts"
    done < <(grep -vE '^\s*(#|$)' "$LIST")
}

# Tests gdbserver passes that the target does not pass.
regressions() {
    local target=$1 key=$2
    comm -23 <(sed -n 's/^PASS: //p' "$BUILD/gdbserver/sums/$key" | sort -u) \
        <(sed -n 's/^PASS: //p' "$BUILD/$target/sums/$key" | sort -u)
}

report() {
    local targets=("$@") status=0 markdown=${HERMITUX_GDB_MARKDOWN:-/dev/null}
    local header="| .exp |" rule="|---|"
    for target in "${targets[@]}"; do
        header+=" $target pass/fail |"
        rule+="---|"
    done
    header+=" gdbserver pass/fail |"
    rule+="---|"
    {
        echo "$header"
        echo "$rule"
    } >"$markdown"
    printf '%-48s' ".exp"
    for target in "${targets[@]}" gdbserver; do printf ' %18s' "$target"; done
    printf '\n'
    declare -A pass_total fail_total
    local exp
    while read -r exp; do
        local key=${exp//\//_} line="| $exp |" worse=""
        printf '%-48s' "$exp"
        for target in "${targets[@]}" gdbserver; do
            local counts pass fail
            counts=$(awk -v e="$exp" '$1 == e { print $2, $3 }' "$BUILD/$target/counts")
            pass=${counts% *}
            fail=${counts#* }
            pass_total[$target]=$((${pass_total[$target]:-0} + pass))
            fail_total[$target]=$((${fail_total[$target]:-0} + fail))
            printf ' %18s' "$pass/$fail"
            line+=" $pass/$fail |"
            if [ "$target" != gdbserver ] && [ -n "$(regressions "$target" "$key")" ]; then
                worse+=" $target"
            fi
        done
        [ -n "$worse" ] && printf '  fails what gdbserver passes:%s' "$worse"
        printf '\n'
        echo "$line" >>"$markdown"
        if [ -n "$worse" ]; then
            status=1
            for target in $worse; do
                regressions "$target" "$key" | sed "s/^/    $target: /" | head -n 5
            done
        fi
    done < <(grep -vE '^\s*(#|$)' "$LIST")
    printf '%-48s' "total (pass/fail)"
    local line="| **total** |"
    for target in "${targets[@]}" gdbserver; do
        printf ' %18s' "${pass_total[$target]}/${fail_total[$target]}"
        line+=" ${pass_total[$target]}/${fail_total[$target]} |"
        if [ "$target" != gdbserver ] && [ "${pass_total[$target]}" -lt "${pass_total[gdbserver]}" ]; then
            status=1
        fi
    done
    printf '\n'
    echo "$line" >>"$markdown"
    return $status
}

main() {
    command -v runtest >/dev/null || die "runtest is missing (apt-get install dejagnu)"
    command -v gdbserver >/dev/null || die "gdbserver is missing (apt-get install gdbserver)"
    [ -x "$ROOT/hermitux-run" ] || die "build hermitux-run first (make)"
    local version
    version=$(dpkg-query -W -f='${Version}' gdb 2>/dev/null) || die "gdb is not installed"
    mkdir -p "$BUILD"
    fetch_source "$version"
    cp "$ROOT"/tests/gdb/boards/*.exp "$SRC/gdb/testsuite/boards/"
    local targets=() accel
    for accel in $ACCELS; do targets+=("hermitux-run-$accel"); done
    say "gdb $version, $(grep -cvE '^\s*(#|$)' "$LIST") .exp files, targets: ${targets[*]} gdbserver"
    local running=0
    for accel in $ACCELS gdbserver; do
        if [ "$accel" = gdbserver ]; then
            run_target gdbserver gdbserver-static "" &
        else
            run_target "hermitux-run-$accel" hermitux-run "$accel" &
        fi
        running=$((running + 1))
        if [ "$running" -ge "$JOBS" ]; then
            wait -n
            running=$((running - 1))
        fi
    done
    wait
    report "${targets[@]}"
}

main "$@"
