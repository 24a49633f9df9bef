#!/bin/bash-static
# Started by the kernel (or hermitux-run) through its #! line.
echo "shebang script: $# arguments: $*"
echo "interpreter: $BASH_VERSION" | /bin/busybox sed 's/[0-9].*/VERSION/'
exit 4
