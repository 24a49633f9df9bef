# Busybox cases: Debian's busybox-static (/bin/busybox, an ET_EXEC static glibc binary),
# compared with native runs of the same applets on the same input. Sourced by
# tests/run-tests.sh; see its header for the case syntax.

BB=/bin/busybox

busybox_case() {
    local name=$1
    shift
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    shift
    compare "busybox/$name" "${opts[@]}" -- "$BB" "$@"
}

busybox_case echo -- echo "Hello from busybox" 1 2 3 "naïve ✓"
busybox_case echo-n -- echo -n no newline
busybox_case cat-file -- cat @DATA@/lorem.txt
busybox_case cat-stdin --stdin @DATA@/lorem.txt -- cat
busybox_case cat-stdin-pipe --stdin-pipe @FIX@/numbers.txt -- cat
busybox_case cat-missing --status 1 -- cat @DATA@/no-such-file
busybox_case wc --stdin @DATA@/lorem.txt -- wc
busybox_case wc-files -- wc -l -w -c @DATA@/lorem.txt @DATA@/words.txt
busybox_case sort --stdin @DATA@/words.txt -- sort
busybox_case sort-nru -- sort -n -r -u @DATA@/words.txt
busybox_case sort-csv -- sort -t , -k 2 -n @DATA@/table.csv
busybox_case uniq-c --stdin @DATA@/words.txt -- uniq -c
busybox_case head -- head -n 3 @DATA@/lorem.txt
busybox_case head-c --stdin @FIX@/numbers.txt -- head -c 100
busybox_case tail -- tail -n 4 @DATA@/lorem.txt
busybox_case tail-big --stdin-pipe @FIX@/numbers.txt -- tail -n 3
busybox_case tr --stdin @DATA@/lorem.txt -- tr a-z A-Z
busybox_case tr-delete --stdin @DATA@/lorem.txt -- tr -d aeiou
busybox_case cut -- cut -d , -f 1,3 @DATA@/table.csv
busybox_case cut-c --stdin @DATA@/lorem.txt -- cut -c 1-10
busybox_case seq -- seq 1 3 40
busybox_case seq-w -- seq -w 8 12
busybox_case md5sum -- md5sum @DATA@/lorem.txt @FIX@/binary.gz
busybox_case sha256sum --stdin @FIX@/numbers.txt -- sha256sum
busybox_case awk -- awk -F , 'NR > 1 { n += $2; s += $2 * $3 } END { printf "%d items, %.2f total\n", n, s }' @DATA@/table.csv
busybox_case awk-fields --stdin @DATA@/lorem.txt -- awk '{ print NF, length($0), toupper($1) }'
busybox_case sed -- sed -e 's/o/0/g' -e '/^$/d' -e '3q' @DATA@/lorem.txt
busybox_case sed-n --stdin @DATA@/lorem.txt -- sed -n '/dolor/p'
busybox_case expr -- expr 6 '*' 7
busybox_case expr-false --status 1 -- expr 3 - 3
busybox_case basename -- basename /usr/local/lib/libthing.so.1 .1
busybox_case printf -- printf '%05d|%-6s|%x|%s\n' 42 abc 255 "two words"
busybox_case od -- od -A x -t x1 -c @DATA@/table.csv
busybox_case xxd --stdin @DATA@/words.txt -- xxd
busybox_case grep-n -- grep -n ipsum @DATA@/lorem.txt
busybox_case grep-c --stdin @DATA@/words.txt -- grep -c -i cherry
busybox_case grep-nomatch --status 1 -- grep zebra @DATA@/words.txt
busybox_case ls -- ls -1 @DATA@
busybox_case false --status 1 -- false
busybox_case sh-builtins -- sh -c 'i=0; while [ $i -lt 5 ]; do echo "line $i"; i=$((i + 1)); done; exit 0'
busybox_case sh-exit --status 3 -- sh -c 'echo before; exit 3'

