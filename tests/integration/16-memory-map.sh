# shellcheck shell=bash
# Programs with many mappings: Linux's vm.max_map_count (mmap, mprotect and munmap
# fail with ENOMEM where Linux's do) reached in bounded time (the map costs O(log n)
# per operation). Sourced by tests/run-tests.sh; see its header for the case syntax.

program map_count -- map_count
program narrowing -- narrowing
