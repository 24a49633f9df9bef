/*
 * monitor/ring.h — exitless syscalls: the thread that answers a vCPU's
 * syscall ring (accel.h's struct accel_ring, kernel/abi.h's struct hx_ring).
 *
 * On a host where every exit is expensive and the syscall entry runs at CPL3
 * (PVM), a burst of syscalls costs one exit each. A vCPU whose thread makes
 * syscalls in a burst gets a ring: its syscall entry posts the calls that
 * linux_ring_allowed accepts (file I/O, the getpid family) in a page shared
 * with the monitor and spins, and a monitor thread spinning on that page
 * answers them with the same personality code, so the program does not
 * leave the guest. The answering thread spins for spin_us after its last
 * call, then sleeps; the program's calls then take the doorbell again, and
 * the vCPU thread wakes it when calls come in a burst again.
 *
 * Ownership: a struct monitor_ring belongs to its vCPU's owner thread, which
 * calls every function here; the answering thread touches only the ring
 * page, the accel_ring counters and the linux_thread's syscall state, and
 * those only while the vCPU waits in the ring entry for its answer.
 */
#ifndef HERMITUX_MONITOR_RING_H
#define HERMITUX_MONITOR_RING_H

#include <stdbool.h>
#include <stdint.h>

struct accel;
struct accel_ops;
struct linux_thread;
struct monitor_ring;

/* What the vCPU thread keeps between its syscalls. */
struct monitor_ring_state {
    struct monitor_ring *ring; /* NULL until the first burst (or for good: failed) */
    uint64_t last_call_ns;     /* CLOCK_MONOTONIC at the end of the previous one it counted */
    uint64_t call_started_ns;  /* and at the start of the current doorbell syscall */
    unsigned burst;            /* doorbell syscalls in a row, each soon after the previous */
    bool unavailable;          /* the backend has no ring here, or one CPU only */
    int cpus;                  /* the CPUs the monitor may run on (0: not asked yet) */
    uint64_t free_checked_ns;  /* when a free CPU was last looked for */
    bool cpu_free;             /* and whether there was one */
};

/* Before each syscall the vCPU thread makes through the doorbell: a burst
 * is measured in the program's time between calls, not counting the calls
 * (a sendfile into a pipe waits in the doorbell, not in the ring). */
void monitor_ring_before_syscall(struct monitor_ring_state *state);

/*
 * After each syscall (call) the vCPU thread made through the doorbell:
 * starts the ring at the first burst of calls it could answer, wakes its answering thread at the
 * next ones, when a CPU is free for it (or always, with --syscall-ring=always). Never under a
 * debugger, or with --syscall-ring=off. -v says when a thread gets no ring, and what each ring did
 * when it stops.
 */
struct monitor_options;
struct linux_syscall;
void monitor_ring_after_syscall(struct monitor_ring_state *state, struct accel *accel,
                                const struct accel_ops *ops, struct linux_thread *thread,
                                const struct linux_syscall *call,
                                const struct monitor_options *options, bool debugging);

/* The vCPU is going away (its thread ended, or the run): the answering
 * thread is stopped and joined. */
void monitor_ring_stop(struct monitor_ring_state *state);

/* A fork's child: the parent's answering threads did not come across. */
void monitor_ring_forget(struct monitor_ring_state *state);

#endif
