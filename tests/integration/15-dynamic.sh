# Dynamically linked programs: the host's own (/usr/bin), and test programs built
# dynamically with glibc and musl (tests/programs/build/{glibc,musl}-dynamic, cases
# glibc-dynamic/NAME and musl-dynamic/NAME). Each is
# compared with a native run. Sourced by tests/run-tests.sh; see its header for the case
# syntax.

make_dynamic_fixtures() {
    local tree=$1/tree
    mkdir -p "$tree/a/b" "$tree/c"
    printf 'hello\n' >"$tree/a/x.txt"
    printf 'foo bar\nbaz\n' >"$tree/a/b/y.txt"
    printf 'zeta\nalpha\nfoo 3\nbeta\n' >"$tree/c/z.txt"
    touch -d '2020-01-02 03:04:05' "$tree/a/x.txt" "$tree/a/b/y.txt" "$tree/c/z.txt"
}
FIXTURE_MAKERS+=(make_dynamic_fixtures)

# tar cf (and czf, which runs gzip as a child) under hermitux-run makes the archive native
# tar makes; tar xf (xzf) under hermitux-run gives the tree back.
tar_roundtrip() {
    local accel=$1 dir=$2 run=("$HERMITUX_RUN" --accel="$1") mode
    tar -C "$FIX" -cf "$dir/native.tar" tree || { echo "native tar failed"; return 1; }
    for mode in f zf; do
        mkdir -p "$dir/x-$mode"
        "${run[@]}" /usr/bin/tar -C "$FIX" -c$mode "$dir/vm.$mode" tree >"$dir/out" 2>&1 ||
            { echo "tar c$mode failed: $(head -n 1 "$dir/out")"; return 1; }
        if [ $mode = zf ]; then gzip -dc "$dir/vm.$mode"; else cat "$dir/vm.$mode"; fi |
            cmp -s "$dir/native.tar" - || { echo "the c$mode archive differs"; return 1; }
        "${run[@]}" /usr/bin/tar -C "$dir/x-$mode" -x$mode "$dir/vm.$mode" >"$dir/out" 2>&1 ||
            { echo "tar x$mode failed: $(head -n 1 "$dir/out")"; return 1; }
        diff -r "$FIX/tree" "$dir/x-$mode/tree" >"$dir/out" 2>&1 ||
            { echo "the tree extracted by x$mode differs"; return 1; }
    done
    echo "archives identical (plain and through gzip), tree restored"
}

# A library an LD_PRELOAD loads: its constructor says so, once per process it is loaded in.
make_preload_library() {
    local fix=$1
    printf '%s\n' '#include <unistd.h>' \
        '__attribute__((constructor)) static void loaded(void)' \
        '{ (void)!write(2, "preload: constructor\n", 21); }' >"$fix/preload.c"
    gcc -shared -fPIC -o "$fix/preload.so" "$fix/preload.c"
}
FIXTURE_MAKERS+=(make_preload_library)

# Variables for the program's ld.so and C library, in hermitux-run's own environment (as
# a user sets them, not -E), act on the program only and reach it as given: an
# LD_PRELOAD'd library is loaded into the program (its constructor runs once: it ran in
# the monitor too, twice), LD_DEBUG traces the program's libraries only (it traced the
# monitor's too), and the program's environ has every entry, in order.
loader_variables() {
    local accel=$1 dir=$2 hello=$ROOT/tests/programs/build/glibc-dynamic/hello mode
    rm -f "$dir/native.all" "$dir/vm.all"
    collect() {
        for mode in native vm; do
            sed 's/^ *[0-9][0-9]*:/PID:/' "$dir/$mode.out" >>"$dir/$mode.all"
        done
    }
    run_native_and_vm "$accel" "$dir" "$hello" env LD_PRELOAD="$FIX/preload.so"
    collect
    run_native_and_vm "$accel" "$dir" "$hello" env LD_DEBUG=libs
    collect
    run_native_and_vm "$accel" "$dir" /usr/bin/env env -i A=1 LD_PRELOAD="$FIX/preload.so" \
        MALLOC_PERTURB_=42 G_SLICE=debug-blocks GLIBC_TUNABLES=glibc.malloc.check=0 \
        HERMITUX_PROGRAM_ENV=renamed LD_LIBRARY_PATH=/nonexistent Z=2
    collect
    mv "$dir/native.all" "$dir/native.out"
    mv "$dir/vm.all" "$dir/vm.out"
    same_as_native "$dir"
}
custom dynamic/loader-variables loader_variables

