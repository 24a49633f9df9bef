# shellcheck shell=bash
# The monitor itself: choosing an accelerator, and guest kernels that misbehave (a
# hostile or broken guest must get one plain line and a non-zero status, never a
# crashed or hung monitor).

MONITOR_HELLO=tests/programs/build/musl/hello

# --accel=auto takes tcg where /dev/kvm cannot be used, and -v says why.
auto_falls_back() {
    local dir=$2 st
    command -v unshare >/dev/null || {
        echo "unshare (util-linux) not installed"
        return 77
    }
    if ! unshare -m sh -c 'mount --bind /dev/null /dev/kvm' 2>/dev/null; then
        echo "cannot bind-mount over /dev/kvm in a mount namespace"
        return 77
    fi
    timeout -k 5 "$TIMEOUT" unshare -m sh -c 'mount --bind /dev/null /dev/kvm && exec "$@"' sh \
        "$HERMITUX_RUN" -v "$MONITOR_HELLO" </dev/null >"$dir/out" 2>"$dir/err"
    st=$?
    if [ "$st" != 0 ] || ! grep -q '^Hello, world!$' "$dir/out"; then
        echo "status $st; stdout: $(head -c 200 "$dir/out")"
        return 1
    fi
    if ! grep -Eq '^hermitux-run: accelerator tcg \(auto: kvm: .+\)$' "$dir/err"; then
        echo "no line saying tcg was chosen and why: $(head -c 300 "$dir/err")"
        return 1
    fi
}
custom accel/auto-falls-back-to-tcg auto_falls_back --accels tcg

# build_kernel DIR NAME 'ASSEMBLY': a guest kernel linked at 0x100000 whose entry runs
# the given instructions.
build_kernel() {
    local dir=$1 name=$2 body=$3
    printf '.globl _start\n_start:\n%s\n' "$body" >"$dir/$name.S"
    gcc -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-Ttext-segment=0x100000 \
        -o "$dir/$name" "$dir/$name.S" 2>"$dir/$name.cc" || {
        echo "cannot build a test kernel: $(head -n 1 "$dir/$name.cc")"
        return 77
    }
}

# bad_kernel ACCEL DIR NAME 'ASSEMBLY' REGEX: hermitux-run with that kernel must print
# one line matching REGEX on stderr, nothing on stdout, and exit with 1.
bad_kernel() {
    local accel=$1 dir=$2 name=$3 body=$4 pattern=$5 st
    build_kernel "$dir" "$name" "$body" || return $?
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" --kernel "$dir/$name" \
        "$MONITOR_HELLO" </dev/null >"$dir/out" 2>"$dir/err"
    st=$?
    if [ "$st" != 1 ] || [ -s "$dir/out" ] || [ "$(wc -l <"$dir/err")" != 1 ] ||
        ! grep -Eq "$pattern" "$dir/err"; then
        echo "status $st (want 1), stdout $(wc -c <"$dir/out") bytes, stderr: $(head -c 300 "$dir/err")"
        return 1
    fi
}

# No IDT at all: on KVM the first exception cannot be delivered (a triple fault). The
# software CPU takes exceptions from its hooks, not the IDT, so it reports the kernel's
# fault itself.
kernel_triple_fault() {
    local accel=$1 dir=$2 st
    if [ "$accel" = kvm ]; then
        bad_kernel "$accel" "$dir" triple 'ud2' '^hermitux-run: triple fault'
        return
    fi
    build_kernel "$dir" triple 'ud2' || return $?
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" --kernel "$dir/triple" \
        "$MONITOR_HELLO" </dev/null >"$dir/out" 2>"$dir/err"
    st=$?
    if [ "$st" != 132 ] || ! grep -Eq '^hermitux-run: fault in the guest kernel, not in the program: illegal instruction at 0x10[0-9a-f]{4} ' "$dir/err"; then
        echo "status $st (want 132), stderr: $(head -c 300 "$dir/err")"
        return 1
    fi
}
# A write to a port the monitor does not serve.
kernel_unknown_port() {
    bad_kernel "$1" "$2" port 'mov $0x1234, %dx
out %al, %dx
hlt' '^hermitux-run: guest out on unknown port 0x1234$'
}
# A read of guest-physical memory beyond RAM (identity-mapped kernel, wild pointer).
kernel_halts() {
    bad_kernel "$1" "$2" halt 'hlt' '^hermitux-run: guest kernel halted$'
}
custom kernel/triple-fault kernel_triple_fault
custom kernel/unknown-port kernel_unknown_port
custom kernel/halt kernel_halts

