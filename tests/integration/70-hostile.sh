# shellcheck shell=bash
# A program trying to reach the monitor: its /proc, its fds, its working directory.
# Each case runs the same program natively and in the VM where Linux's answer is
# defined, or checks the monitor's own files stayed its own (docs/SECURITY.md).

program proc_self --tmpdir -- proc_self @TMP@
program proc_self-clear-env --tmpdir --clear-env --env ONLY=this -- proc_self @TMP@

HOSTILE_PROC=tests/programs/build/musl/proc_self

# Started with fds 0-2 closed, the program must find them closed too, never
# /dev/kvm or the VM's fds in their place.
closed_standard_fds() {
    local accel=$1 dir=$2 st
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" tests/programs/build/musl/stdin_echo \
        <&- >"$dir/out" 2>"$dir/err"
    st=$?
    # stdin_echo reads fd 0: closed, the read fails with EBADF and it says so.
    if grep -qi kvm "$dir/out" "$dir/err"; then
        echo "the program reached a KVM fd: $(head -c 300 "$dir/err")"
        return 1
    fi
    if ! grep -q 'Bad file descriptor' "$dir/err"; then
        echo "status $st; fd 0 was not closed for the program: $(head -c 300 "$dir/err")"
        return 1
    fi
}
custom hostile/closed-stdin closed_standard_fds

# The program's chdir is its own: a relative --core lands where the monitor was
# started, not in the directory the program moved to.
core_after_chdir() {
    local accel=$1 dir=$2 st run program
    run=$(realpath "$HERMITUX_RUN") program=$(realpath tests/programs/build/musl/chdir_fault)
    mkdir -p "$dir/start" "$dir/elsewhere"
    (cd "$dir/start" && timeout -k 5 "$TIMEOUT" "$run" "--accel=$accel" --core core.x \
        "$program" "$dir/elsewhere" </dev/null >"$dir/out" 2>"$dir/err")
    st=$?
    if [ "$st" != 139 ] || [ ! -s "$dir/start/core.x" ] || [ -e "$dir/elsewhere/core.x" ]; then
        echo "status $st; core in start: $(ls "$dir/start"); elsewhere: $(ls "$dir/elsewhere")"
        return 1
    fi
    # The program's umask 0777 is not the monitor's: the core is readable by its owner.
    if [ "$(stat -c %a "$dir/start/core.x")" != 600 ]; then
        echo "core file mode $(stat -c %a "$dir/start/core.x"), not 600"
        return 1
    fi
    if ! grep -q "core.x" "$dir/err"; then
        echo "no hint naming the core file: $(head -c 300 "$dir/err")"
        return 1
    fi
}
custom hostile/core-after-chdir core_after_chdir

# Monitor options checked before anything is built: one line, exit 2.
bad_input gdb-bad-spec -- --gdb tcp:nowhere tests/programs/build/musl/hello
bad_input gdb-bad-port -- --gdb tcp::99999 tests/programs/build/musl/hello
bad_input timeout-too-long -- --timeout 1e12 tests/programs/build/musl/hello

# The program's cwd is its own, and its children and exec'd programs inherit it.
compare hostile/cwd-fork-exec -- /bin/busybox sh -c \
    'cd /tmp && /bin/busybox pwd && (cd / && /bin/busybox pwd) && /bin/busybox pwd && cd /usr && exec /bin/busybox pwd'

# The rest of the file interface (issue 10): openat2, close_range, memfd_create, utimes, xattrs.
program file_calls --tmpdir -- file_calls @TMP@
program proc_threads -- proc_threads
# Each task/TID directory and thread-self describe their own thread; a comm write names it.
program proc_tasks -- proc_tasks

# Every access to the doorbell page (the page the syscall entry writes to leave
# the VM) but the entry's own ring is the program's page fault, as natively where
# nothing is mapped there: killed by SIGSEGV, or a handler gets SEGV_MAPERR at the
# address with rip at the instruction and the program goes on.
for attack in read write stub-copy rmw sse-store string-read; do
    program "hostile_cpu-doorbell-$attack" --status 139 --no-stderr -- hostile_cpu "doorbell-$attack"
    program "hostile_cpu-caught-doorbell-$attack" -- hostile_cpu "caught-doorbell-$attack"
done
# fxsave's si_addr is the last byte natively: only the signal is compared. Unicorn
# has no AVX nor xsave (SIGILL): kvm only.
program hostile_cpu-doorbell-fxsave --status 139 --no-stderr -- hostile_cpu doorbell-fxsave
# Unicorn's clflush never faults: kvm only.
program hostile_cpu-caught-doorbell-clflush --accels kvm -- hostile_cpu caught-doorbell-clflush
program hostile_cpu-caught-doorbell-avx-store --accels kvm -- hostile_cpu caught-doorbell-avx-store
program hostile_cpu-caught-doorbell-xsave --accels kvm -- hostile_cpu caught-doorbell-xsave
# Privileged instructions at CPL3: SIGSEGV (SI_KERNEL), never acted on.
for attack in port-out port-in hlt cli int-0x81; do
    program "hostile_cpu-caught-$attack" -- hostile_cpu "caught-$attack"
