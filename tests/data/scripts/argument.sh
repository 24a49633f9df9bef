#!/bin/sh -e
# PROGRAM given to hermitux-run as a script whose interpreter runs with an argument
# (tests/integration/75-shells.sh): the kernel gives it "-e", the script path, then its own
# arguments.
echo "$0 got $# arguments: $*"
exit 7
