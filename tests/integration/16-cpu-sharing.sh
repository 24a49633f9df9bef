# Sharing the CPU: asynchronous signals and threads that never make a system call.
# Sourced by tests/run-tests.sh; see its header for the case syntax.

# SIGALRM from setitimer interrupts a loop without system calls: the handler runs and
# the loop resumes at the exact next instruction (its invariants hold).
program timer_spin -- timer_spin 50
# Two threads hand a token back and forth by spinning on a flag (no futex, no
# sched_yield): a spinning thread must not keep the CPU from the other for ever.
program spin_threads -- spin_threads 50
