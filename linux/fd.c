/*
 * linux/fd.c — the program's file descriptor table and the calls that only
 * rearrange it (close, dup*, fcntl, pipe*).
 *
 * Guest fd numbers index process->fds; each names a host fd the monitor
 * opened with O_CLOEXEC. The program only ever passes guest numbers, so it
 * cannot reach the monitor's own fds (KVM, the ELF file, the terminal it was
 * not given).
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <linux/close_range.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

int linux_fd_limit(const struct linux_process *process)
{
    rlim_t soft = process->limits[RLIMIT_NOFILE].rlim_cur;
    return soft > LINUX_MAX_FDS ? LINUX_MAX_FDS : (int)soft;
}

int linux_fd_host(const struct linux_process *process, uint64_t guest_fd)
{
    /* The argument is an int in the kernel: the upper half is ignored. */
    uint32_t fd = (uint32_t)guest_fd;
    if (fd >= LINUX_MAX_FDS)
        return -1;
    /* Without fd_lock: another thread may be filling or freeing the slot
     * (a race of the program's own, as natively), never a torn value. */
    return linux_fd_entry_host(&process->fds[fd]);
}

/* Linux's table size after it grows to hold fd (alloc_fdtable): 1 KiB
 * of pointers (128 fds) times a power of two. */
static int table_size_for(int fd)
{
    if (fd < 64)
        return 64; /* NR_OPEN_DEFAULT, the table in files_struct itself */
    int size = 128;
    while (size <= fd)
        size *= 2;
    return MIN(size, LINUX_MAX_FDS);
}

static void table_grow_to_hold(struct linux_process *process, int fd)
{
    int wanted = table_size_for(fd);
    int now = atomic_load(&process->fd_table_size);
    while (now < wanted && !atomic_compare_exchange_weak(&process->fd_table_size, &now, wanted)) {
    }
}

int linux_fd_scan_end(const struct linux_process *process)
{
    return atomic_load(&process->fd_table_size);
}

void linux_fd_set(struct linux_process *process, int guest_fd, int host_fd)
{
    if (host_fd >= 0)
        table_grow_to_hold(process, guest_fd);
    __atomic_store_n(&process->fds[guest_fd].host_fd_1, host_fd + 1, __ATOMIC_RELEASE);
}

void linux_fd_table_after_fork(struct linux_process *process)
{
    int highest = -1;
    for (int fd = 0; fd < linux_fd_scan_end(process); fd++) {
        if (linux_fd_entry_host(&process->fds[fd]) >= 0)
            highest = fd;
    }
    atomic_store(&process->fd_table_size, table_size_for(highest));
}

int linux_fd_table_host_size(void)
{
    int size = 64;
    FILE *status = fopen("/proc/self/status", "re");
    char line[256];
    while (status && fgets(line, sizeof(line), status)) {
        if (strncmp(line, "FDSize:", 7) == 0) {
            size = atoi(line + 7);
            break;
        }
    }
    if (status)
        fclose(status);
    return CLAMP(size, 64, LINUX_MAX_FDS);
}

