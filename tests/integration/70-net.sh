# Sockets and waiting on many fds: the program's sockets are host sockets, so
# servers in the guest are reached from the host and clients reach host servers.
# Sourced by tests/run-tests.sh; see its header for the case syntax.

program net_local --tmpdir -- net_local @TMP@
program net_local-family -- net_local family
# --net=none refuses AF_INET and AF_INET6 with EACCES; AF_UNIX stays.
program net_local-net-none --opt --net=none --vm-stdout @DATA@/net_local-none.vm.out -- \
    net_local family
program wait_fds --tmpdir -- wait_fds @TMP@
# The names AF_UNIX sockets give back are the ones the program bound, after its chdir (the
# monitor binds /proc/self/fd/N/... for the host) and under --root (70-hostile.sh).
program unix_names --tmpdir -- unix_names @TMP@
program masked_waits -- masked_waits
bad_input bad/net-mode -- --net=bogus tests/programs/build/musl/hello

# Runs "$@" until it succeeds, at most 400 times 50 ms apart.
net_wait_until() {
    local tries=0
    until "$@"; do
        tries=$((tries + 1))
        [ $tries -gt 400 ] && return 1
        sleep 0.05
    done
}

# The case's verdict: DIR/native.out and DIR/vm.out must be equal; $2 says how not.
net_same_as_native() {
    cmp -s "$1/native.out" "$1/vm.out" && return 0
    diff "$1/native.out" "$1/vm.out" >"$1/detail"
    echo "$2"
    return 1
}

# Whether file $1 has a line equal to $2.
net_has_line() {
    grep -qx "$2" "$1" 2>/dev/null
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
        if ! net_wait_until net_has_line "$dir/$mode.out" watching; then
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
    net_same_as_native "$dir" "output differs from native"
}
custom musl/inotify-from-host net_inotify_from_host musl
custom glibc/inotify-from-host net_inotify_from_host glibc

# A static server in the guest (socket/bind/listen/accept4 + epoll) answers 1000 HTTP
# requests from curl on the host: 500 over one keep-alive connection, 500 over fresh
# connections. The answers must be right and the server's output equal to native.
net_http_server() {
    local accel=$1 dir=$2 program=$3 mode pid st port
    command -v curl >/dev/null || {
        echo "curl is not installed"
        return 77
    }
    [ -x "$program" ] || {
        echo "$program was not built"
        return 1
    }
    { seq 1 500 | sed 's|^|hello /ka/|' && seq 1 500 | sed 's|^|hello /close/|'; } >"$dir/expected"
    for mode in native vm; do
        if [ $mode = native ]; then
            timeout -k 5 "$TIMEOUT" "$program" "$dir/$mode.port" 1000 >"$dir/$mode.out" 2>&1 &
        else
            timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" "$program" \
                "$dir/$mode.port" 1000 >"$dir/$mode.out" 2>&1 &
        fi
        pid=$!
        if ! net_wait_until test -s "$dir/$mode.port"; then
            kill "$pid" 2>/dev/null
            wait "$pid"
            echo "$mode server never wrote its port: $(head -c 300 "$dir/$mode.out")"
            return 1
        fi
        port=$(cat "$dir/$mode.port")
        curl -s --max-time 60 "http://127.0.0.1:$port/ka/[1-500]" >"$dir/$mode.curl"
        curl -s --max-time 60 -H 'Connection: close' "http://127.0.0.1:$port/close/[1-500]" \
            >>"$dir/$mode.curl"
        wait "$pid"
        st=$?
        if [ $st != 0 ]; then
            echo "$mode server exited $st: $(head -c 300 "$dir/$mode.out")"
            return 1
        fi
        if ! cmp -s "$dir/expected" "$dir/$mode.curl"; then
            diff "$dir/expected" "$dir/$mode.curl" | head -20 >"$dir/detail"
            echo "curl got wrong answers from the $mode server"
            return 1
        fi
    done
    net_same_as_native "$dir" "server output differs from native"
}
custom musl/http-server net_http_server tests/programs/build/musl/http_server
custom glibc/http-server net_http_server tests/programs/build/glibc/http_server
# The same server dynamically linked (built at run time).
net_build_dynamic_server() {
    gcc -O1 -o "$1/http_server-dynamic" tests/programs/http_server.c 2>/dev/null || true
}
FIXTURE_MAKERS+=(net_build_dynamic_server)
custom glibc-dynamic/http-server net_http_server "$FIX/http_server-dynamic"

