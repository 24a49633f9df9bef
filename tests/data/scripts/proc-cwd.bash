# A cwd inside /proc: it names the pid /proc/self meant at the chdir, a child inherits it,
# and an execve keeps it (the new program's getcwd, its relative paths, its children).
# Prints nothing that depends on pids: each is replaced by the role it has.
me=$$
cd /proc/self/task || exit 1
/bin/readlink /proc/self/cwd | sed "s|/proc/$me|/proc/SHELL|"
/bin/pwd -P | sed "s|/proc/$me|/proc/SHELL|"
ls | sed "s|^$me\$|SHELL|"
cat "$me/comm"
cd ../fd || exit 1
/bin/pwd -P | sed "s|/proc/$me|/proc/SHELL|"
# bash's logical "cd .." is /proc/self again: the subshell's own directory.
(sub=$BASHPID && cd .. && /bin/pwd -P | sed "s|/proc/$sub|/proc/SUBSHELL|")
/bin/sh -c 'ls -d ../fd; cat ../comm; /bin/pwd -P' | sed "s|/proc/$me|/proc/SHELL|"
cd /
/bin/pwd -P