static void install_at(struct linux_process *process, int guest_fd, int host_fd, bool cloexec)
{
    struct linux_fd *entry = &process->fds[guest_fd];
    struct stat st;
    bool known = fstat(host_fd, &st) == 0;
    struct statfs fs;
    entry->cloexec = cloexec;
    entry->regular = known && S_ISREG(st.st_mode);
    /* Lookups under a procfs directory are decided by proc.c. */
    entry->on_proc =
        known && S_ISDIR(st.st_mode) && fstatfs(host_fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
    entry->proc = NULL;
    entry->signalfd = NULL;
    entry->owner_tid = 0;
    /* Last: a lookup that sees the fd sees the rest filled in. */
    linux_fd_set(process, guest_fd, host_fd);
}

long linux_fd_free_slot(const struct linux_process *process, int minimum)
{
    int limit = linux_fd_limit(process);
    for (int fd = minimum < 0 ? 0 : minimum; fd < limit; fd++) {
        if (linux_fd_entry_host(&process->fds[fd]) < 0)
            return fd;
    }
    return -EMFILE;
}

long linux_fd_install(struct linux_process *process, int host_fd, int minimum, bool cloexec)
{
    g_mutex_lock(&process->fd_lock);
    long fd = linux_fd_free_slot(process, minimum);
    if (fd >= 0)
        install_at(process, (int)fd, host_fd, cloexec);
    g_mutex_unlock(&process->fd_lock);
    if (fd < 0)
        close(host_fd);
    return fd;
}

static int release_locked(struct linux_process *process, int guest_fd);

int linux_fd_release(struct linux_process *process, int guest_fd)
{
    g_mutex_lock(&process->fd_lock);
    int result = release_locked(process, guest_fd);
    g_mutex_unlock(&process->fd_lock);
    return result;
}

static int release_locked(struct linux_process *process, int guest_fd)
{
    struct linux_fd *entry = &process->fds[guest_fd];
    int host_fd = linux_fd_entry_host(entry);
    linux_fd_set(process, guest_fd, -1);
    entry->cloexec = false;
    entry->owner_tid = 0;
    linux_proc_fd_unref(entry->proc);
    entry->proc = NULL;
    linux_signalfd_unref(process, entry->signalfd);
    entry->signalfd = NULL;
    return close(host_fd);
}

/* A host duplicate for a new guest fd; the monitor's copy is always
 * close-on-exec, whatever the program asked for its own fd. */
static int host_dup(int host_fd)
{
    return fcntl(host_fd, F_DUPFD_CLOEXEC, 3);
}

static long sys_close(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (linux_fd_host(process, args[0]) < 0)
        return -EBADF;
    /* Linux frees the fd even when close reports an error; EINTR there
     * does not mean "try again". */
    if (linux_fd_release(process, (int)(uint32_t)args[0]) != 0 && errno != EINTR)
        return linux_host_error();
    return 0;
}

static long dup_from(struct linux_process *process, uint64_t old_fd, int minimum, bool cloexec)
{
    int host_fd = linux_fd_host(process, old_fd);
    if (host_fd < 0)
        return -EBADF;
    int copy = host_dup(host_fd);
    if (copy < 0)
        return linux_host_error();
    long fd = linux_fd_install(process, copy, minimum, cloexec);
    if (fd >= 0) {
        process->fds[fd].proc = linux_proc_fd_ref(process->fds[(uint32_t)old_fd].proc);
        process->fds[fd].signalfd = linux_signalfd_ref(process->fds[(uint32_t)old_fd].signalfd);
    }
    return fd;
}

static long sys_dup(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return dup_from(process, args[0], 0, false);
}

static long dup_onto(struct linux_process *process, uint64_t old_fd, uint64_t new_fd, bool cloexec)
{
    int host_fd = linux_fd_host(process, old_fd);
    if (host_fd < 0)
        return -EBADF;
    uint32_t target = (uint32_t)new_fd;
    if (target >= (uint32_t)linux_fd_limit(process))
        return -EBADF;
    int copy = host_dup(host_fd);
    if (copy < 0)
        return linux_host_error();
    g_mutex_lock(&process->fd_lock);
    struct linux_proc_fd *proc = linux_proc_fd_ref(process->fds[(uint32_t)old_fd].proc);
    struct linux_signalfd *signalfd = linux_signalfd_ref(process->fds[(uint32_t)old_fd].signalfd);
    if (linux_fd_entry_host(&process->fds[target]) >= 0)
        release_locked(process, (int)target);
    install_at(process, (int)target, copy, cloexec);
    process->fds[target].proc = proc;
    process->fds[target].signalfd = signalfd;
    g_mutex_unlock(&process->fd_lock);
    return target;
}

static long sys_dup2(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if ((uint32_t)args[0] == (uint32_t)args[1])
        return linux_fd_host(process, args[0]) < 0 ? -EBADF : (long)(uint32_t)args[1];
    return dup_onto(process, args[0], args[1], false);
}

static long sys_dup3(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int flags = (int)args[2];
    if (flags & ~O_CLOEXEC)
        return -EINVAL;
    if ((uint32_t)args[0] == (uint32_t)args[1])
        return -EINVAL;
    return dup_onto(process, args[0], args[1], flags & O_CLOEXEC);
}

/*
 * F_SETOWN_EX / F_GETOWN_EX (glibc's fcntl(F_GETOWN) is F_GETOWN_EX). A
 * thread owner is given to the host as its process: a guest thread's host
 * thread keeps every forwarded signal blocked, so a signal directed at it
 * would never be taken; the process's forwarder hands it to a thread that
 * takes it. The thread is kept for F_GETOWN_EX.
 */
static long owner_ex(struct linux_process *process, struct linux_fd *entry, int host_fd,
                     int command, uint64_t address)
{
    struct f_owner_ex owner;
    if (command == F_GETOWN_EX) {
        if (entry->owner_tid) {
            owner = (struct f_owner_ex){.type = F_OWNER_TID, .pid = entry->owner_tid};
        } else if (fcntl(host_fd, F_GETOWN_EX, &owner) != 0) {
            return linux_host_error();
        }
        return linux_copy_out(process, address, &owner, sizeof owner) ? -EFAULT : 0;
    }
    if (linux_copy_in(process, address, &owner, sizeof owner))
        return -EFAULT;
    struct f_owner_ex host_owner = owner;
    if (owner.type == F_OWNER_TID) {
        if (owner.pid <= 0 || !linux_thread_find(process, owner.pid))
            return -ESRCH;
        host_owner = (struct f_owner_ex){.type = F_OWNER_PID, .pid = linux_pid()};
    }
    if (fcntl(host_fd, F_SETOWN_EX, &host_owner) != 0)
        return linux_host_error();
    entry->owner_tid = owner.type == F_OWNER_TID ? owner.pid : 0;
    return 0;
}

/* The write-lifetime hint of the file's inode, a u64 through a pointer,
 * kept by the host's kernel for the program's file. */
static long rw_hint(struct linux_process *process, int host_fd, int command, uint64_t address)
{
    uint64_t hint = 0;
    if (command == F_SET_RW_HINT && linux_copy_in(process, address, &hint, sizeof(hint)))
        return -EFAULT;
    if (fcntl(host_fd, command, &hint) != 0)
        return linux_host_error();
    if (command == F_GET_RW_HINT && linux_copy_out(process, address, &hint, sizeof(hint)))
        return -EFAULT;
    return 0;
}

static long sys_fcntl(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    struct linux_fd *entry = &process->fds[(uint32_t)args[0]];
    int command = (int)args[1];
    switch (command) {
    case F_GETFD:
        return entry->cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
        entry->cloexec = args[2] & FD_CLOEXEC;
        return 0;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
        uint32_t minimum = (uint32_t)args[2];
        if (minimum >= (uint32_t)linux_fd_limit(process))
            return -EINVAL;
        return dup_from(process, args[0], (int)minimum, command == F_DUPFD_CLOEXEC);
    }
    case F_GETFL:
        return linux_host_result(fcntl(host_fd, F_GETFL));
    case F_SETFL:
        /* O_ASYNC too: a guest pid is a host pid, so the owner the program
         * names (F_SETOWN) is the monitor of that process, which forwards
         * the SIGIO (or F_SETSIG's signal) to its program like any signal
         * sent to it (monitor/run.c); si_fd and si_band are not carried. */
        return linux_host_result(fcntl(host_fd, F_SETFL, (int)args[2]));
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW: {
        struct flock lock;
        if (linux_copy_in(process, args[2], &lock, sizeof(lock)) != 0)
            return -EFAULT;
        if (fcntl(host_fd, command, &lock) != 0)
            return linux_host_error();
        if ((command == F_GETLK || command == F_OFD_GETLK) &&
            linux_copy_out(process, args[2], &lock, sizeof(lock)) != 0)
            return -EFAULT;
        return 0;
    }
    case F_GETOWN:
        if (entry->owner_tid)
            return entry->owner_tid;
        return linux_host_result(fcntl(host_fd, command));
    case F_SETOWN:
        entry->owner_tid = 0;
        return linux_host_result(fcntl(host_fd, command, (int)args[2]));
    case F_GETOWN_EX:
    case F_SETOWN_EX:
        return owner_ex(process, entry, host_fd, command, args[2]);
    case F_GETPIPE_SZ:
    case F_GET_SEALS:
    case F_GETLEASE:
    case F_GETSIG:
        return linux_host_result(fcntl(host_fd, command));
    case F_SETPIPE_SZ:
    case F_SETSIG:
    /* A memfd's seals are the host memfd's: its writes, truncations and
     * mappings (the guest's are the host's mappings of it) are refused by
     * the host as Linux refuses them, EBUSY while mapped writable included. */
    case F_ADD_SEALS:
        return linux_host_result(fcntl(host_fd, command, (int)args[2]));
    case F_GET_RW_HINT:
    case F_SET_RW_HINT:
        return rw_hint(process, host_fd, command, args[2]);
    default:
        return -EINVAL;
    }
}

