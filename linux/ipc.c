/*
 * linux/ipc.c — System V IPC: shared memory, semaphores, message queues.
 *
 * The objects are the host's, in the host's IPC namespace: keys, ids,
 * permissions and lifetimes are what a native run sees, shared with every
 * process of the machine (PostgreSQL's postmaster and backends, ipcs, ipcmk),
 * and a fork child (a host process) inherits its parent's attachments as
 * Linux's does. A call is the host's call with its structures copied in and
 * out of guest memory; a blocking semop, msgsnd or msgrcv is interrupted by
 * the program's signals (the vCPU thread's kick) and fails with EINTR, never
 * restarted, as Linux does for them whatever SA_RESTART says.
 *
 * shmat attaches the segment in the monitor, then moves the host's pages
 * behind guest frames (memory/'s guest_map_host_shared): the program, the
 * monitor's own accesses and the other processes share the same pages.
 */
#include "linux/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The most bytes one message or one semop array may move through the
 * monitor: far above Linux's defaults (MSGMAX 8 KiB, SEMOPM 500). */
#define IPC_MAX_COPY (1u << 20)

/* IPC_64, which 64-bit callers may or may not add to cmd. */
#define IPC_VERSION_FLAG 0x100

static long host_result(long result)
{
    return result < 0 ? linux_host_error() : result;
}

/* A *ctl call that moves a structure: copied in (IPC_SET) or out around the
 * host's call. semctl has the semaphore's number before cmd (semnum >= 0);
 * the others do not (-1). */
static long structure_call(struct linux_process *process, long number, int id, int semnum, int cmd,
                           uint64_t address, size_t size, bool in)
{
    union {
        struct shmid_ds shm;
        struct shminfo shm_info;
        struct shm_info shm_usage;
        struct semid_ds sem;
        struct seminfo sem_info;
        struct msqid_ds msg;
        struct msginfo msg_info;
    } data;
    memset(&data, 0, sizeof(data));
    if (size > sizeof(data))
        return -EINVAL;
    if (in && linux_copy_in(process, address, &data, size))
        return -EFAULT;
    long result =
        semnum >= 0 ? syscall(number, id, semnum, cmd, &data) : syscall(number, id, cmd, &data);
    if (result < 0)
        return linux_host_error();
    if (!in && linux_copy_out(process, address, &data, size))
        return -EFAULT;
    return result;
}

/* ---- shared memory ---------------------------------------------------------- */

static long sys_shmget(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return host_result(syscall(SYS_shmget, (key_t)args[0], (size_t)args[1], (int)args[2]));
}

/* dev and ino of the host mapping at host (the segment's file in the kernel's
 * shm mount), from /proc/self/maps; false if it is not there. */
static bool mapping_identity(const void *host, uint64_t *dev, uint64_t *ino)
{
    FILE *maps = fopen("/proc/self/maps", "re");
    if (!maps)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof(line), maps)) {
        unsigned long long start, end, offset, inode;
        unsigned int major_number, minor_number;
        char perms[8];
        if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &start, &end, perms, &offset,
                   &major_number, &minor_number, &inode) == 7 &&
            start == (unsigned long long)(uintptr_t)host) {
            *dev = makedev(major_number, minor_number);
            *ino = inode;
            found = true;
        }
    }
    fclose(maps);
    return found;
}

static long sys_shmat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int id = (int)args[0], flags = (int)args[2];
    uint64_t address = args[1];
    if (flags & SHM_RND)
        address &= ~(uint64_t)(SHMLBA - 1);
    if (address % GUEST_PAGE_SIZE != 0)
        return -EINVAL;
    struct shmid_ds status;
    if (shmctl(id, IPC_STAT, &status) != 0)
        return linux_host_error();
    uint64_t len = ((uint64_t)status.shm_segsz + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
    if (len == 0)
        return -EINVAL;
    void *host = shmat(id, NULL, flags & SHM_RDONLY);
    if (host == (void *)-1)
        return linux_host_error();
    uint64_t dev = 0, ino = 0;
    long result = mapping_identity(host, &dev, &ino) ? 0 : -ENOMEM;
    if (result == 0)
        result = linux_mm_place(process, address, len, (flags & SHM_REMAP) != 0, &address);
    int prot = GUEST_PROT_READ | GUEST_PROT_USER;
    if (!(flags & SHM_RDONLY))
        prot |= GUEST_PROT_WRITE;
    if (flags & SHM_EXEC)
        prot |= GUEST_PROT_EXEC;
    char name[32];
    /* As Linux names it: the segment's file in its internal shm mount. */
    snprintf(name, sizeof(name), "/SYSV%08x (deleted)", (unsigned int)status.shm_perm.__key);
    if (result == 0)
        result = guest_map_host_shared(process->memory, address, len, prot, GUEST_REGION_MMAP, name,
                                       host, dev, ino);
    /* What was not moved behind the frames is still attached here. */
    if (result != 0)
        munmap(host, len);
    return result ? result : (long)address;
}

