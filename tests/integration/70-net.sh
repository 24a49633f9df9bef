# Sockets and waiting on many fds: the program's sockets are host sockets, so
# servers in the guest are reached from the host and clients reach host servers.
# Sourced by tests/run-tests.sh; see its header for the case syntax.

program net_local --tmpdir -- net_local @TMP@
program net_local-family -- net_local family
# --net=none refuses AF_INET and AF_INET6 with EACCES; AF_UNIX stays.
program net_local-net-none --opt --net=none --vm-stdout @DATA@/net_local-none.vm.out -- \
    net_local family
program wait_fds --tmpdir -- wait_fds @TMP@
bad_input bad/net-mode -- --net=bogus tests/programs/build/musl/hello

# Waits (bounded) until file $1 has a line equal to $2.
net_wait_for_line() {
    local tries=0
    until grep -qx "$2" "$1" 2>/dev/null; do
        tries=$((tries + 1))
        [ $tries -gt 400 ] && return 1
        sleep 0.05
    done
}

# inotify in the program sees a file the host writes: `wait_fds watch DIR` prints
# "watching", the host then writes DIR/ready; native and VM output must match.
net_inotify_from_host() {
    local accel=$1 dir=$2 libc=$3 mode pid st
    local program=tests/programs/build/$libc/wait_fds
    for mode in native vm; do
        mkdir -p "$dir/$mode"
        if [ $mode = native ]; then
            timeout -k 5 "$TIMEOUT" "$program" watch "$dir/$mode" >"$dir/$mode.out" 2>&1 &
        else
            timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" "$program" watch \
                "$dir/$mode" >"$dir/$mode.out" 2>&1 &
        fi
        pid=$!
        if ! net_wait_for_line "$dir/$mode.out" watching; then
            kill "$pid" 2>/dev/null
            wait "$pid"
            echo "$mode run never printed 'watching': $(head -c 300 "$dir/$mode.out")"
            return 1
        fi
        echo "hello from the host" >"$dir/$mode/ready"
        wait "$pid"
        st=$?
        if [ $st != 0 ]; then
            echo "$mode run exited $st: $(head -c 300 "$dir/$mode.out")"
            return 1
        fi
    done
    if ! cmp -s "$dir/native.out" "$dir/vm.out"; then
        diff "$dir/native.out" "$dir/vm.out" >"$dir/detail"
        echo "output differs from native"
        return 1
    fi
}
custom musl/inotify-from-host net_inotify_from_host musl
custom glibc/inotify-from-host net_inotify_from_host glibc
