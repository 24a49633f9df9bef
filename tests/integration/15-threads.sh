# Threads from other languages' runtimes: C++ (std::thread, std::async, thread_local) and
# Go (goroutines, GOMAXPROCS=2, timers), built here from tests/programs/lang when g++ and
# go are installed, run natively and under hermitux-run and compared. Sourced by
# tests/run-tests.sh; see its header for the case syntax.

make_lang_fixtures() {
    local fix=$1
    g++ -static -O1 -pthread -o "$fix/cxx_threads" tests/programs/lang/cxx_threads.cc \
        >"$fix/cxx_threads.log" 2>&1
    if command -v go >/dev/null; then
        mkdir -p "$fix/go"
        cp tests/programs/lang/go_threads.go "$fix/go/main.go"
        (cd "$fix/go" && HOME=$fix GOCACHE=$fix/gocache GO111MODULE=off \
            go build -o "$fix/go_threads" main.go) >"$fix/go_threads.log" 2>&1
    fi
}
FIXTURE_MAKERS+=(make_lang_fixtures)

# lang_case ACCEL DIR PROGRAM: the built program natively and in the VM, same output and
# status; skipped when its compiler is missing.
lang_case() {
    local accel=$1 dir=$2 program=$FIX/$3
    if [ ! -x "$program" ]; then
        echo "$3 not built (compiler missing): $(first_line "$program.log" 2>/dev/null)"
        return 77
    fi
    "$program" >"$dir/native.out" 2>&1
    echo "status $?" >>"$dir/native.out"
    timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" --accel="$accel" "$program" >"$dir/vm.out" 2>&1
    echo "status $?" >>"$dir/vm.out"
    same_as_native "$dir" || return 1
    echo "as natively"
}

custom cxx/threads lang_case cxx_threads
custom go/goroutines lang_case go_threads
program sched_calls -- sched_calls