/* shmdt: every mapping of the segment attached at address, from there on, as
 * Linux detaches the whole attachment (pieces split off by mprotect too). */
static long sys_shmdt(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t address = args[0];
    if (address % GUEST_PAGE_SIZE != 0)
        return -EINVAL;
    const struct guest_region *region = guest_region_lookup(process->memory, address);
    uint64_t dev, ino, offset;
    bool shared;
    if (!region || region->start != address || strncmp(region->name, "/SYSV", 5) != 0 ||
        !guest_region_file(region, &dev, &ino, &offset, &shared) || offset != 0)
        return -EINVAL;
    uint64_t end = region->end;
    for (;;) {
        const struct guest_region *next = guest_region_lookup(process->memory, end);
        uint64_t next_dev, next_ino, next_offset;
        if (!next || next->start != end ||
            !guest_region_file(next, &next_dev, &next_ino, &next_offset, &shared) ||
            next_dev != dev || next_ino != ino || next_offset != end - address)
            break;
        end = next->end;
    }
    return guest_unmap(process->memory, address, end - address);
}

static long sys_shmctl(struct linux_thread *thread, const uint64_t *args)
{
    int id = (int)args[0], cmd = (int)args[1] & ~IPC_VERSION_FLAG;
    switch (cmd) {
    case IPC_STAT:
    case SHM_STAT:
    case SHM_STAT_ANY:
    case IPC_SET:
        return structure_call(thread->process, SYS_shmctl, id, -1, cmd, args[2],
                              sizeof(struct shmid_ds), cmd == IPC_SET);
    case IPC_INFO:
        return structure_call(thread->process, SYS_shmctl, id, -1, cmd, args[2],
                              sizeof(struct shminfo), false);
    case SHM_INFO:
        return structure_call(thread->process, SYS_shmctl, id, -1, cmd, args[2],
                              sizeof(struct shm_info), false);
    case IPC_RMID:
    case SHM_LOCK:
    case SHM_UNLOCK:
        return host_result(syscall(SYS_shmctl, id, cmd, NULL));
    default:
        return -EINVAL;
    }
}

/* ---- semaphores ------------------------------------------------------------- */

static long sys_semget(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return host_result(syscall(SYS_semget, (key_t)args[0], (int)args[1], (int)args[2]));
}

static long semop_common(struct linux_thread *thread, const uint64_t *args, uint64_t timeout)
{
    struct linux_process *process = thread->process;
    uint64_t count = args[2];
    if (count == 0)
        return -EINVAL;
    if (count * sizeof(struct sembuf) > IPC_MAX_COPY)
        return -E2BIG;
    struct timespec limit, *limit_pointer = NULL;
    if (timeout) {
        if (linux_copy_in(process, timeout, &limit, sizeof(limit)))
            return -EFAULT;
        limit_pointer = &limit;
    }
    struct sembuf *operations = g_new(struct sembuf, count);
    long result = linux_copy_in(process, args[1], operations, count * sizeof(*operations))
                      ? -EFAULT
                      : host_result(syscall(SYS_semtimedop, (int)args[0], operations, (size_t)count,
                                            limit_pointer));
    g_free(operations);
    return result;
}

static long sys_semop(struct linux_thread *thread, const uint64_t *args)
{
    return semop_common(thread, args, 0);
}

static long sys_semtimedop(struct linux_thread *thread, const uint64_t *args)
{
    return semop_common(thread, args, args[3]);
}

/* How many semaphores set id has, for GETALL and SETALL. */
static long semaphore_count(int id)
{
    struct semid_ds status;
    if (syscall(SYS_semctl, id, 0, IPC_STAT, &status) != 0)
        return linux_host_error();
    return (long)status.sem_nsems;
}

static long semctl_array(struct linux_process *process, int id, int cmd, uint64_t address)
{
    long count = semaphore_count(id);
    if (count < 0)
        return count;
    unsigned short *values = g_new0(unsigned short, count ? count : 1);
    size_t size = (size_t)count * sizeof(*values);
    long result = 0;
    if (cmd == SETALL && linux_copy_in(process, address, values, size))
        result = -EFAULT;
    if (result == 0)
        result = host_result(syscall(SYS_semctl, id, 0, cmd, values));
    if (result == 0 && cmd == GETALL && linux_copy_out(process, address, values, size))
        result = -EFAULT;
    g_free(values);
    return result;
}

