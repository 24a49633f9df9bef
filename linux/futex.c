/*
 * linux/futex.c — futex, on the host's own futexes.
 *
 * A guest futex word lives in guest RAM, which is host memory of the
 * monitor: each operation translates the guest address (checked, as every
 * guest pointer) and performs the same operation on the host futex at that
 * host address. A waiter therefore blocks its own host thread in the host
 * kernel, never polls, and is woken by the kernel when another vCPU thread
 * wakes the word (or by the monitor's kick: EINTR). The host kernel applies
 * Linux's own rules for values, timeouts, clocks and WAKE_OP's operations.
 * The program's private flag goes to the host as it is: a shared futex is
 * keyed by the host on the page behind it, so on memory shared with a
 * forked child (MAP_SHARED, backed by a host shared mapping) a waiter in
 * one process is woken from the other, as on Linux.
 */
#include "linux/internal.h"

#include <linux/futex.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long host_futex(uint32_t *word, int op, uint32_t value, const void *timeout_or_value2,
                       uint32_t *word2, uint32_t value3)
{
    long result = syscall(SYS_futex, word, op, value, timeout_or_value2, word2, value3);
    return result < 0 ? -(long)errno : result;
}

/* The host address of the aligned guest word at address, checked for access. */
static long futex_word(struct linux_process *process, uint64_t address, enum guest_access access,
                       uint32_t **word)
{
    if (address & 3)
        return -EINVAL;
    struct iovec iov;
    if (guest_iovec(process->memory, address, sizeof(uint32_t), access, &iov, 1) != 1)
        return -EFAULT;
    *word = iov.iov_base;
    return 0;
}

long linux_futex_wake(struct linux_process *process, uint64_t address, int count)
{
    uint32_t *word;
    long result = futex_word(process, address, GUEST_ACCESS_USER_READ, &word);
    if (result < 0)
        return result;
    /* Shared, as Linux's wake of clear_child_tid: glibc's pthread_join
     * waits on the tid without FUTEX_PRIVATE_FLAG. */
    return host_futex(word, FUTEX_WAKE, (uint32_t)count, NULL, NULL, 0);
}

static uint64_t futex_ns(const struct timespec *time)
{
    return (uint64_t)time->tv_sec * 1000000000ULL + (uint64_t)time->tv_nsec;
}

/*
 * A timed wait until an absolute deadline (ns on CLOCK_REALTIME when flags
 * has FUTEX_CLOCK_REALTIME, else CLOCK_MONOTONIC). Interrupted, it ends as
 * Linux's: EINTR when a handler runs, otherwise restart_syscall waits on
 * until the same deadline (a relative timeout is not started again).
 */
static long futex_wait_until(struct linux_thread *thread, uint64_t address, uint32_t *word,
                             uint32_t value, uint32_t bitset, int flags, uint64_t deadline)
{
    struct timespec until = {(time_t)(deadline / 1000000000ULL), (long)(deadline % 1000000000ULL)};
    int host_op = FUTEX_WAIT_BITSET | (flags & (FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME));
    long result = host_futex(word, host_op, value, &until, NULL, bitset);
    if (result != -EINTR)
        return result;
    thread->restart = (struct linux_restart){
        .number = SYS_futex,
        .deadline = deadline,
        .futex_address = address,
        .futex_value = value,
        .futex_bitset = bitset,
        .futex_flags = flags,
    };
    return -LINUX_ERESTART_RESTARTBLOCK;
}

long linux_futex_restart(struct linux_thread *thread, const struct linux_restart *restart)
{
    uint32_t *word;
    long result =
        futex_word(thread->process, restart->futex_address, GUEST_ACCESS_USER_READ, &word);
    if (result < 0)
        return result;
    return futex_wait_until(thread, restart->futex_address, word, restart->futex_value,
                            restart->futex_bitset, restart->futex_flags, restart->deadline);
}

/* FUTEX_WAIT (timeout relative, measured on CLOCK_MONOTONIC as Linux does
 * whatever the clock flag) and FUTEX_WAIT_BITSET (timeout absolute). */
