# shellcheck shell=bash
# shellcheck disable=SC2016 # gdb expressions in single quotes
# ymm registers under gdb (the stub's org.gnu.gdb.i386.avx feature), compared with
# gdbserver running the same program natively: at the SIGUSR1 stop of
# `xstate_signal avx` ymm0-15 hold known values; ymm3 is edited there (it reaches the
# signal frame, so the program then reports its frame and return checks FAILED, natively
# too); in the handler the registers read as the handler clobbered them.
# Uses start_monitor, finish_monitor, gdbserver_session and have_gdb from 40-gdb.sh. kvm only: on tcg the
# program runs without AVX (accel/tcg.c).

gdb_avx_script=(-ex "continue" -ex "info registers ymm0 ymm15" -ex 'p $ymm7.v8_int32'
    -ex 'set var $ymm3.v8_int32[7] = 0x12345678' -ex "break handler_done" -ex "continue"
    -ex 'p/x $ymm5.v8_int32' -ex 'p/x $ymm3h' -ex "continue")

gdb_avx_vs_gdbserver() {
    local accel=$1 dir=$2 libc=$3 program=tests/programs/build/$3/xstate_signal port
    have_gdb || return 77
    command -v gdbserver >/dev/null || {
        echo "gdbserver not installed"
        return 77
    }
    grep -qw avx /proc/cpuinfo || {
        echo "the host CPU has no AVX"
        return 77
    }
    start_monitor "$dir" --accel="$accel" -S "$program" avx
    timeout -k 5 "$TIMEOUT" gdb -batch -nx -ex "set pagination off" -ex "file $program" \
        -ex "target remote $dir/gdb.sock" "${gdb_avx_script[@]}" >"$dir/gdb.out" 2>&1
    finish_monitor "$dir"
    GDBSERVER_ARGS=avx gdbserver_session "$dir" "$program" -ex "set pagination off" \
        "${gdb_avx_script[@]}"
    local filter='^(ymm[0-9]+ |\$[0-9]+ |\[Inferior 1 \(process [0-9]+\) exited)'
    # gdbserver 13 on Linux 6.18 with AMX in XCR0 (seen on Sapphire Rapids) does not get
    # the edit of ymm3 into the program (its XSAVE regset write does not take): the
    # program then finds its frame intact and exits 0. The registers read are still
    # compared; the edit's effect is checked against what the script did instead.
    local edit_reached=1
    grep -q 'the AVX area holds the upper halves: FAILED' "$dir/native.out" || edit_reached=0
    [ "$edit_reached" = 1 ] || filter='^(ymm[0-9]+ |\$[0-9]+ )'
    grep -E "$filter" "$dir/gdb.out" | sed -E 's/process [0-9]+/process N/' >"$dir/vm.regs"
    grep -E "$filter" "$dir/native.out" | sed -E 's/process [0-9]+/process N/' \
        >"$dir/native.regs"
    if [ "$(wc -l <"$dir/vm.regs")" -lt 5 ] || ! diff -u "$dir/native.regs" "$dir/vm.regs" \
        >"$dir/diff"; then
        echo "gdb differs from gdbserver: $(tr '\n' '|' <"$dir/diff" | cut -c1-400)"
        return 1
    fi
    if [ "$edit_reached" = 0 ]; then
        grep -q 'the AVX area holds the upper halves: FAILED' "$dir/out" &&
            grep -q 'ymm15 as edited in the frame: FAILED' "$dir/out" &&
            grep -q 'exited with code 01' "$dir/gdb.out" && return 0
        echo "gdb's edit of ymm3 did not reach the program: $(tr '\n' '|' <"$dir/out" | cut -c1-300)"
        return 1
    fi
    # gdbserver's own lines aside, its output is the program's.
    grep -Ev '^(Process|Listening|Remote|Detaching|Child exited|Killing|$)' "$dir/gdbserver.out" \
        >"$dir/native.program.out"
    if ! diff -u "$dir/native.program.out" "$dir/out" >"$dir/diff"; then
        echo "the program's output differs: $(tr '\n' '|' <"$dir/diff" | cut -c1-400)"
        return 1
    fi
}

for libc in musl glibc; do
    custom "gdb/$libc/avx-registers" gdb_avx_vs_gdbserver --accels kvm "$libc"
done

