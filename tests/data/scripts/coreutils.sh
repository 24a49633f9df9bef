# The host's own (dynamically linked) commands forked and exec'd by a shell: run by
# bash-static and by the host's /bin/sh (tests/integration/75-shells.sh). $1: a scratch
# directory.
dir=$1
printf '%s\n' pear apple fig apple kiwi fig apple | sort | uniq -c | sort -rn | head -n 2
seq 1 10 | xargs -n 3 echo | tr ' ' ,
mkdir -p "$dir/tree/a/b" && touch "$dir/tree/a/one" "$dir/tree/a/b/two"
(cd "$dir/tree" && find . -type f | sort | xargs -I{} basename {})
echo "epoch: $(date -u -d @0 +%Y-%m-%dT%H:%M)"
echo "words: $(printf 'a b\nc d e\n' | wc -w)"
env -i ONLY=1 env
sh -c 'echo "nested sh: $0 $1"' zero one
echo "status of a failing grep: $(echo x | grep -q y; echo $?)"
{ echo out; echo err >&2; } 2>"$dir/err.txt" | cat
cat "$dir/err.txt"
mkdir -p "$dir/mk"
printf 'all: a b\n\t@echo done $^\na:\n\t@echo building a: $$(echo sub)\nb:\n\t@echo building b | tr a-z A-Z\n' >"$dir/mk/Makefile"
make -s -C "$dir/mk"
make -s -j2 -C "$dir/mk" | sort