static long make_pipe(struct linux_process *process, uint64_t address, uint64_t flags)
{
    if (flags & ~(uint64_t)(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
        return -EINVAL;
    int host_fds[2];
    if (pipe2(host_fds, O_CLOEXEC | (int)(flags & (O_NONBLOCK | O_DIRECT))) != 0)
        return linux_host_error();
    bool cloexec = flags & O_CLOEXEC;
    long reader = linux_fd_install(process, host_fds[0], 0, cloexec);
    if (reader < 0) {
        close(host_fds[1]);
        return reader;
    }
    long writer = linux_fd_install(process, host_fds[1], 0, cloexec);
    if (writer < 0) {
        linux_fd_release(process, (int)reader);
        return writer;
    }
    int guest_fds[2] = {(int)reader, (int)writer};
    if (linux_copy_out(process, address, guest_fds, sizeof(guest_fds)) != 0) {
        linux_fd_release(process, (int)reader);
        linux_fd_release(process, (int)writer);
        return -EFAULT;
    }
    return 0;
}

static long sys_pipe(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return make_pipe(process, args[0], 0);
}

static long sys_pipe2(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return make_pipe(process, args[0], args[1]);
}

/* close_range: the program's fds in [first, last] closed, or marked
 * close-on-exec (CLOSE_RANGE_CLOEXEC); CLOSE_RANGE_UNSHARE has nothing to
 * unshare (the table is the process's own). */
static long sys_close_range(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint32_t first = (uint32_t)args[0], last = (uint32_t)args[1];
    unsigned int flags = (unsigned int)args[2];
    if ((flags & ~(unsigned int)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) || first > last)
        return -EINVAL;
    for (uint32_t fd = first; fd < (uint32_t)linux_fd_scan_end(process) && fd <= last; fd++) {
        if (linux_fd_entry_host(&process->fds[fd]) < 0)
            continue;
        if (flags & CLOSE_RANGE_CLOEXEC)
            process->fds[fd].cloexec = true;
        else
            linux_fd_release(process, (int)fd);
    }
    return 0;
}

/* memfd_create: a host memfd; the name (at most 249 bytes) is the program's. */
static long sys_memfd_create(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    char name[250];
    long len =
        guest_read_string(process->memory, args[0], name, sizeof(name), GUEST_ACCESS_USER_READ);
    if (len == -ENAMETOOLONG)
        return -EINVAL;
    if (len < 0)
        return len;
    unsigned int flags = (unsigned int)args[1];
    int host_fd = (int)syscall(SYS_memfd_create, name, flags | MFD_CLOEXEC);
    if (host_fd < 0)
        return linux_host_error();
    return linux_fd_install(process, host_fd, 0, flags & MFD_CLOEXEC);
}

void linux_register_fd(linux_handler *table)
{
    table[SYS_close] = sys_close;
    table[SYS_close_range] = sys_close_range;
    table[SYS_memfd_create] = sys_memfd_create;
    table[SYS_dup] = sys_dup;
    table[SYS_dup2] = sys_dup2;
    table[SYS_dup3] = sys_dup3;
    table[SYS_fcntl] = sys_fcntl;
    table[SYS_pipe] = sys_pipe;
    table[SYS_pipe2] = sys_pipe2;
}

/* One loop for both directions: a short transfer or EINTR goes on. */
static bool transfer_all(int fd, uint8_t *at, size_t length, bool writing)
{
    while (length) {
        ssize_t n = writing ? write(fd, at, length) : read(fd, at, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        at += n;
        length -= (size_t)n;
    }
    return true;
}

bool linux_host_read_all(int fd, void *buffer, size_t length)
{
    return transfer_all(fd, buffer, length, false);
}

bool linux_host_write_all(int fd, const void *buffer, size_t length)
{
    return transfer_all(fd, (uint8_t *)(uintptr_t)buffer, length, true);
}
