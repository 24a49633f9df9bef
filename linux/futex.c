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
 * All threads of the program are threads of the monitor, so private host
 * futexes serve the program's private and shared ones alike.
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
    return host_futex(word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, (uint32_t)count, NULL, NULL, 0);
}

static bool alone(struct linux_process *process)
{
    g_mutex_lock(&process->threads_lock);
    bool result = process->threads->len <= 1;
    g_mutex_unlock(&process->threads_lock);
    return result;
}

/*
 * A wait with no timeout in a program with one thread can only end by a
 * signal, and none is delivered into the guest yet: instead of hanging it
 * fails with -EDEADLK (it is one), which glibc reports as "The futex facility
 * returned an unexpected error code" and aborts — a diagnosable end.
 */
static long futex_wait(struct linux_thread *thread, uint32_t *word, int host_op, uint32_t value,
                       uint64_t timeout_address, uint32_t bitset)
{
    struct linux_process *process = thread->process;
    struct timespec timeout;
    if (timeout_address && linux_copy_in(process, timeout_address, &timeout, sizeof(timeout)))
        return -EFAULT;
    if (!timeout_address && alone(process) && __atomic_load_n(word, __ATOMIC_SEQ_CST) == value) {
        if (process->config.verbose)
            fprintf(stderr, "hermitux-run: futex wait with no other thread to wake it\n");
        return -EDEADLK;
    }
    return host_futex(word, host_op, value, timeout_address ? &timeout : NULL, NULL, bitset);
}

static long sys_futex(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int op = (int)args[1];
    int command = op & FUTEX_CMD_MASK;
    /* The guest's clock flag goes to the host, which rejects it where
     * Linux does; everything is private there (see the top). */
    int host_op = command | FUTEX_PRIVATE_FLAG | (op & FUTEX_CLOCK_REALTIME);
    uint32_t value = (uint32_t)args[2];
    uint32_t *word, *word2;
    long result;
    switch (command) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
        result = futex_word(process, args[0], GUEST_ACCESS_USER_READ, &word);
        if (result < 0)
            return result;
        return futex_wait(thread, word, host_op, value, args[3],
                          command == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : (uint32_t)args[5]);
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
        /* The fourth argument is a count here, not a timeout. */
        return host_futex(word, host_op, value, (const void *)(uintptr_t)(uint32_t)args[3], word2,
                          (uint32_t)args[5]);
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
        host_futex(word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
}