# gzip | gunzip round trip, in two hermitux-run runs: gzip -c FILE > f.gz, then
# gunzip -c f.gz; the .gz must equal a native gzip's, and the result the original.
busybox_gzip_roundtrip() {
    local accel=$1 dir=$2 input=$3 st
    gzip_run() { # MODE OUTPUT ARGS...
        local mode=$1 output=$2
        shift 2
        {
            if [ "$mode" = native ]; then
                timeout -k 5 "$TIMEOUT" "$BB" "$@" </dev/null >"$output" 2>>"$dir/err"
            else
                timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" "$BB" "$@" </dev/null \
                    >"$output" 2>>"$dir/err"
            fi
        } 2>/dev/null
    }
    gzip_run native "$dir/native.gz" gzip -c "$input" || {
        echo "native gzip failed"
        return 1
    }
    gzip_run vm "$dir/vm.gz" gzip -c "$input"
    st=$?
    if [ $st != 0 ]; then
        cp "$dir/err" "$dir/detail"
        echo "gzip -c under hermitux-run exited $st"
        return 1
    fi
    if ! cmp -s "$dir/native.gz" "$dir/vm.gz"; then
        cmp "$dir/native.gz" "$dir/vm.gz" >"$dir/detail" 2>&1
        echo "gzip output differs from native ($(wc -c <"$dir/vm.gz") vs $(wc -c <"$dir/native.gz") bytes)"
        return 1
    fi
    gzip_run vm "$dir/roundtrip" gunzip -c "$dir/vm.gz"
    st=$?
    if [ $st != 0 ]; then
        cp "$dir/err" "$dir/detail"
        echo "gunzip -c under hermitux-run exited $st"
        return 1
    fi
    if ! cmp -s "$input" "$dir/roundtrip"; then
        cmp "$input" "$dir/roundtrip" >"$dir/detail" 2>&1
        echo "gunzip output differs from the original"
        return 1
    fi
    if [ -s "$dir/err" ]; then
        cp "$dir/err" "$dir/detail"
        echo "unexpected stderr"
        return 1
    fi
    return 0
}
custom busybox/gzip-roundtrip busybox_gzip_roundtrip "$DATA/lorem.txt"
custom busybox/gzip-roundtrip-big busybox_gzip_roundtrip "$FIX/numbers.txt"

# Another (native) process's magic links in /proc lead where the host's do, as natively:
# stat -L of a sleeper's /proc/PID/fd/0 (a file), cwd and exe; busybox readlink of its fd.
# (Before, the links were refused: ELOOP, "Too many levels of symbolic links", which fuser
# printed for every fd of every process.)
busybox_proc_other_links() {
    local accel=$1 dir=$2 mode
    mkdir -p "$dir/cwd"
    (cd "$dir/cwd" && exec sleep 60 <"$DATA/lorem.txt") &
    local sleeper=$! tries
    # Until the subshell has its redirection and has become sleep, /proc shows the
    # shell (the native side once saw bash and its /dev/null, 1 run in CI).
    for ((tries = 0; tries < 100; tries++)); do
        [ "$(readlink "/proc/$sleeper/fd/0" 2>/dev/null)" = "$(readlink -f "$DATA/lorem.txt")" ] &&
            [ "$(readlink "/proc/$sleeper/exe" 2>/dev/null)" != "$(readlink /proc/$$/exe)" ] && break
        sleep 0.05
    done
    local args=(sh -c "stat -L -c '%F %s' /proc/$sleeper/fd/0 /proc/$sleeper/cwd /proc/$sleeper/exe &&
        readlink /proc/$sleeper/fd/0 && cat /proc/$sleeper/fd/0 | wc -c")
    for mode in native vm; do
        if [ "$mode" = native ]; then
            timeout -k 5 "$TIMEOUT" "$BB" "${args[@]}" >"$dir/$mode.out" 2>&1
        else
            timeout -k 5 "$TIMEOUT" "$HERMITUX_RUN" "--accel=$accel" "$BB" "${args[@]}" \
                >"$dir/$mode.out" 2>&1
        fi
        echo "status $?" >>"$dir/$mode.out"
    done
    kill "$sleeper" 2>/dev/null
    wait "$sleeper" 2>/dev/null
    if ! diff "$dir/native.out" "$dir/vm.out" >"$dir/detail"; then
        echo "differs from native: $(tr '\n' '|' <"$dir/detail" | cut -c1-200)"
        return 1
    fi
    grep -q '^status 0$' "$dir/vm.out" || {
        echo "failed natively too: $(tr '\n' '|' <"$dir/vm.out")"
        return 1
    }
}
custom busybox/proc-other-links busybox_proc_other_links

# A program that dies of a signal: whoever started hermitux-run sees that death (Python's
# subprocess gives -N), not an exit with 128 + N, as from the native run; and an exit
# status stays one.
busybox_signal_death() {
    local accel=$1 dir=$2 mode script
    command -v python3 >/dev/null || {
        echo "python3 not installed"
        return 77
    }
    script='import subprocess, sys
for code in ("kill -SEGV $$", "kill -TERM $$", "kill -ABRT $$", "exit 3"):
    print(subprocess.run(sys.argv[1:] + ["sh", "-c", code], stderr=subprocess.DEVNULL).returncode)'
    for mode in native vm; do
        if [ "$mode" = native ]; then
            timeout -k 5 "$TIMEOUT" python3 -c "$script" "$BB" >"$dir/$mode.out" 2>&1
        else
            timeout -k 5 "$TIMEOUT" python3 -c "$script" "$HERMITUX_RUN" "--accel=$accel" "$BB" \
                >"$dir/$mode.out" 2>&1
        fi
    done
    if ! diff "$dir/native.out" "$dir/vm.out" >"$dir/detail"; then
        echo "differs from native: $(tr '\n' '|' <"$dir/detail" | cut -c1-200)"
        return 1
    fi
}
custom busybox/signal-death busybox_signal_death
