#!/bin/sh
# Builds the fuzzers with clang's libFuzzer, AddressSanitizer and UBSan and runs each for a
# bounded time. Exits non-zero if any finds a crash; what it found is kept in
# tests/fuzz/build/crashes/ (copy a crasher into tests/fuzz/regressions/TARGET/ to keep it:
# every run replays those first).
# Usage: tests/fuzz/run-fuzz.sh [seconds-per-target] [target...]
#   targets: gdb-packets (the GDB stub), loader (ELF loading), syscalls (a guest program
#   making random syscalls against the monitor; see run-syscall-fuzz.sh). Default: all.
set -eu
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-gdb-packets loader syscalls}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/tests/fuzz/build
mkdir -p "$build/crashes"
CC=${CC_FUZZ:-clang}
# A harness whose callbacks no longer match an interface must not build (it once
# crashed in its own read_registers after gdbstub's ops took a thread id).
FUZZ_FLAGS="-std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Werror=incompatible-function-pointer-types"

# A few well-formed packets give the packet fuzzer a head start. The first byte is
# the harness's (when to report stops, whether to skip acks).
seed_packet() {
    sum=$(printf '%s' "$2" | od -An -v -tu1 | tr -s ' ' '\n' | awk '{ s += $1 } END { printf "%02x", s % 256 }')
    printf '\001$%s#%s' "$2" "$sum" >"$build/corpus-gdb-packets/$1"
}

gdb_packets() {
    mkdir -p "$build/corpus-gdb-packets"
    seed_packet question '?'
    seed_packet supported 'qSupported:multiprocess+;swbreak+;hwbreak+'
    seed_packet registers 'g'
    seed_packet register 'P10=0010400000000000'
    seed_packet memory 'm400000,10'
    seed_packet write 'M401ffe,4:01020304'
    seed_packet continue 'c'
    seed_packet vcont 'vCont;s:1;c'
    seed_packet breakpoint 'Z0,400000,1'
    # What gdb 13 sends for `break hit if i == 500 && counter >= 0` and a dprintf.
    seed_packet condition 'Z0,401622,1;X32,26000622100222ec1608021916202301f41320001821002f24004a62f01916202200140e20002a21002f2201210031220027'
    seed_packet dprintf 'Z0,401649,1;cmds:1,X1e,26000622100222ec1608021916202200220034010007693d25645c6e0027'
    seed_packet xfer 'qXfer:features:read:target.xml:0,ffb'
    seed_packet monitor 'qRcmd,68656c70'
    seed_packet binary 'X400000,2:}]}}'
    # shellcheck disable=SC2046,SC2086
    "$CC" $FUZZ_FLAGS -I"$top" -D_GNU_SOURCE $(pkg-config --cflags glib-2.0) \
        "$top"/tests/fuzz/fuzz_gdb_packets.c "$top"/gdbstub/*.c \
        $(pkg-config --libs glib-2.0) -o "$build/fuzz_gdb_packets"
    run_libfuzzer gdb-packets fuzz_gdb_packets -max_len=4096
}

# Small real ELF files to mutate: static, static-pie, one naming an interpreter, and a
# shared object (as ld.so is), each a few KiB.
seed_elves() {
    corpus=$build/corpus-loader
    mkdir -p "$corpus"
    printf 'void _start(void) { for (;;) ; }\n' >"$build/tiny.c"
    cc -nostdlib -static -s -Wl,--build-id=none -o "$corpus/static" "$build/tiny.c"
    cc -nostdlib -static-pie -s -Wl,--build-id=none -o "$corpus/static-pie" "$build/tiny.c"
    cc -nostdlib -s -Wl,--build-id=none -Wl,-dynamic-linker,/lib64/ld-linux-x86-64.so.2 \
        -o "$corpus/dynamic" "$build/tiny.c"
    cc -nostdlib -shared -fPIC -s -Wl,--build-id=none -Wl,-soname,ld-tiny.so \
        -o "$corpus/shared" "$build/tiny.c"
}

loader() {
    seed_elves
    # shellcheck disable=SC2046,SC2086
    "$CC" $FUZZ_FLAGS -I"$top" -D_GNU_SOURCE $(pkg-config --cflags glib-2.0) \
        "$top"/tests/fuzz/fuzz_loader.c "$top"/loader/*.c "$top"/memory/*.c \
        $(pkg-config --libs glib-2.0) -lelf -o "$build/fuzz_loader"
    run_libfuzzer loader fuzz_loader -max_len=65536 -rss_limit_mb=4096
}

# run_libfuzzer NAME BINARY OPTIONS...: the kept regressions first, then fuzzing.
run_libfuzzer() {
    name=$1 binary=$2
    shift 2
    regressions=$top/tests/fuzz/regressions/$name
    for input in "$regressions"/*; do
        case $input in */README | *"/*") continue ;; esac
        "$build/$binary" "$@" "$input"
    done
    mkdir -p "$build/crashes/$name"
    # libFuzzer exits non-zero on a crash, a leak or a sanitizer report.
    (cd "$build" && "./$binary" -max_total_time="$seconds" -timeout=10 "$@" \
        -artifact_prefix="$build/crashes/$name/" -print_final_stats=1 "corpus-$name")
}

syscalls() {
    "$top"/tests/fuzz/run-syscall-fuzz.sh "$seconds"
}

for target in $targets; do
    echo "== fuzz: $target, $seconds s"
    case $target in
    gdb-packets) gdb_packets ;;
    loader) loader ;;
    syscalls) syscalls ;;
    *) echo "run-fuzz.sh: unknown target $target (gdb-packets, loader, syscalls)" >&2; exit 2 ;;
    esac
done