static long sys_semctl(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int id = (int)args[0], number = (int)args[1], cmd = (int)args[2] & ~IPC_VERSION_FLAG;
    switch (cmd) {
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT:
    case IPC_RMID:
        return host_result(syscall(SYS_semctl, id, number, cmd, 0));
    case SETVAL:
        return host_result(syscall(SYS_semctl, id, number, cmd, (int)args[3]));
    case GETALL:
    case SETALL:
        return semctl_array(process, id, cmd, args[3]);
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY:
    case IPC_SET:
        return structure_call(process, SYS_semctl, id, MAX(number, 0), cmd, args[3],
                              sizeof(struct semid_ds), cmd == IPC_SET);
    case IPC_INFO:
    case SEM_INFO:
        return structure_call(process, SYS_semctl, id, MAX(number, 0), cmd, args[3],
                              sizeof(struct seminfo), false);
    default:
        return -EINVAL;
    }
}

/* ---- message queues --------------------------------------------------------- */

static long sys_msgget(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return host_result(syscall(SYS_msgget, (key_t)args[0], (int)args[1]));
}

/* A message as the calls move it: its type, then its text. */
static long sys_msgsnd(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t size = args[2];
    if ((int64_t)size < 0 || size > IPC_MAX_COPY)
        return -EINVAL;
    uint8_t *message = g_malloc(sizeof(long) + size);
    long result =
        linux_copy_in(process, args[1], message, sizeof(long) + size)
            ? -EFAULT
            : host_result(syscall(SYS_msgsnd, (int)args[0], message, (size_t)size, (int)args[3]));
    g_free(message);
    return result;
}

static long sys_msgrcv(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t size = args[2];
    if ((int64_t)size < 0)
        return -EINVAL;
    size = MIN(size, IPC_MAX_COPY);
    uint8_t *message = g_malloc0(sizeof(long) + size);
    long result = host_result(
        syscall(SYS_msgrcv, (int)args[0], message, (size_t)size, (long)args[3], (int)args[4]));
    if (result >= 0 && linux_copy_out(process, args[1], message, sizeof(long) + (size_t)result))
        result = -EFAULT;
    g_free(message);
    return result;
}

static long sys_msgctl(struct linux_thread *thread, const uint64_t *args)
{
    int id = (int)args[0], cmd = (int)args[1] & ~IPC_VERSION_FLAG;
    switch (cmd) {
    case IPC_RMID:
        return host_result(syscall(SYS_msgctl, id, cmd, NULL));
    case IPC_STAT:
    case MSG_STAT:
    case MSG_STAT_ANY:
    case IPC_SET:
        return structure_call(thread->process, SYS_msgctl, id, -1, cmd, args[2],
                              sizeof(struct msqid_ds), cmd == IPC_SET);
    case IPC_INFO:
    case MSG_INFO:
        return structure_call(thread->process, SYS_msgctl, id, -1, cmd, args[2],
                              sizeof(struct msginfo), false);
    default:
        return -EINVAL;
    }
}

void linux_register_ipc(linux_handler *table)
{
    table[SYS_shmget] = sys_shmget;
    table[SYS_shmat] = sys_shmat;
    table[SYS_shmdt] = sys_shmdt;
    table[SYS_shmctl] = sys_shmctl;
    table[SYS_semget] = sys_semget;
    table[SYS_semop] = sys_semop;
    table[SYS_semtimedop] = sys_semtimedop;
    table[SYS_semctl] = sys_semctl;
    table[SYS_msgget] = sys_msgget;
    table[SYS_msgsnd] = sys_msgsnd;
    table[SYS_msgrcv] = sys_msgrcv;
    table[SYS_msgctl] = sys_msgctl;
    /* Never restarted after a handler, whatever SA_RESTART says (signal(7)). */
    linux_signal_set_interrupted(SYS_semop, LINUX_INTERRUPTED_FINAL);
    linux_signal_set_interrupted(SYS_semtimedop, LINUX_INTERRUPTED_FINAL);
    linux_signal_set_interrupted(SYS_msgsnd, LINUX_INTERRUPTED_FINAL);
    linux_signal_set_interrupted(SYS_msgrcv, LINUX_INTERRUPTED_FINAL);
}
