/*
 * linux/signalfd.c — signalfd and signalfd4: signals read as data.
 *
 * The program's signals are the personality's, not the host's, so a
 * signalfd is a host eventfd the personality keeps readable exactly while a
 * signal of its mask is pending (the process's set or the main thread's):
 * poll, select and epoll then see it as Linux shows a signalfd, with no
 * polling. Every change of the pending sets calls linux_signalfd_refresh
 * under the signal lock; read takes the signals off the queues as
 * struct signalfd_siginfo.
 *
 * Not carried: across execve a signalfd is not kept (the fd is closed), and
 * a fork's child shares the eventfd with its parent, so each side's pending
 * signals make both readable (reads still take only the reader's own).
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SIGNALFD_SIGSET_SIZE 8
#define SIGNALFD_CLOEXEC     02000000
#define SIGNALFD_NONBLOCK    04000

struct linux_signalfd {
    int refs;      /* guest fds naming it (dup, dup2...) */
    uint64_t mask; /* signals it reads, under signal_lock */
    int event_fd;  /* its own duplicate of the eventfd the guest fds name */
    bool readable; /* the eventfd's counter is 1 */
};

/* struct signalfd_siginfo as Linux lays it out (128 bytes). */
struct signalfd_record {
    uint32_t signo;
    int32_t error;
    int32_t code;
    uint32_t pid;
    uint32_t uid;
    int32_t fd;
    uint32_t tid;
    uint32_t band;
    uint32_t overrun;
    uint32_t trapno;
    int32_t status;
    int32_t int_value;
    uint64_t ptr;
    uint64_t utime;
    uint64_t stime;
    uint64_t addr;
    uint16_t addr_lsb;
    uint16_t padding2;
    int32_t syscall;
    uint64_t call_addr;
    uint32_t arch;
    uint8_t padding[28];
};
_Static_assert(sizeof(struct signalfd_record) == 128, "signalfd_siginfo is 128 bytes");

#define SIGNALFD_SI_TIMER (-2)

/* Called with signal_lock held: the eventfd follows the pending sets. */
void linux_signalfd_refresh(struct linux_process *process)
{
    uint64_t pending = process->pending.mask | process->main_thread->pending.mask;
    for (GSList *item = process->signalfds; item; item = item->next) {
        struct linux_signalfd *signalfd = item->data;
        bool ready = (pending & signalfd->mask) != 0;
        if (ready == signalfd->readable)
            continue;
        uint64_t count = 1;
        /* The counter is 1 exactly when readable: neither call blocks. */
        ssize_t done = ready ? write(signalfd->event_fd, &count, sizeof(count))
                             : read(signalfd->event_fd, &count, sizeof(count));
        if (done == sizeof(count))
            signalfd->readable = ready;
    }
}

struct linux_signalfd *linux_signalfd_ref(struct linux_signalfd *signalfd)
{
    if (signalfd)
        __atomic_add_fetch(&signalfd->refs, 1, __ATOMIC_SEQ_CST);
    return signalfd;
}

void linux_signalfd_unref(struct linux_process *process, struct linux_signalfd *signalfd)
{
    if (!signalfd || __atomic_sub_fetch(&signalfd->refs, 1, __ATOMIC_SEQ_CST) > 0)
        return;
    g_mutex_lock(&process->signal_lock);
    process->signalfds = g_slist_remove(process->signalfds, signalfd);
    g_mutex_unlock(&process->signal_lock);
    close(signalfd->event_fd);
    g_free(signalfd);
}

uint64_t linux_signalfd_mask(const struct linux_signalfd *signalfd)
{
    return signalfd->mask;
}

/* Makes the guest fd's eventfd (host_fd) a signalfd of mask: its own copy
 * of the eventfd, registered for refresh. */
static int signalfd_attach(struct linux_process *process, int fd, int host_fd, uint64_t mask)
{
    struct linux_signalfd *signalfd = g_new0(struct linux_signalfd, 1);
    signalfd->refs = 1;
    signalfd->mask = mask;
    /* Its own copy, so that refresh never depends on the guest's fds; the
     * copy shares O_NONBLOCK with them, which refresh never relies on. */
    signalfd->event_fd = fcntl(host_fd, F_DUPFD_CLOEXEC, 3);
    if (signalfd->event_fd < 0) {
        g_free(signalfd);
        return -errno;
    }
    process->fds[fd].signalfd = signalfd;
    g_mutex_lock(&process->signal_lock);
    process->signalfds = g_slist_prepend(process->signalfds, signalfd);
    linux_signalfd_refresh(process);
    g_mutex_unlock(&process->signal_lock);
    return 0;
}

/* Across execve the eventfd keeps its count, which says readable or not as
 * the old monitor last set it: refresh starts from what it finds. */
int linux_signalfd_adopt(struct linux_process *process, int guest_fd, uint64_t mask)
{
    int host_fd = linux_fd_entry_host(&process->fds[guest_fd]);
    uint64_t count;
    bool nonblocking = fcntl(host_fd, F_GETFL) & O_NONBLOCK;
    if (!nonblocking)
        fcntl(host_fd, F_SETFL, fcntl(host_fd, F_GETFL) | O_NONBLOCK);
    while (read(host_fd, &count, sizeof count) == (ssize_t)sizeof count)
        ;
    if (!nonblocking)
        fcntl(host_fd, F_SETFL, fcntl(host_fd, F_GETFL) & ~O_NONBLOCK);
    return signalfd_attach(process, guest_fd, host_fd, mask);
}

