#!/usr/bin/env bash
# run-compat.sh — real programs nobody here wrote, run natively and under hermitux-run,
# compared byte for byte (stdout, stderr, exit status). A measurement of how much of an
# ordinary Debian system runs, not a pass/fail suite: `make compat` prints one line per
# program and a total; --strict makes any difference an error.
#
#   tests/compat/run-compat.sh [--strict] [--accel=kvm|tcg] [REGEX]
#
# Programs that are not installed are skipped and counted as such. Each run is bounded
# (HERMITUX_COMPAT_TIMEOUT, default 60 s under hermitux-run).
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd -P)
RUN=${HERMITUX_RUN:-$ROOT/hermitux-run}
TIMEOUT=${HERMITUX_COMPAT_TIMEOUT:-60}
strict=no accel=auto filter=
for arg in "$@"; do
    case $arg in
    --strict) strict=yes ;;
    --accel=*) accel=${arg#--accel=} ;;
    *) filter=$arg ;;
    esac
done
export LC_ALL=C TZ=UTC

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hermitux-compat.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT
FIX=$WORK/fixtures
mkdir -p "$FIX/tree/sub/deeper"
printf 'banana\napple\ncherry\napple\n' >"$FIX/fruit.txt"
seq 1 20000 >"$FIX/numbers.txt"
for i in 1 2 3; do printf 'file %s\nneedle here\n' "$i" >"$FIX/tree/sub/f$i.txt"; done
printf 'deep needle\n' >"$FIX/tree/sub/deeper/d.txt"
touch -d '2020-01-02 03:04:05' "$FIX"/tree/sub/*.txt "$FIX/tree/sub/deeper/d.txt" \
    "$FIX/tree/sub/deeper" "$FIX/tree/sub" "$FIX/tree"
PY=$(command -v /usr/bin/python3 || command -v python3)

# Programs built here from source: a Go program (goroutines, channels, a timer) and a
# Rust program (threads, a channel), when the compilers are installed.
build_extras() {
    if command -v go >/dev/null; then
        mkdir -p "$WORK/go" && cat >"$WORK/go/main.go" <<'GO'
package main

import (
	"fmt"
	"sync"
	"time"
)

func main() {
	var wg sync.WaitGroup
	results := make(chan int, 8)
	for i := 1; i <= 8; i++ {
		wg.Add(1)
		go func(n int) { defer wg.Done(); s := 0; for k := 0; k < n*100000; k++ { s += k % 7 }; results <- s }(i)
	}
	wg.Wait()
	close(results)
	total := 0
	for r := range results {
		total += r
	}
	time.Sleep(10 * time.Millisecond)
	fmt.Println("total", total)
}
GO
        (cd "$WORK/go" && HOME=$WORK GOCACHE=$WORK/gocache GO111MODULE=off \
            go build -o "$WORK/go-goroutines" main.go) >/dev/null 2>&1
    fi
    if command -v rustc >/dev/null; then
        cat >"$WORK/threads.rs" <<'RS'
use std::sync::mpsc;
use std::thread;
fn main() {
    let (tx, rx) = mpsc::channel();
    let handles: Vec<_> = (1..=4).map(|i| { let tx = tx.clone(); thread::spawn(move || { tx.send(i * i).unwrap(); }) }).collect();
    for h in handles { h.join().unwrap(); }
    drop(tx);
    let sum: i32 = rx.iter().sum();
    println!("sum {}", sum);
}
RS
        rustc -O -o "$WORK/rust-threads" "$WORK/threads.rs" >/dev/null 2>&1
    fi
}
build_extras

# name | stdin | command: shell words (quoted as in a script), run as they are natively
# and after `hermitux-run --accel=ACCEL`.
PROGRAMS=(
    "busybox-echo||/bin/busybox echo hello world"
    "busybox-sort||/bin/busybox sort $FIX/fruit.txt"
    "busybox-sha256||/bin/busybox sha256sum $FIX/numbers.txt"
    "busybox-awk||/bin/busybox awk '{s+=\$1}END{print(s)}' $FIX/numbers.txt"
    "busybox-sh-pipe||/bin/busybox sh -c 'seq 5 | tr 1-5 a-e | sort -r'"
    "busybox-sh-subst||/bin/busybox sh -c 'echo \$(echo inner) outer'"
    "busybox-nproc||/bin/busybox nproc"
    "bash-static-script||/bin/bash-static -c 'x=0; for i in 1 2 3; do x=\$((x+i)); done; echo \$x'"
    "bash-static-pipe||/bin/bash-static -c 'echo abc | rev; echo \$(( 6 * 7 ))'"
    "bash-static-trap||/bin/bash-static -c 'trap \"echo got USR1\" USR1; kill -USR1 \$\$; echo after'"
    "true||/bin/true"
    "false||/bin/false"
    "echo||/bin/echo dynamic hello"
    "cat|$FIX/fruit.txt|/bin/cat"
    "ls-l||/bin/ls -l --time-style=+%F $FIX/tree/sub"
    "sort||/usr/bin/sort $FIX/fruit.txt"
    "sort-n||/usr/bin/sort -rn $FIX/numbers.txt"
    "uniq-c|$FIX/fruit.txt|/usr/bin/uniq -c"
    "grep-r||/bin/grep -r needle $FIX/tree"
    "sed||/bin/sed -e s/apple/APPLE/ $FIX/fruit.txt"
    "awk||/usr/bin/awk '{s+=\$1}END{print(s)}' $FIX/numbers.txt"
    "find||/usr/bin/find $FIX/tree -name '*.txt'"
    "sha256sum||/usr/bin/sha256sum $FIX/numbers.txt"
    "md5sum||/usr/bin/md5sum $FIX/fruit.txt"
    "wc||/usr/bin/wc $FIX/numbers.txt"
    "head||/usr/bin/head -n 3 $FIX/numbers.txt"
    "tail||/usr/bin/tail -n 3 $FIX/numbers.txt"
    "tr|$FIX/fruit.txt|/usr/bin/tr a-z A-Z"
    "cut||/usr/bin/cut -c1-3 $FIX/fruit.txt"
    "date-d||/bin/date -d @1234567890"
    "id||/usr/bin/id"
    "uname||/bin/uname -sm"
    "env||/usr/bin/env -i A=1 /usr/bin/env"
    "expr||/usr/bin/expr 6 '*' 7"
    "seq||/usr/bin/seq 3"
    "gzip-c||/bin/gzip -c -n $FIX/fruit.txt"
    "xz-c||/usr/bin/xz -c $FIX/fruit.txt"
    "tar-tvf||/bin/tar -C $FIX -cf - tree --mtime=2020-01-01 --owner=0 --group=0 --sort=name"
    "bc|$FIX/fruit.txt|/usr/bin/bc -q /dev/null"
    "file||/usr/bin/file $FIX/fruit.txt"
    "stat||/usr/bin/stat -c %s:%F $FIX/fruit.txt"
    "readlink||/bin/readlink -f $FIX/tree/sub/../sub"
    "python3-json||$PY -c 'import json,re,hashlib; print(json.dumps({\"a\":[1,2]}), re.sub(\"b\",\"c\",\"abc\"), hashlib.sha256(b\"x\").hexdigest())'"
    "python3-class||$PY -c 'class A:\n  def f(self): return 42\nprint(A().f())'"
    "python3-threads||$PY -c 'import threading; t=threading.Thread(target=print, args=(\"thread\",)); t.start(); t.join()'"
    "python3-subprocess||$PY -c 'import subprocess; print(subprocess.run([\"echo\",\"child\"],capture_output=True).stdout)'"
    "perl||/usr/bin/perl -e 'print join(\",\", map { \$_ * 2 } 1..5), \"\\n\"'"
    "sqlite3||/usr/bin/sqlite3 :memory: 'create table t(x); insert into t values(1),(2); select sum(x) from t;'"
    "git-version||/usr/bin/git --version"
    "curl-version||/usr/bin/curl --version"
    "sh-c||/bin/sh -c 'echo \$(( 1 + 2 )); ls $FIX/tree'"
    "bash-c||/bin/bash -c 'for f in $FIX/tree/sub/*.txt; do wc -l < \$f; done'"
    "go-goroutines||$WORK/go-goroutines"
    "rust-threads||$WORK/rust-threads"
)

identical=0 differ=0 missing=0
for entry in "${PROGRAMS[@]}"; do
    name=${entry%%|*}
    rest=${entry#*|}
    stdin=${rest%%|*}
    command=${rest#*|}
    [ -n "$filter" ] && ! [[ $name =~ $filter ]] && continue
    program=$(eval "set -- $command; echo \"\$1\"")
    if [ ! -x "$program" ]; then
        printf 'SKIP %-22s %s not installed\n' "$name" "$program"
        missing=$((missing + 1))
        continue
    fi
    dir=$WORK/runs/$name
    mkdir -p "$dir"
    eval "set -- $command"
    (cd "$dir" && timeout 20 "$@" <"${stdin:-/dev/null}" >native.out 2>native.err)
    echo $? >"$dir/native.status"
    (cd "$dir" && timeout "$TIMEOUT" "$RUN" --accel="$accel" "$@" <"${stdin:-/dev/null}" \
        >vm.out 2>vm.err)
    echo $? >"$dir/vm.status"
    why=
    if ! cmp -s "$dir/native.status" "$dir/vm.status"; then
        why="status $(cat "$dir/vm.status") (native $(cat "$dir/native.status"))"
    elif ! cmp -s "$dir/native.out" "$dir/vm.out"; then
        why="stdout differs"
    elif ! cmp -s "$dir/native.err" "$dir/vm.err"; then
        why="stderr differs"
    fi
    if [ -z "$why" ]; then
        printf 'SAME %-22s\n' "$name"
        identical=$((identical + 1))
    else
        first=$(grep -v '^$' "$dir/vm.err" | head -n 1 | cut -c1-110)
        printf 'DIFF %-22s %s: %s\n' "$name" "$why" "$first"
        differ=$((differ + 1))
    fi
done
echo "compat: $identical identical, $differ differ, $missing not installed (accel $accel)"
[ "$strict" = no ] || [ "$differ" -eq 0 ]
