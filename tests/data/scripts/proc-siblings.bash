# /proc/PID of another process of the same program tree (run: proc-siblings.bash TMPDIR):
# what ps, pgrep, lsof and fuser read of it is that process's own, not its monitor's
# (hermitux-run's command line, host fds, mappings). Prints nothing that depends on pids.
tmp=$1
mkdir -p "$tmp/sleeper"
echo data >"$tmp/input"
cd "$tmp/sleeper" || exit 1
sleep 120 <"$tmp/input" 3>"$tmp/output" &
p=$!
cd "$tmp" || exit 1
# Until it is sleep, not the shell's fork child.
for _ in $(seq 300); do
    [ "$(cat /proc/$p/comm 2>/dev/null)" = sleep ] && break
    sleep 0.1
done
tr '\0' ' ' </proc/$p/cmdline
echo
readlink /proc/$p/exe /proc/$p/cwd /proc/$p/fd/0 /proc/$p/fd/3 | sed "s|^$tmp|TMP|"
ls /proc/$p/fd | sort -n | tr '\n' ' '
echo
stat -L -c '%F' /proc/$p/cwd /proc/$p/fd/0 /proc/$p/cwd/ /proc/$p/cwd/.
stat -c '%F %A' /proc/$p/fd/0 /proc/$p/fd/3 /proc/$p/exe
stat -c '%F' /proc/$p/fd/0/ 2>&1 | sed "s/$p/PID/"
cat /proc/$p/fd/0
ls /proc/$p/cwd/ && ls /proc/$p/cwd/..
# Its memory map is the program's: sleep is there, the monitor is not.
grep -c '/sleep$' /proc/$p/maps >/dev/null && echo "maps name sleep"
grep -c hermitux /proc/$p/maps
grep -E '^(Name|State):' /proc/$p/status
[ "$(awk '/^PPid:/ { print $2 }' /proc/$p/status)" = $$ ] && echo "PPid is the shell"
cut -d' ' -f2,3 /proc/$p/stat
ls /proc/$p/task | wc -l
grep -c '^pos:' /proc/$p/fdinfo/3
if command -v lsof >/dev/null; then
    lsof -w -p $p -a -d cwd,txt,0,3 -Fn | grep '^n' | sed "s|$tmp|TMP|"
fi
pgrep -a -P $$ sleep | sed 's/^[0-9]* //'
ps -o comm=,args= -p $p
# The shell's own fds, read by a child (ls). A simple command, not a pipeline: while
# bash sets up `ls | sort`, it holds the pipes' fds for a moment, and whether ls saw them
# was a race (natively too: under load the native run listed 3 4 5, hermitux-run's not).
ls /proc/$$/fd >"$tmp/shell-fds"
sort -n "$tmp/shell-fds" | tr '\n' ' '
echo
# Linux renames only the writer's own threads through comm.
echo renamed 2>/dev/null >/proc/$p/comm || echo "comm of another: refused"
cat /proc/$p/comm
kill $p
wait $p
echo "sleep ended: $?"