# The fds the monitor is started with beyond 0-2 are the program's, at the same numbers,
# as if a shell had started the program itself: `3<file`, a process substitution's
# /dev/fd/63, and a pipe whose reader sees EOF once the program closes its end (so the
# monitor keeps no copy), also when that pipe is its stdout. Run by bash, natively and in the VM, and compared.
inherited_fds() {
    local accel=$1 dir=$2 mode
    echo "from fd 3" >"$dir/file"
    for mode in native vm; do
        local run=() ack=$dir/ack-$mode
        [ "$mode" = vm ] && run=("$HERMITUX_RUN" --accel="$accel")
        mkfifo "$ack"
        (
            "${run[@]}" /bin/busybox cat /dev/fd/3 3<"$dir/file"
            "${run[@]}" /bin/busybox cat <(echo "from a process substitution")
            "${run[@]}" /bin/busybox sh -c 'echo "fd 4: $(cat <&4)"' 4<"$dir/file"
            # fd 3 is the only writer of the pipe: its reader answers once it sees EOF
            # (exec: no shell or timeout keeps a copy; the fifo is opened read-write on
            # both sides, so neither waits for ever, and by the program first, so the answer
            # is not lost in a fifo nobody holds).
            { exec "${run[@]}" /bin/busybox sh -c \
                'exec 5<>"$0" 3>&-; read -t 20 answer <&5; echo "the reader saw ${answer:-nothing}"' \
                "$ack" 3>&1 >"$dir/eof-$mode"; } | { cat >/dev/null; echo EOF 1<>"$ack"; }
            cat "$dir/eof-$mode"
            # The same with stdout, which the monitor does not keep either.
            { exec "${run[@]}" /bin/busybox sh -c \
                'exec 5<>"$0" 1>&-; read -t 20 answer <&5; echo "stdout: the reader saw ${answer:-nothing}" >&2' \
                "$ack" 2>"$dir/eof-$mode"; } | { cat >/dev/null; echo EOF 1<>"$ack"; }
            cat "$dir/eof-$mode"
        ) </dev/null >"$dir/$mode.out" 2>&1
        echo "status $?" >>"$dir/$mode.out"
    done
    same_as_native "$dir"
}
custom monitor/inherited-fds inherited_fds

# What the host shows of a program (ps, pidof, /proc/PID of another process): the name
# and, after an execve, the command line are the program's, and its environment is not
# in its command line (which every user can read). Seen from a shell in the VM, which
# reads the host's /proc for its child, and compared with the same script run natively.
host_view() {
    local accel=$1 dir=$2 mode
    local script='SECRET_VALUE=42 /bin/sleep 5 & child=$!
        for i in $(seq 100); do [ "$(cat /proc/$child/comm)" = sleep ] && break; sleep 0.1; done
        echo "comm: $(cat /proc/$child/comm)"
        echo "cmdline: $(tr "\0" " " </proc/$child/cmdline | sed "s/ *$//")"
        grep -c SECRET_VALUE /proc/$child/cmdline
        kill $child'
    for mode in native vm; do
        local run=()
        [ "$mode" = vm ] && run=("$HERMITUX_RUN" --accel="$accel")
        timeout -k 5 "$TIMEOUT" "${run[@]}" /bin/busybox sh -c "$script" </dev/null \
            >"$dir/$mode.out" 2>&1
        echo "status $?" >>"$dir/$mode.out"
    done
    same_as_native "$dir"
}
custom monitor/host-view host_view

# A guest execve hands what KVM told the first monitor about the host's CPUID to the next
# (--exec-accel-fd) instead of its asking again (0.27 ms on PVM): one
# KVM_GET_SUPPORTED_CPUID for a program that forks and execs three times, and the execed
# programs see the same CPU as the first one (x86_isa's view of cpuid, as natively).
exec_carries_cpuid() {
    local accel=$1 dir=$2
    command -v strace >/dev/null || { echo "SKIP: no strace"; return 77; }
    local programs=$PWD/tests/programs/build/glibc
    strace -f -qq -e trace=ioctl -o "$dir/trace" "$HERMITUX_RUN" --accel=kvm \
        "$programs/fork_loop" 3 "$programs/hello" >"$dir/out" 2>&1 || return 1
    local asked
    asked=$(grep -c KVM_GET_SUPPORTED_CPUID "$dir/trace")
    if [ "$asked" != 1 ]; then
        echo "KVM_GET_SUPPORTED_CPUID asked $asked times (expected once)"
        return 1
    fi
    "$programs/x86_isa" >"$dir/native" 2>&1
    "$HERMITUX_RUN" --accel=kvm /bin/busybox sh -c "exec $programs/x86_isa" >"$dir/vm" 2>&1
    "$HERMITUX_RUN" --accel=kvm "$programs/x86_isa" >"$dir/first" 2>&1
    if ! cmp -s "$dir/first" "$dir/vm"; then
        echo "the execed program sees another CPU: $(diff "$dir/first" "$dir/vm" | head -n 4)"
        return 1
    fi
}
custom monitor/exec-carries-cpuid exec_carries_cpuid --accels kvm
