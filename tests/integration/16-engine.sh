# What a CPU engine must get right beyond single instructions: stops at the exact
# instruction, sharing the CPU between threads, a heap grown page by page (each of
# these went wrong once under tcg). Sourced by tests/run-tests.sh; see its header.

# SIGALRM from setitimer interrupts a loop without system calls: the handler runs and
# the loop resumes at the exact next instruction (its invariants hold).
program timer_spin -- timer_spin 50
# Two threads hand a token back and forth by spinning on a flag (no futex, no
# sched_yield): a spinning thread must not keep the CPU from the other for ever.
program spin_threads -- spin_threads 50
# brk growth one page at a time (each page written and checked), shrinking and
# growing again (zeroed pages), then a write just past the break (SIGSEGV).
program brk_grow -- brk_grow 3000
program brk_grow-beyond --status 139 --no-stderr -- brk_grow 3000 beyond