done

# Symlinks into /proc/self, /dev/fd and /proc/PID probed with stat, lstat,
# readlink, access, getxattr and statfs: none reaches the monitor's own fds.
program hostile_paths --tmpdir -- hostile_paths @TMP@

# --root DIR: a tree with a static busybox and root_escape; the program sees the
# tree as / whatever path it takes (.., absolute and relative symlinks, dirfds,
# chdir past the root, /proc/self/root, cwd and fd links, execve, PATH lookup).
make_root_tree() {
    local tree=$1
    mkdir -p "$tree/bin" "$tree/etc" "$tree/sub/dir" "$tree/tmp"
    cp /bin/busybox tests/programs/build/musl/root_escape "$tree/bin/"
    ln -s busybox "$tree/bin/sh"
    ln -s busybox "$tree/bin/cat"
    echo inside >"$tree/etc/hostname"
    echo inside-passwd >"$tree/etc/passwd"
    ln -s /etc/hostname "$tree/sub/abs"
    ln -s ../../../../../etc/hostname "$tree/sub/rel"
}
root_escape_case() {
    local accel=$1 dir=$2 tree=$2/tree st
    make_root_tree "$tree"
    # Natively the same program in a chroot (root only), compared line by line.
    if [ "$(id -u)" = 0 ] && chroot "$tree" /bin/root_escape >"$dir/native" 2>&1; then
        timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" --root "$tree" /bin/root_escape \
            >"$dir/out" 2>&1
        if ! diff -u "$dir/native" "$dir/out" >"$dir/diff"; then
            echo "differs from chroot: $(head -c 600 "$dir/diff")"
            return 1
        fi
    fi
    # Through /proc (a chroot has none): inside, as in a container with /proc mounted;
    # never the host's file, and ".." after a link climbs from where it leads.
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" --root "$tree" /bin/root_escape proc \
        >"$dir/proc" 2>&1
    st=$?
    local host_name
    host_name=$(cat /etc/hostname 2>/dev/null)
    if [ "$st" != 0 ] || ! grep -q '^/proc/self/root/etc/hostname *inside$' "$dir/proc" ||
        grep -v '^readlink ' "$dir/proc" | grep -qv ' inside$' ||
        ! grep -q '^readlink /proc/self/cwd *\/sub$' "$dir/proc" ||
        ! grep -q '^readlink /proc/self/exe *\/bin\/root_escape$' "$dir/proc" ||
        { [ -n "$host_name" ] && grep -qx ".* $host_name" "$dir/proc"; }; then
        echo "status $st; through /proc: $(head -c 600 "$dir/proc")"
        return 1
    fi
    # A shell found along PATH inside the tree, exec'ing inside it.
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" --root "$tree" sh -c \
        'cd /sub && cat ../../../etc/hostname && exec /bin/root_escape | cat /../../etc/hostname -' \
        >"$dir/shell" 2>&1
    if [ "$(head -2 "$dir/shell" | tr '\n' ' ')" != "inside inside " ]; then
        echo "shell in the root: $(head -c 300 "$dir/shell")"
        return 1
    fi
}
custom hostile/root-escape root_escape_case

# Under --root every open walks with openat2's RESOLVE_IN_ROOT, which the host refuses
# with EAGAIN when a rename anywhere on it races with a walk through "..": a busy host
# made `cat /../../etc/hostname` fail now and then (CI). With another process renaming
# in a loop, 3000 opens through ".." must all succeed (about 1 in 30 failed before).
root_walk_renames_case() {
    local accel=$1 dir=$2 tree=$2/tree renamer
    make_root_tree "$tree"
    command -v cc >/dev/null || { echo "SKIP: no C compiler for the renamer"; return 77; }
    printf '%s\n' '#include <stdio.h>' \
        'int main(int c, char **v) { FILE *f = fopen(v[1], "w"); if (!f) return 1; fclose(f);' \
        '  for (;;) { rename(v[1], v[2]); rename(v[2], v[1]); } }' >"$dir/renamer.c"
    cc -O2 -o "$dir/renamer" "$dir/renamer.c" || return 1
    "$dir/renamer" "$dir/a" "$dir/b" &
    renamer=$!
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" --root "$tree" sh -c \
        'n=0; for i in $(seq 3000); do { read x </../../etc/hostname; } 2>/dev/null && [ "$x" = inside ] || n=$((n + 1)); done; echo "failed: $n"' \
        >"$dir/out" 2>&1
    kill "$renamer"
    wait "$renamer" 2>/dev/null
    if [ "$(cat "$dir/out")" != "failed: 0" ]; then
        echo "opens through .. under --root while another process renames: $(head -c 200 "$dir/out")"
        return 1
    fi
}
custom hostile/root-walk-renames root_walk_renames_case