PROGRAM_BUILDS="glibc-dynamic musl-dynamic"
program hello -- hello
program dynamic_info -- dynamic_info
program files --tmpdir -- files @TMP@
# (musl's malloc_heavy takes most of a minute under tcg already statically.)
compare glibc-dynamic/malloc_heavy -- tests/programs/build/glibc-dynamic/malloc_heavy
program tls -- tls
program mmap_big --tmpdir -- mmap_big @TMP@
# File mappings (MAP_SHARED writes reaching the file...), static and dynamic.
PROGRAM_BUILDS="musl glibc"
program mmap_files --tmpdir -- mmap_files @TMP@
PROGRAM_BUILDS="glibc-dynamic musl-dynamic"
program mmap_files --tmpdir -- mmap_files @TMP@
unset PROGRAM_BUILDS
# /proc/self/maps names the files mapped (the program, the C library) with their offsets and
# inodes, .bss apart, written data anonymous in smaps: static and dynamic.
PROGRAM_BUILDS="musl glibc glibc-dynamic musl-dynamic"
program maps_files -- maps_files
unset PROGRAM_BUILDS

# The host's programs (Debian's, glibc, PIE or not).
compare dynamic/host/true -- /bin/true
compare dynamic/host/false --status 1 -- /bin/false
compare dynamic/host/ls-R -- /bin/ls -R @FIX@/tree
compare dynamic/host/ls-l -- /bin/ls -l --time-style=+%F_%T @FIX@/tree/a @FIX@/tree/c
compare dynamic/host/ls-la-path --env PATH=/usr/bin:/bin -- ls -la --time-style=+%F_%T @FIX@/tree/c
compare dynamic/host/sort -- /usr/bin/sort @FIX@/tree/c/z.txt
compare dynamic/host/sort-stdin --stdin @DATA@/words.txt -- /usr/bin/sort -r
compare dynamic/host/grep-r -- /usr/bin/grep -r -n foo @FIX@/tree
compare dynamic/host/sed -- /usr/bin/sed -e 's/o/0/g' -e '2d' @FIX@/tree/a/b/y.txt
compare dynamic/host/find -- /usr/bin/find @FIX@/tree -name "*.txt" -o -type d -name b
compare dynamic/host/sha256sum -- /usr/bin/sha256sum @FIX@/tree/a/x.txt @DATA@/lorem.txt
custom dynamic/host/tar-roundtrip tar_roundtrip
compare dynamic/host/date --env TZ=America/New_York -- /usr/bin/date -d '2020-01-02 03:04:05 UTC' '+%F %T %Z %s'
compare dynamic/host/id -- /usr/bin/id
# The affinity taskset sets is the one nproc, which it execs, reads (CPU 0 allowed).
compare dynamic/host/taskset-nproc -- /usr/bin/taskset -c 0 /usr/bin/nproc
compare dynamic/host/perl -- /usr/bin/perl -e 'my %h = (b => 2, a => 1); print join(",", map { "$_=$h{$_}" } sort keys %h), "\n"; printf "%.3f\n", atan2(1, 1) * 4'
compare dynamic/host/python3 -- /usr/bin/python3 -c '
import hashlib, json, re
class Point:
    def __init__(self, x, y): self.x, self.y = x, y
    def __repr__(self): return f"Point({self.x}, {self.y})"
data = json.loads("{\"b\": [1, 2, 3], \"a\": \"x\"}")
print(json.dumps(data, sort_keys=True), re.findall(r"\d+", "a1b22c333"))
print(hashlib.sha256(b"hermitux").hexdigest(), sorted([Point(2, 1), Point(1, 2)], key=lambda p: p.x))'
# 800 MB at the default memory size, touched.
compare dynamic/host/python3-800M -- /usr/bin/python3 -c '
b = bytearray(800 * 1024 * 1024)
b[::4096] = b"\1" * (len(b) // 4096)
print(len(b), sum(b[::4096]))'
# The interpreter run as the program, loading the program itself.
compare dynamic/ld.so-true -- /lib64/ld-linux-x86-64.so.2 /bin/true
compare dynamic/ld.so-echo -- /lib64/ld-linux-x86-64.so.2 /bin/echo via the loader
compare dynamic/ld.so-python3 -- /lib64/ld-linux-x86-64.so.2 /usr/bin/python3 -c 'print(6 * 7)'
# PATH lookup of a name without a slash.
compare dynamic/path-lookup --env PATH=/nonexistent:/usr/bin:/bin -- echo found along PATH

# gdb and lldb on dynamic programs: tests/integration/40-gdb.sh (gdb/*-dynamic/...).