static long signalfd_create(struct linux_process *process, uint64_t mask, int flags)
{
    int host_fd = eventfd(0, EFD_CLOEXEC | ((flags & SIGNALFD_NONBLOCK) ? EFD_NONBLOCK : 0));
    if (host_fd < 0)
        return linux_host_error();
    long fd = linux_fd_install(process, host_fd, 0, flags & SIGNALFD_CLOEXEC);
    if (fd < 0)
        return fd;
    int error = signalfd_attach(process, (int)fd, host_fd, mask);
    if (error) {
        linux_fd_release(process, (int)fd);
        return error;
    }
    return fd;
}

static long signalfd_common(struct linux_thread *thread, int64_t fd, uint64_t mask_address,
                            uint64_t size, int flags)
{
    struct linux_process *process = thread->process;
    if (size != SIGNALFD_SIGSET_SIZE || (flags & ~(SIGNALFD_CLOEXEC | SIGNALFD_NONBLOCK)))
        return -EINVAL;
    uint64_t mask;
    if (linux_copy_in(process, mask_address, &mask, sizeof(mask)))
        return -EFAULT;
    mask &= ~(LINUX_SIGNAL_BIT(SIGKILL) | LINUX_SIGNAL_BIT(SIGSTOP));
    if ((int32_t)fd == -1)
        return signalfd_create(process, mask, flags);
    if (linux_fd_host(process, (uint64_t)fd) < 0)
        return -EBADF;
    struct linux_signalfd *signalfd = process->fds[(uint32_t)fd].signalfd;
    if (!signalfd)
        return -EINVAL;
    g_mutex_lock(&process->signal_lock);
    signalfd->mask = mask;
    linux_signalfd_refresh(process);
    g_mutex_unlock(&process->signal_lock);
    return (int32_t)fd;
}

static long sys_signalfd(struct linux_thread *thread, const uint64_t *args)
{
    return signalfd_common(thread, (int64_t)args[0], args[1], args[2], 0);
}

static long sys_signalfd4(struct linux_thread *thread, const uint64_t *args)
{
    return signalfd_common(thread, (int64_t)args[0], args[1], args[2], (int)args[3]);
}

/* What Linux's signalfd_copyinfo fills for each kind of siginfo. */
static void signalfd_record_of(const struct linux_siginfo *info, struct signalfd_record *record)
{
    memset(record, 0, sizeof(*record));
    record->signo = (uint32_t)info->signo;
    record->error = info->error;
    record->code = info->code;
    bool fault = info->code > 0 && info->code != 0x80 &&
                 (info->signo == SIGSEGV || info->signo == SIGBUS || info->signo == SIGILL ||
                  info->signo == SIGFPE || info->signo == SIGTRAP);
    if (fault) {
        record->addr = info->fields.fault.address;
    } else if (info->code == SIGNALFD_SI_TIMER) {
        record->tid = (uint32_t)info->fields.timer.id;
        record->overrun = (uint32_t)info->fields.timer.overrun;
        record->ptr = info->fields.timer.value;
        record->int_value = (int32_t)info->fields.timer.value;
    } else {
        record->pid = (uint32_t)info->fields.kill.pid;
        record->uid = info->fields.kill.uid;
        if (info->code < 0) { /* sigqueue and the other real-time kinds */
            record->ptr = info->fields.kill.value;
            record->int_value = (int32_t)info->fields.kill.value;
        }
    }
}

/* Waits for the signalfd to become readable; a kick ends the wait (EINTR). */
static long signalfd_wait(int host_fd)
{
    struct pollfd wait = {host_fd, POLLIN, 0};
    return poll(&wait, 1, -1) < 0 ? linux_host_error() : 0;
}

long linux_signalfd_read(struct linux_thread *thread, uint64_t guest_fd, uint64_t buffer,
                         uint64_t count)
{
    struct linux_process *process = thread->process;
    struct linux_signalfd *signalfd = process->fds[(uint32_t)guest_fd].signalfd;
    int host_fd = linux_fd_entry_host(&process->fds[(uint32_t)guest_fd]);
    uint64_t room = count / sizeof(struct signalfd_record);
    if (!room)
        return -EINVAL;
    for (;;) {
        uint64_t done = 0;
        while (done < room) {
            struct linux_siginfo info;
            if (!linux_signal_dequeue(thread, signalfd->mask, &info))
                break;
            struct signalfd_record record;
            signalfd_record_of(&info, &record);
            /* A signal taken but not written is lost, as on Linux. */
            if (linux_copy_out(process, buffer + done * sizeof(record), &record, sizeof(record)))
                return done ? (long)(done * sizeof(record)) : -EFAULT;
            done++;
        }
        if (done)
            return (long)(done * sizeof(struct signalfd_record));
        int flags = fcntl(host_fd, F_GETFL);
        if (flags >= 0 && (flags & O_NONBLOCK))
            return -EAGAIN;
        long error = signalfd_wait(host_fd);
        if (error)
            return error;
    }
}

void linux_register_signalfd(linux_handler *table)
{
    table[SYS_signalfd] = sys_signalfd;
    table[SYS_signalfd4] = sys_signalfd4;
}