# A client in the guest fetches files from `python3 -m http.server` on the host's
# loopback (a small file, 600 KB, a missing one); output equal to native. ARGS are the
# client's command line, with @PORT@ and @PATH@ in it.
net_fetch_from_python() {
    local accel=$1 dir=$2 pid port path arg args
    shift 2
    command -v python3 >/dev/null || {
        echo "python3 is not installed"
        return 77
    }
    mkdir -p "$dir/www"
    echo "hello from python" >"$dir/www/small.txt"
    cp "$FIX/numbers.txt" "$dir/www/big.txt"
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$dir/www" >"$dir/python.out" 2>&1 &
    pid=$!
    if ! net_wait_until grep -q ' port [0-9]* ' "$dir/python.out"; then
        kill "$pid"
        wait "$pid"
        echo "python3 -m http.server did not start: $(head -c 300 "$dir/python.out")"
        return 1
    fi
    port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$dir/python.out")
    for path in /small.txt /big.txt /missing; do
        args=()
        for arg in "$@"; do
            arg=${arg//@PORT@/$port}
            args+=("${arg//@PATH@/$path}")
        done
        timeout -k 5 "$TIMEOUT" "${args[@]}" 2>&1 | cksum >>"$dir/native.out"
        echo "status ${PIPESTATUS[0]}" >>"$dir/native.out"
        timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" "${args[@]}" 2>&1 |
            cksum >>"$dir/vm.out"
        echo "status ${PIPESTATUS[0]}" >>"$dir/vm.out"
    done
    kill "$pid"
    wait "$pid"
    if ! grep -q "^status 0" "$dir/native.out"; then
        cp "$dir/native.out" "$dir/detail"
        echo "the native client did not fetch the files"
        return 1
    fi
    net_same_as_native "$dir" "client output differs from native"
}
custom musl/http-client net_fetch_from_python tests/programs/build/musl/http_client @PORT@ @PATH@
custom glibc/http-client net_fetch_from_python tests/programs/build/glibc/http_client @PORT@ \
    @PATH@
custom busybox/wget net_fetch_from_python /bin/busybox wget -q -O - "http://127.0.0.1:@PORT@@PATH@"

# busybox httpd (a child process per connection) in the guest serves curl on the host: a
# page, a missing one, 600 KB; the same answers and exit status (SIGTERM) as natively.
net_busybox_httpd() {
    local accel=$1 dir=$2 mode pid st port
    command -v curl >/dev/null && command -v python3 >/dev/null || {
        echo "curl or python3 is not installed"
        return 77
    }
    mkdir -p "$dir/www"
    echo "served by busybox" >"$dir/www/index.html"
    cp "$FIX/numbers.txt" "$dir/www/big.txt"
    for mode in native vm; do
        # A free port now; busybox httpd cannot report one it was given by the kernel.
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        if [ $mode = native ]; then
            timeout -k 5 "$TIMEOUT" /bin/busybox httpd -f -p "127.0.0.1:$port" -h "$dir/www" \
                2>"$dir/$mode.err" &
        else
            timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" /bin/busybox httpd -f \
                -p "127.0.0.1:$port" -h "$dir/www" 2>"$dir/$mode.err" &
        fi
        pid=$!
        if ! net_wait_until curl -s -o /dev/null "http://127.0.0.1:$port/"; then
            kill "$pid"
            wait "$pid"
            echo "$mode busybox httpd never answered: $(head -c 300 "$dir/$mode.err")"
            return 1
        fi
        {
            curl -s "http://127.0.0.1:$port/index.html"
            curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$port/missing"
            curl -s "http://127.0.0.1:$port/big.txt" | cksum
        } >"$dir/$mode.out"
        kill -TERM "$pid"
        wait "$pid"
        echo "status $?" >>"$dir/$mode.out"
    done
    if ! grep -q "^served by busybox" "$dir/native.out"; then
        cp "$dir/native.out" "$dir/detail"
        echo "native busybox httpd did not serve the page"
        return 1
    fi
    net_same_as_native "$dir" "answers differ from native"
}
custom busybox/httpd net_busybox_httpd

# Name resolution through the host's /etc/hosts (no DNS server needed).
program resolve -- resolve localhost 127.0.0.1

# A program blocked in accept, recv or poll (one blocking host call, no polling loop)
# is still ended by --timeout (exit 124, where it was reported) and by SIGTERM to
# hermitux-run (143, as natively).
net_blocked_call_ends() {
    local accel=$1 dir=$2 call=$3 pid st
    local program=tests/programs/build/musl/net_local
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" --timeout 1 "$program" block \
        "$call" >"$dir/out" 2>"$dir/err"
    st=$?
    if [ $st != 124 ] || ! grep -q "^blocking in $call\$" "$dir/out"; then
        echo "--timeout 1 while blocked in $call: status $st, $(head -c 200 "$dir/out" "$dir/err")"
        return 1
    fi
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" "$program" block "$call" \
        >"$dir/out" 2>"$dir/err" &
    pid=$!
    if ! net_wait_until net_has_line "$dir/out" "blocking in $call"; then
        kill "$pid"
        wait "$pid"
        echo "never blocked in $call: $(head -c 200 "$dir/out" "$dir/err")"
        return 1
    fi
    sleep 0.2 # into the call itself
    kill -TERM "$pid"
    wait "$pid"
    st=$?
    if [ $st != 143 ]; then
        echo "SIGTERM while blocked in $call: status $st, expected 143"
        return 1
    fi
}
for net_call in accept recv poll; do
    custom "net/blocked-$net_call-ends" net_blocked_call_ends "$net_call"
done

# The host's own dynamically linked clients in the guest: curl, and python3's urllib
# (with its EpollSelector); python's start-up under tcg is slow, so kvm only.
custom dynamic/curl net_fetch_from_python /usr/bin/curl -s "http://127.0.0.1:@PORT@@PATH@"
custom dynamic/python3-urllib net_fetch_from_python --accels kvm /usr/bin/python3 -c \
    'import selectors, sys, urllib.request
print(type(selectors.DefaultSelector()).__name__)
print(urllib.request.urlopen("http://127.0.0.1:" + sys.argv[1] + sys.argv[2]).read())' \
    @PORT@ @PATH@
