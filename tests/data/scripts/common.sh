# Shell features built on fork, execve, pipes and wait; run by bash-static and by
# busybox ash (tests/integration/70-shells.sh). $1 is a scratch directory.
# External commands are busybox applets: static programs the VM runs.
BB=/bin/busybox
dir=$1
start=$(pwd)

echo "a pipeline of 4 commands:"
printf 'delta\nalpha\ncharlie\nbravo\n' | $BB sort | $BB tr a-z A-Z | $BB head -n 3 | $BB sed 's/^/  /'

x=$(echo substituted; $BB echo twice)
echo "command substitution: $x"
y=`$BB basename /a/b/backticks`
echo "backticks: $y"
echo "nested: $(echo "$(echo inner | $BB tr a-z A-Z)")"

(cd / && echo "subshell cwd: $(pwd)")
[ "$(pwd)" = "$start" ] && echo "parent cwd unchanged"

printf '1 one\n2 two\n3 three\n' | while read -r n word; do echo "read $n=$word"; done

$BB cat <<END
here-document: x is "$x"
  and \$HOME is not expanded here: \$HOME
END
$BB cat <<'END'
quoted here-document to an external command: $x stays
END

exec 3>"$dir/fd3.txt"
echo "written through fd 3" >&3
$BB sh -c 'echo "written by a child through the inherited fd 3" >&3'
exec 3>&-
$BB cat "$dir/fd3.txt"
exec 4<"$dir/fd3.txt"
read -r first <&4
echo "read back through fd 4: $first"
exec 4<&-

(exit 7)
echo "subshell status: $?"
$BB false
echo "external false: $?"
$BB sh -c 'exit 42'
echo "nested shell status: $?"
/nonexistent/command 2>/dev/null
echo "missing command: $?"

set -o pipefail
$BB false | $BB true
echo "pipefail: $?"
set +o pipefail
$BB false | $BB true
echo "no pipefail: $?"

out=$($BB sh -c 'echo out; echo err >&2' 2>&1)
echo "2>&1 captured: $out" | $BB tr '\n' ' '
echo
echo done