static long futex_wait(struct linux_thread *thread, const uint64_t *args, int command, int op)
{
    struct linux_process *process = thread->process;
    uint32_t *word;
    long result = futex_word(process, args[0], GUEST_ACCESS_USER_READ, &word);
    if (result < 0)
        return result;
    uint32_t value = (uint32_t)args[2];
    uint32_t bitset = command == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : (uint32_t)args[5];
    int host_op = command | (op & (FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME));
    if ((op & FUTEX_CLOCK_REALTIME) && command == FUTEX_WAIT)
        return -ENOSYS; /* as Linux: the clock flag only for absolute waits */
    /* No timeout: as long as Linux would wait, even in a program with one
     * thread (a signal, or another process sharing the word, may end it). */
    if (!args[3])
        return host_futex(word, host_op, value, NULL, NULL, bitset);
    struct timespec timeout;
    if (linux_copy_in(process, args[3], &timeout, sizeof(timeout)))
        return -EFAULT;
    /* The host checks values, bitset and clock flag as Linux does. */
    if (timeout.tv_sec < 0 || timeout.tv_nsec < 0 || timeout.tv_nsec >= 1000000000L || !bitset)
        return -EINVAL;
    int flags = op & (FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    uint64_t deadline = futex_ns(&timeout);
    if (command == FUTEX_WAIT) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        flags &= ~FUTEX_CLOCK_REALTIME;
        deadline = (uint64_t)timeout.tv_sec > (UINT64_MAX / 4) / 1000000000ULL
                       ? UINT64_MAX / 4
                       : deadline + futex_ns(&now);
    }
    return futex_wait_until(thread, args[0], word, value, bitset, flags, deadline);
}

static long sys_futex(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int op = (int)args[1];
    int command = op & FUTEX_CMD_MASK;
    /* The guest's clock and private flags go to the host, which rejects
     * the clock where Linux does (see the top). */
    int host_op = command | (op & (FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME));
    uint32_t value = (uint32_t)args[2];
    uint32_t *word, *word2;
    long result;
    switch (command) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
        return futex_wait(thread, args, command, op);
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
        result = futex_word(process, args[0], GUEST_ACCESS_USER_READ, &word);
        if (result < 0)
            return result;
        return host_futex(word, host_op, value, NULL, NULL, (uint32_t)args[5]);
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
    case FUTEX_WAKE_OP:
        result = futex_word(process, args[0], GUEST_ACCESS_USER_READ, &word);
        if (result == 0)
            result = futex_word(process, args[4],
                                command == FUTEX_WAKE_OP ? GUEST_ACCESS_USER_WRITE
                                                         : GUEST_ACCESS_USER_READ,
                                &word2);
        if (result < 0)
            return result;
        /* The fourth argument is a count here, not a timeout. WAKE_OP
         * changes word2 (see linux_thread_exclusive). */
        if (command == FUTEX_WAKE_OP)
            linux_thread_exclusive(thread, true);
        result = host_futex(word, host_op, value, (const void *)(uintptr_t)(uint32_t)args[3], word2,
                            (uint32_t)args[5]);
        if (command == FUTEX_WAKE_OP)
            linux_thread_exclusive(thread, false);
        return result;
    default:
        /* The priority-inheritance operations store tids the host kernel
         * would take for its own (the main thread is tid 1 here). */
        return linux_sys_unsupported(process, SYS_futex);
    }
}

void linux_register_futex(linux_handler *table)
{
    table[SYS_futex] = sys_futex;
}

/* A robust futex whose owner (tid) died: marks it FUTEX_OWNER_DIED, keeps
 * FUTEX_WAITERS, and wakes one waiter so it can take the lock over. */
void linux_futex_owner_died(struct linux_process *process, uint64_t address, int tid)
{
    uint32_t *word;
    if (futex_word(process, address, GUEST_ACCESS_USER_WRITE, &word) < 0)
        return;
    uint32_t old = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    for (;;) {
        if ((old & FUTEX_TID_MASK) != (uint32_t)tid)
            return;
        uint32_t desired = (old & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        if (__atomic_compare_exchange_n(word, &old, desired, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            break;
    }
    if (old & FUTEX_WAITERS)
        host_futex(word, FUTEX_WAKE, 1, NULL, NULL, 0); /* shared, as Linux's */
}
