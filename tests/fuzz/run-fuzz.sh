#!/bin/sh
# Builds the gdbstub packet fuzzer with clang's libFuzzer and AddressSanitizer
# and runs it for a bounded time. Exits non-zero if the fuzzer finds a crash.
# Usage: tests/fuzz/run-fuzz.sh [seconds]   (from anywhere; default 60)
set -eu
seconds=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/tests/fuzz/build
mkdir -p "$build/corpus" "$build/crashes"

# A few well-formed packets give the fuzzer a head start. The first byte is
# the harness's (when to report stops, whether to skip acks).
seed() {
    sum=$(printf '%s' "$2" | od -An -v -tu1 | tr -s ' ' '\n' | awk '{ s += $1 } END { printf "%02x", s % 256 }')
    printf '\001$%s#%s' "$2" "$sum" >"$build/corpus/$1"
}
seed question '?'
seed supported 'qSupported:multiprocess+;swbreak+;hwbreak+'
seed registers 'g'
seed register 'P10=0010400000000000'
seed memory 'm400000,10'
seed write 'M401ffe,4:01020304'
seed continue 'c'
seed vcont 'vCont;s:1;c'
seed breakpoint 'Z0,400000,1'
seed xfer 'qXfer:features:read:target.xml:0,ffb'
seed monitor 'qRcmd,68656c70'
seed binary 'X400000,2:}]}}'

CC=${CC_FUZZ:-clang}
# shellcheck disable=SC2046
"$CC" -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top" -D_GNU_SOURCE $(pkg-config --cflags glib-2.0) \
    "$top"/tests/fuzz/fuzz_gdb_packets.c "$top"/gdbstub/*.c \
    $(pkg-config --libs glib-2.0) -o "$build/fuzz_gdb_packets"

cd "$build"
# libFuzzer exits non-zero on a crash, a leak or a sanitizer report.
./fuzz_gdb_packets -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -artifact_prefix="$build/crashes/" -print_final_stats=1 corpus
