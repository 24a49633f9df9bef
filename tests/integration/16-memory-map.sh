# shellcheck shell=bash
# Programs with many mappings: Linux's vm.max_map_count (mmap, mprotect and munmap
# fail with ENOMEM where Linux's do) reached in bounded time (the map costs O(log n)
# per operation). Sourced by tests/run-tests.sh; see its header for the case syntax.

program map_count -- map_count
program narrowing -- narrowing

# Overcommit as Linux's: 8 GiB PROT_READ, 64 GiB PROT_NONE, 16 GiB MAP_NORESERVE
# read-write and six 1 GiB read-write mappings (more than a small guest's RAM) succeed
# without -m; frames come at first touch, a forked child touches its copy.
program overcommit -- overcommit

# A writable mapping larger than guest RAM fails with ENOMEM, as Linux's overcommit
# heuristic on a machine of that size: malloc returns NULL and the program goes on
# (the native run of overcommit checks the same beyond the host's RAM). Where guest RAM
# really runs out at a first touch, the program ends as Linux's OOM killer ends it:
# SIGKILL (status 137), and one line on stderr says so and names -m, with or without -v.
OOM_LINE='^hermitux-run: out of memory: guest RAM \(64 MiB\) is all in use at a first touch of 0x[0-9a-f]+; killed process [0-9]+ \(overcommit\) with SIGKILL, as Linux.s OOM killer; give more with -m SIZE \(--memory\)$'
oom_case() {
    local accel=$1 dir=$2 libc=$3 st option
    local run=("$HERMITUX_RUN" --accel="$accel" -m 64M)
    local program="tests/programs/build/$libc/overcommit"
    {
        timeout -k 5 "$TIMEOUT" "${run[@]}" "$program" malloc 128 >"$dir/out" 2>"$dir/err"
        st=$?
    } 2>/dev/null
    if [ "$st" != 0 ] || [ "$(cat "$dir/out")" != $'malloc 128 MiB: NULL, ENOMEM\nthen 1 MiB: ok' ]; then
        echo "malloc of 128 MiB of 64: exit status $st, stdout $(head -c 200 "$dir/out")"
        return 1
    fi
    {
        timeout -k 5 "$TIMEOUT" "${run[@]}" "$program" touch 32 >"$dir/out" 2>"$dir/err"
        st=$?
    } 2>/dev/null
    if [ "$st" != 0 ] || [ "$(cat "$dir/out")" != "touched 32 MiB" ]; then
        echo "touching 32 MiB of 64: exit status $st, stdout $(head -c 200 "$dir/out")"
        return 1
    fi
    for option in "" -v; do
        {
            timeout -k 5 "$TIMEOUT" "${run[@]}" $option "$program" touch 200 >"$dir/out" 2>"$dir/err"
            st=$?
        } 2>/dev/null
        # -v adds its own lines about the accelerator and the sandbox.
        if [ "$st" != 137 ] || [ -s "$dir/out" ] || ! grep -Eq "$OOM_LINE" "$dir/err" ||
            { [ -z "$option" ] && [ "$(wc -l <"$dir/err")" != 1 ]; }; then
            echo "touching 200 MiB of 64 ${option:-without -v}: exit status $st (want 137), stderr $(head -c 300 "$dir/err")"
            return 1
        fi
    done
}
custom oom/glibc oom_case glibc
custom oom/musl oom_case musl

# MADV_DONTNEED on anonymous memory as Linux's: the written bytes read zero again, and
# the host frames go back without the monitor touching those the program never used
# (glibc hands back almost all of an exited thread's 8 MiB stack this way). 64 such
# stacks, 512 MiB mapped and kept: the monitor's peak RSS stays under 256 MiB (one that
# zeroed the discarded range itself peaked at 538 MiB; natively the program takes 13).
program dontneed -- dontneed
# mincore: touched pages resident, given-back ones not, Linux's errors.
program mincore -- mincore
dontneed_rss_case() {
    local accel=$1 dir=$2 st peak
    timeout -k 5 "$TIMEOUT" tests/peak-rss.py "$dir/rss" "$HERMITUX_RUN" --accel="$accel" \
        tests/programs/build/glibc/dontneed >/dev/null 2>"$dir/err"
    st=$?
    peak=$(cat "$dir/rss" 2>/dev/null)
    if [ "$st" != 0 ] || [ "${peak:-256}" -ge 256 ]; then
        echo "status $st, peak RSS ${peak:-unknown} MiB (want 0 and under 256): $(head -c 200 "$dir/err")"
        return 1
    fi
    echo "peak RSS $peak MiB"
}
custom memory/dontneed-rss dontneed_rss_case