# AF_UNIX names under --root are the program's (/work/...), as in a chroot, not the host
# paths the monitor bound.
root_unix_names_case() {
    local accel=$1 dir=$2 tree=$2/tree
    mkdir -p "$tree/bin" "$tree/work"
    cp tests/programs/build/glibc/unix_names "$tree/bin/"
    if [ "$(id -u)" = 0 ]; then
        chroot "$tree" /bin/unix_names /work >"$dir/native" 2>&1
    else # the same names, as the program would see them in its root
        tests/programs/build/glibc/unix_names "$tree/work" 2>&1 | sed "s|$tree||" >"$dir/native"
    fi
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" --root "$tree" /bin/unix_names \
        /work >"$dir/out" 2>&1
    if ! grep -q '^recvmsg.s sender: "/work/dgram-client"' "$dir/native" ||
        ! diff -u "$dir/native" "$dir/out" >"$dir/diff"; then
        echo "differs from native: $(head -c 600 "$dir/diff")"
        return 1
    fi
}
custom hostile/root-unix-names root_unix_names_case

# PT_INTERP is looked up inside the root: a dynamic program in a tree without
# its interpreter fails with one line, even though the host has one.
root_interpreter_case() {
    local accel=$1 dir=$2 st
    mkdir -p "$dir/tree/bin"
    cp tests/programs/build/musl-dynamic/hello "$dir/tree/bin/"
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" --root "$dir/tree" /bin/hello \
        >"$dir/out" 2>"$dir/err"
    st=$?
    if [ "$st" = 0 ] || [ "$(wc -l <"$dir/err")" != 1 ] || ! grep -q 'interpreter' "$dir/err"; then
        echo "without its interpreter: status $st, $(head -c 300 "$dir/err")"
        return 1
    fi
    mkdir -p "$dir/tree/lib"
    cp "$(readlink -f /lib/ld-musl-x86_64.so.1)" "$dir/tree/lib/ld-musl-x86_64.so.1"
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" --root "$dir/tree" /bin/hello \
        >"$dir/out" 2>"$dir/err"
    st=$?
    if [ "$st" != 0 ] || ! grep -q 'Hello' "$dir/out"; then
        echo "with its interpreter in the tree: status $st, $(head -c 300 "$dir/err")"
        return 1
    fi
}
custom hostile/root-interpreter root_interpreter_case

bad_input root-missing -- --root /nonexistent/tree tests/programs/build/musl/hello
bad_input root-not-a-directory -- --root /etc/hostname tests/programs/build/musl/hello
bad_input root-program-missing -- --root tests/data /bin/no-such-program

# The strict (allow-list) sandbox is the default, so every case runs under it; the deny
# list (--sandbox=deny): a shell with pipes, subshells, files and exec works under it as
# natively.
compare hostile/deny-sandbox --opt --sandbox=deny --tmpdir -- /bin/busybox sh -c \
    'cd @TMP@ && echo one >f && cat f | wc -l && (ls; sort f) | head -3 && exec /bin/busybox true'

# The monitor's /proc server (linux/peer.c) is reachable by any process of the user,
# the program's own included (its sockets are host sockets): malformed, oversized and
# out-of-range requests, fds sent along and a client that never speaks get an error or
# nothing, never a crash or a hang, and never anything outside the program's view. The
# replies are compared with tests/data/peer-hostile.expected.
peer_server_hostile() {
    local accel=$1 dir=$2 pid
    command -v python3 >/dev/null || {
        echo "python3 not installed"
        return 77
    }
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" /bin/sleep 100 \
        >"$dir/out" 2>"$dir/err" &
    local runner=$!
    for _ in $(seq 300); do
        pid=$(pgrep -P "$runner" | head -n 1)
        [ -n "$pid" ] && grep -q "@hermitux-run/proc/$pid\$" /proc/net/unix && break
        sleep 0.1
    done
    timeout -k 5 60 python3 "$DATA/scripts/peer-hostile.py" "$pid" >"$dir/replies" 2>&1
    local alive=yes
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || alive=no
    kill "$pid" 2>/dev/null
    wait "$runner" 2>/dev/null
    if [ $alive != yes ]; then
        echo "the monitor died: $(head -c 300 "$dir/err")"
        return 1
    fi
    if ! diff "$DATA/peer-hostile.expected" "$dir/replies" >"$dir/detail"; then
        echo "replies differ: $(tr '\n' '|' <"$dir/detail" | cut -c1-200)"
        return 1
    fi
}
custom hostile/peer-server peer_server_hostile