# The vector registers in the core file of a fault (`xstate_signal fault` loads them, then
# stores to address 0): xmm1 on both accelerators, and on kvm ymm10 whole from the
# NT_X86_XSTATE note.
core_vector_registers() {
    local accel=$1 dir=$2 libc=$3 program=tests/programs/build/$3/xstate_signal
    have_gdb || return 77
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" --core "$dir/core" "$program" \
        fault </dev/null >"$dir/out" 2>"$dir/err"
    timeout -k 5 "$TIMEOUT" gdb -nx -batch -ex 'p/x $xmm1.uint128' -ex 'p/x $ymm10.v8_int32' \
        "$program" "$dir/core" >"$dir/gdb" 2>&1
    expect "$dir" gdb '^\$1 = 0x302f2e2d2c2b2a292827262524232221$' || return 1
    if [ "$accel" = kvm ] && grep -qw avx /proc/cpuinfo; then
        expect "$dir" gdb '^\$2 = \{0x44434241, 0x48474645, 0x4c4b4a49, 0x504f4e4d, 0x54535251, 0x58575655, 0x5c5b5a59, 0x605f5e5d\}$' ||
            return 1
    fi
}

for libc in musl glibc; do
    custom "$libc/core-vector-registers" core_vector_registers "$libc"
done

# AVX-512 in the core (kvm, AVX-512 hosts): `xstate_signal fault512` loads zmm0-31 and
# k1-7 and faults; gdb reads k1, zmm5 and zmm31 back from the core. The NT_X86_XSTATE note
# is written in the layout gdb's reader knows (report/core.c: an AMD CPU's own layout,
# which Linux writes there, leaves gdb 13 without even ymm's upper halves).
core_avx512_registers() {
    local accel=$1 dir=$2 libc=$3 program=tests/programs/build/$3/xstate_signal
    have_gdb || return 77
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" --core "$dir/core" "$program" \
        fault512 </dev/null >"$dir/out" 2>"$dir/err"
    if grep -q '^skip:' "$dir/out"; then
        head -1 "$dir/out"
        return 77
    fi
    timeout -k 5 "$TIMEOUT" gdb -nx -batch -ex 'p/x $k1' -ex 'p/x $zmm5.v16_int32' \
        -ex 'p/x $zmm31.v16_int32' "$program" "$dir/core" 2>&1 | grep '^\$' >"$dir/gdb"
    # The program's patterns: byte b of zmm r is r*7 + b*3 + 1, k is 0x1111*k + 0x0f0f.
    python3 -c '
def zmm(r):
    b = [(r * 7 + i * 3 + 1) & 0xff for i in range(64)]
    words = [b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24 for i in range(0, 64, 4)]
    return "{" + ", ".join(hex(w) for w in words) + "}"
print("$1 = 0x2020")
print("$2 = " + zmm(5))
print("$3 = " + zmm(31))' >"$dir/expected"
    if ! diff -u "$dir/expected" "$dir/gdb" >"$dir/diff"; then
        echo "gdb on the core: $(tr '\n' '|' <"$dir/diff" | cut -c1-400)"
        return 1
    fi
}

for libc in musl glibc; do
    custom "$libc/core-avx512-registers" core_avx512_registers --accels kvm "$libc"
done

# AVX-512 registers under gdb (the stub's org.gnu.gdb.i386.avx512 feature; kvm, AVX-512
# hosts): `xstate_signal int3-512` stops at an int3 with zmm0-31 and k1-7 loaded; gdb reads
# k1, k7, zmm5, zmm31 and ymm20 there, writes zmm7's last word, k2 and ymm20's upper half,
# and the program prints what changed. Checked against the program's known patterns, not
# gdbserver: natively gdb 13 reads AVX-512 state at Intel's XSAVE offsets, wrong on AMD.
gdb_avx512_registers() {
    local accel=$1 dir=$2 libc=$3 program=tests/programs/build/$3/xstate_signal
    have_gdb || return 77
    grep -qw avx512f /proc/cpuinfo || {
        echo "the host CPU has no AVX-512"
        return 77
    }
    start_monitor "$dir" --accel="$accel" -S "$program" int3-512
    timeout -k 5 "$TIMEOUT" gdb -batch -nx -ex "set pagination off" -ex "file $program" \
        -ex "target remote $dir/gdb.sock" -ex "continue" -ex 'p/x $k1' -ex 'p/x $k7' \
        -ex 'p/x $zmm5.v16_int32' -ex 'p/x $zmm31.v16_int32' -ex 'p/x $ymm20.v8_int32' \
        -ex 'set var $zmm7.v16_int32[15] = 0x12345678' -ex 'set var $k2 = 0xabcd' \
        -ex 'set var $ymm20.v8_int32[7] = 0x7eadbeef' -ex 'p/x $zmm7.v16_int32[15]' \
        -ex 'p/x $k2' -ex "continue" >"$dir/gdb.out" 2>&1
    finish_monitor "$dir"
    if grep -q '^skip:' "$dir/out"; then
        head -1 "$dir/out"
        return 77
    fi
    grep '^\$' "$dir/gdb.out" >"$dir/gdb"
    # The program's patterns: byte b of zmm r is r*7 + b*3 + 1, k is 0x1111*k + 0x0f0f.
    python3 -c '
def words(r, count):
    b = [(r * 7 + i * 3 + 1) & 0xff for i in range(4 * count)]
    w = [b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24 for i in range(0, 4 * count, 4)]
    return "{" + ", ".join(hex(x) for x in w) + "}"
print("$1 = 0x2020")
print("$2 = 0x8686")
print("$3 = " + words(5, 16))
print("$4 = " + words(31, 16))
print("$5 = " + words(20, 8))
print("$6 = 0x12345678")
print("$7 = 0xabcd")' >"$dir/expected"
    if ! diff -u "$dir/expected" "$dir/gdb" >"$dir/diff"; then
        echo "gdb's AVX-512 registers: $(tr '\n' '|' <"$dir/diff" | cut -c1-400)"
        return 1
    fi
    printf '%s\n' 'zmm7[15] = 0x12345678' 'zmm20[7] = 0x7eadbeef' 'k2 = 0xabcd' '3 changed' \
        >"$dir/expected.out"
    if ! diff -u "$dir/expected.out" "$dir/out" >"$dir/diff"; then
        echo "the program saw: $(tr '\n' '|' <"$dir/diff" | cut -c1-400)"
        return 1
    fi
    expect_status "$dir" 0
}

