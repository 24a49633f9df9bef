# bash-static only: background jobs and their statuses, a script started through #!,
# and exec replacing the shell. $1 is a scratch directory.
BB=/bin/busybox
dir=$1

(exit 3) &
first=$!
$BB sh -c 'exit 5' &
second=$!
wait $first
echo "first job: $?"
wait $second
echo "second job: $?"
for i in 1 2 3; do (echo "job $i" >"$dir/job$i") & done
wait
$BB cat "$dir/job1" "$dir/job2" "$dir/job3"

$BB sleep 10 &
kill $!
wait $!
echo "job killed at once: $?"
{ # bash reports "Killed" with the pid: not compared
    $BB sleep 10 &
    $BB sleep 0.2
    kill -KILL $!
    wait $!
    echo "job killed while it sleeps: $?"
} 2>/dev/null
(exec $BB sleep 10) &
$BB sleep 0.2
kill -TERM $!
wait $!
echo "exec'd job killed: $?"

"${0%/*}/shebang.bash" one "two words"
echo "shebang script status: $?"

trap 'echo "EXIT trap runs"' EXIT
exec $BB echo "exec replaced the shell"
echo "not reached"