for libc in musl glibc; do
    custom "gdb/$libc/avx512-registers" gdb_avx512_registers --accels kvm "$libc"
done

# The same stop under lldb, which takes the registers by their description's names (it
# builds no zmm of its own): k1 and zmm5h read, k2 and zmm7h written.
lldb_avx512_registers() {
    local accel=$1 dir=$2 libc=$3 program=tests/programs/build/$3/xstate_signal port
    command -v lldb >/dev/null || {
        echo "lldb not installed"
        return 77
    }
    grep -qw avx512f /proc/cpuinfo || {
        echo "the host CPU has no AVX-512"
        return 77
    }
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" --gdb tcp::0 -S "$program" int3-512 \
        </dev/null >"$dir/out" 2>"$dir/err" &
    # shellcheck disable=SC2034 # finish_monitor (40-gdb.sh) waits for it
    MONITOR_PID=$!
    for _ in $(seq 100); do
        port=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$dir/err")
        [ -n "$port" ] && break
        sleep 0.05
    done
    local zmm7h
    zmm7h="{$(printf '0x%02x ' $(seq 32) | sed 's/ $//')}"
    # The int3's SIGTRAP ends lldb's batch commands (-o); -k ones run at such a stop.
    timeout -k 5 "$TIMEOUT" lldb --batch -o "target create $program" -o "gdb-remote $port" \
        -o "continue" -k "register read k1 zmm5h" -k "register write k2 0x1234" \
        -k "register write zmm7h '$zmm7h'" -k "continue" >"$dir/lldb.out" 2>&1
    finish_monitor "$dir"
    if grep -q '^skip:' "$dir/out"; then
        head -1 "$dir/out"
        return 77
    fi
    local zmm5h
    zmm5h=$(python3 -c 'print(" ".join("0x%02x" % ((5 * 7 + b * 3 + 1) & 0xff) for b in range(32, 64)))')
    expect "$dir" lldb.out '^ +k1 = 0x0000000000002020$' "^ +zmm5h = \\{$zmm5h\\}$" \
        'exited with status = 0' || return 1
    # zmm7h's bytes 1..32 are words 8-15 of zmm7.
    printf '%s\n' 'zmm7[8] = 0x04030201' 'zmm7[9] = 0x08070605' 'zmm7[10] = 0x0c0b0a09' \
        'zmm7[11] = 0x100f0e0d' 'zmm7[12] = 0x14131211' 'zmm7[13] = 0x18171615' \
        'zmm7[14] = 0x1c1b1a19' 'zmm7[15] = 0x201f1e1d' 'k2 = 0x1234' '9 changed' \
        >"$dir/expected.out"
    if ! diff -u "$dir/expected.out" "$dir/out" >"$dir/diff"; then
        echo "the program saw: $(tr '\n' '|' <"$dir/diff" | cut -c1-400)"
        return 1
    fi
}

custom lldb/glibc/avx512-registers lldb_avx512_registers --accels kvm glibc
