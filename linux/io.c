/*
 * linux/io.c — data transfer between host fds and guest memory: the read and
 * write families, getdents64, ioctl and lseek.
 *
 * Reads and writes go straight between the host fd and guest RAM: each guest
 * buffer is described as host iovecs by guest_iovec (which checks every
 * page), at most LINUX_IO_CHUNK bytes per host call.
 */
#include "linux/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/random.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

long linux_read_path(struct linux_process *process, uint64_t address, char *path, bool allow_empty)
{
    long len =
        guest_read_string(process->memory, address, path, LINUX_PATH_MAX, GUEST_ACCESS_USER_READ);
    if (len < 0)
        return len;
    if (len == 0 && !allow_empty)
        return -ENOENT;
    return 0;
}

/* A guest buffer of a read or write. */
struct guest_segment {
    uint64_t address;
    uint64_t len;
};

/* Host iovecs per host call: enough for LINUX_IO_CHUNK in single pages
 * plus the pieces of several small guest iovecs. */
#define HOST_IOV_MAX 1024
#define CHUNK_PAGES  ((int)(LINUX_IO_CHUNK / GUEST_PAGE_SIZE) + 1)

/* Linux refuses (-EFAULT) a buffer that does not lie in user space at all,
 * before looking at pages. */
static bool in_user_space(uint64_t address, uint64_t len)
{
    return address <= GUEST_USER_TOP && len <= GUEST_USER_TOP - address;
}

/* On EPIPE Linux also sends SIGPIPE to the writer (the thread whose call
 * this is), whose default action ends the program (`yes | head`); ignored or
 * handled, the write fails. */
long linux_broken_pipe(struct linux_process *process)
{
    (void)process;
    return linux_signal_broken_pipe(linux_signal_current_thread());
}

void linux_pipe_guard_begin(sigset_t *old_mask)
{
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, old_mask);
}

void linux_pipe_guard_end(const sigset_t *old_mask)
{
    pthread_sigmask(SIG_SETMASK, old_mask, NULL);
}

static ssize_t host_transfer(int host_fd, bool is_write, const struct iovec *iov, int count,
                             int64_t offset, int rwf)
{
    if (rwf) /* preadv2 and pwritev2's RWF_* flags: the host's kernel applies them */
        return is_write ? pwritev2(host_fd, iov, count, offset, rwf)
                        : preadv2(host_fd, iov, count, offset, rwf);
    if (offset >= 0)
        return is_write ? pwritev(host_fd, iov, count, offset)
                        : preadv(host_fd, iov, count, offset);
    return is_write ? writev(host_fd, iov, count) : readv(host_fd, iov, count);
}

/*
 * Moves up to the sum of the segments' lengths between host_fd and guest
 * memory, with Linux's outcome: the bytes done before a fault or a short
 * transfer, else -EFAULT or the host's -errno. offset < 0 means the file
 * position. The host SIGPIPE is blocked around writes to non-files so a
 * closed pipe cannot kill the monitor.
 */
static long transfer(struct linux_process *process, int guest_fd, bool is_write,
                     struct guest_segment *segments, int segment_count, int64_t offset, int rwf)
{
    int host_fd = linux_fd_entry_host(&process->fds[guest_fd]);
    bool regular = process->fds[guest_fd].regular;
    enum guest_access access = is_write ? GUEST_ACCESS_USER_READ : GUEST_ACCESS_USER_WRITE;

    uint64_t total = 0;
    for (int i = 0; i < segment_count; i++) {
        if (!in_user_space(segments[i].address, segments[i].len))
            return -EFAULT;
        if (segments[i].len > LINUX_MAX_RW_COUNT - total)
            segments[i].len = LINUX_MAX_RW_COUNT - total;
        total += segments[i].len;
    }

    struct iovec iov[HOST_IOV_MAX];
    uint64_t done = 0;
    int segment = 0;
    uint64_t segment_offset = 0;
    bool first = true;
    for (;;) {
        /* Plan one host call: iovecs for the next bytes, stopping at the
         * first inaccessible page. */
        int count = 0;
        uint64_t planned = 0;
        bool fault = false;
        int plan_segment = segment;
        uint64_t plan_offset = segment_offset;
        while (plan_segment < segment_count && planned < LINUX_IO_CHUNK &&
               count + CHUNK_PAGES <= HOST_IOV_MAX) {
            uint64_t want = segments[plan_segment].len - plan_offset;
            if (want == 0) {
                plan_segment++;
                plan_offset = 0;
                continue;
            }
            want = MIN(want, LINUX_IO_CHUNK - planned);
            uint64_t address = segments[plan_segment].address + plan_offset;
            int used = guest_iovec(process->memory, address, want, access, iov + count,
                                   HOST_IOV_MAX - count);
            if (used < 0) {
                uint64_t prefix = 0;
                while (prefix < want && count < HOST_IOV_MAX) {
                    uint64_t page_left = GUEST_PAGE_SIZE - ((address + prefix) % GUEST_PAGE_SIZE);
                    uint64_t piece = MIN(want - prefix, page_left);
                    if (guest_iovec(process->memory, address + prefix, piece, access, iov + count,
                                    1) != 1)
                        break;
                    count++;
                    prefix += piece;
                }
                planned += prefix;
                plan_offset += prefix;
                fault = true;
                break;
            }
            count += used;
            planned += want;
            plan_offset += want;
        }

        if (planned == 0 && !first)
            return done ? (long)done : (fault ? -EFAULT : 0);

        sigset_t old_mask;
        bool guard = is_write && !regular;
        if (guard)
            linux_pipe_guard_begin(&old_mask);
        ssize_t n = host_transfer(host_fd, is_write, iov, count,
                                  offset >= 0 ? offset + (int64_t)done : -1, rwf);
        int saved = errno;
        long result = 0;
        if (n < 0 && saved == EPIPE && is_write)
            result = linux_broken_pipe(process);
        if (guard)
            linux_pipe_guard_end(&old_mask);
        first = false;
        if (n < 0) {
            if (done)
                return (long)done;
            return result ? result : -(long)saved;
        }
        if (planned == 0) /* a zero-length call: only the fd was checked */
            return fault ? -EFAULT : 0;
        done += (uint64_t)n;
        if ((uint64_t)n < planned || fault || (!is_write && !regular))
            return (long)done;
        segment = plan_segment;
        segment_offset = plan_offset;
        if (segment >= segment_count ||
            (segment == segment_count - 1 && segment_offset == segments[segment].len))
            return (long)done;
    }
}

/* A virtual /proc directory reads as a directory does. */
static bool is_proc_dir(const struct linux_process *process, uint64_t fd)
{
    const struct linux_proc_fd *proc = process->fds[(uint32_t)fd].proc;
    return proc && proc->dir;
}

/* /proc/self/mem: the segments in turn, at the file position or offset. */
static long mem_transfer(struct linux_process *process, struct linux_proc_fd *mem, bool is_write,
                         const struct guest_segment *segments, uint64_t count, int64_t offset)
{
    uint64_t position = offset >= 0 ? (uint64_t)offset : mem->offset, done = 0;
    for (uint64_t i = 0; i < count; i++) {
        long n = linux_proc_mem_rw(process, mem, segments[i].address, segments[i].len, is_write,
                                   &position);
        if (n < 0 && done == 0)
            return n;
        done += n < 0 ? 0 : (uint64_t)n;
        if (n < 0 || (uint64_t)n < segments[i].len)
            break;
    }
    if (offset < 0)
        mem->offset = position;
    return (long)done;
}

/* A comm file: a write names its thread after its first 15 bytes and takes
 * the whole count, as Linux's comm_write; reads need it opened for them. */
static long comm_transfer(struct linux_process *process, struct linux_proc_fd *comm, bool is_write,
                          struct guest_segment *segments, uint64_t count, int fd, int64_t offset)
{
    if (!is_write) {
        if (comm->access_mode == O_WRONLY)
            return -EBADF;
        return transfer(process, fd, false, segments, (int)count, offset, 0);
    }
    char name[16] = {0};
    size_t have = 0;
    uint64_t total = 0;
    for (uint64_t i = 0; i < count; i++) {
        size_t piece = (size_t)MIN(segments[i].len, sizeof(name) - 1 - have);
        if (piece && linux_copy_in(process, segments[i].address, name + have, piece) != 0)
            return -EFAULT;
        have += piece;
        total += segments[i].len;
    }
    long error = linux_proc_set_comm(process, comm, name);
    return error ? error : (long)total;
}

static long rw_one(struct linux_process *process, const uint64_t *args, bool is_write,
                   int64_t offset)
{
    if (linux_fd_host(process, args[0]) < 0)
        return -EBADF;
    if (is_proc_dir(process, args[0]))
        return is_write ? -EBADF : -EISDIR;
    struct linux_proc_fd *proc = process->fds[(uint32_t)args[0]].proc;
    struct guest_segment segment = {args[1], args[2]};
    if (proc && proc->mem)
        return mem_transfer(process, proc, is_write, &segment, 1, offset);
    if (proc && proc->comm)
        return comm_transfer(process, proc, is_write, &segment, 1, (int)(uint32_t)args[0], offset);
    return transfer(process, (int)(uint32_t)args[0], is_write, &segment, 1, offset, 0);
}

static bool is_signalfd(const struct linux_process *process, uint64_t fd)
{
    return linux_fd_host(process, fd) >= 0 && process->fds[(uint32_t)fd].signalfd;
}

static long sys_read(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (is_signalfd(process, args[0]))
        return linux_signalfd_read(thread, args[0], args[1], args[2]);
    return rw_one(process, args, false, -1);
}

static long sys_write(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (is_signalfd(process, args[0]))
        return -EINVAL; /* a signalfd has no write */
    return rw_one(process, args, true, -1);
}

static long sys_pread64(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if ((int64_t)args[3] < 0)
        return -EINVAL;
    return rw_one(process, args, false, (int64_t)args[3]);
}

static long sys_pwrite64(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if ((int64_t)args[3] < 0)
        return -EINVAL;
    return rw_one(process, args, true, (int64_t)args[3]);
}

#define GUEST_IOV_MAX 1024

static long rw_vector(struct linux_process *process, uint64_t fd, uint64_t iov_address,
                      uint64_t iov_count, bool is_write, int64_t offset, int rwf)
{
    if (linux_fd_host(process, fd) < 0)
        return -EBADF;
    if (is_proc_dir(process, fd))
        return is_write ? -EBADF : -EISDIR;
    if (iov_count > GUEST_IOV_MAX)
        return -EINVAL;
    if (iov_count == 0)
        return 0;
    struct guest_segment *segments = g_new(struct guest_segment, iov_count);
    long result;
    if (linux_copy_in(process, iov_address, segments, iov_count * sizeof(*segments)) != 0) {
        result = -EFAULT;
        goto out;
    }
    uint64_t total = 0;
    for (uint64_t i = 0; i < iov_count; i++) {
        /* Each length is a ssize_t, and so is the sum. */
        if (segments[i].len > INT64_MAX || segments[i].len > (uint64_t)INT64_MAX - total) {
            result = -EINVAL;
            goto out;
        }
        total += segments[i].len;
    }
    struct linux_proc_fd *proc = process->fds[(uint32_t)fd].proc;
    if (proc && proc->mem)
        result = mem_transfer(process, proc, is_write, segments, iov_count, offset);
    else if (proc && proc->comm)
        result =
            comm_transfer(process, proc, is_write, segments, iov_count, (int)(uint32_t)fd, offset);
    else
        result =
            transfer(process, (int)(uint32_t)fd, is_write, segments, (int)iov_count, offset, rwf);
out:
    g_free(segments);
    return result;
}

static long sys_readv(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return rw_vector(process, args[0], args[1], args[2], false, -1, 0);
}

static long sys_writev(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return rw_vector(process, args[0], args[1], args[2], true, -1, 0);
}

static long sys_preadv(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    /* The offset arrives split in two longs (pos_l, pos_h); on x86-64 pos_l
     * holds all of it. */
    if ((int64_t)args[3] < 0)
        return -EINVAL;
    return rw_vector(process, args[0], args[1], args[2], false, (int64_t)args[3], 0);
}

static long sys_pwritev(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if ((int64_t)args[3] < 0)
        return -EINVAL;
    return rw_vector(process, args[0], args[1], args[2], true, (int64_t)args[3], 0);
}

/* preadv2 and pwritev2 (fd, iov, count, pos_l, pos_h, flags): an offset of
 * -1 is the file position; flags Linux does not know are EOPNOTSUPP, the
 * rest the host's kernel applies to the program's file (RWF_NOWAIT's
 * EAGAIN, RWF_APPEND, RWF_DSYNC...). Virtual /proc files take none. */
#define RWF_KNOWN 0x1f /* RWF_HIPRI, DSYNC, SYNC, NOWAIT, APPEND */
static long rw_vector2(struct linux_thread *thread, const uint64_t *args, bool is_write)
{
    int64_t offset = (int64_t)args[3];
    uint64_t flags = args[5];
    if (flags & ~(uint64_t)RWF_KNOWN)
        return -EOPNOTSUPP;
    if (offset < -1)
        return -EINVAL;
    int fd = linux_fd_host(thread->process, args[0]) < 0 ? -1 : (int)(uint32_t)args[0];
    if (flags && fd >= 0 && thread->process->fds[fd].proc)
        return -EOPNOTSUPP;
    return rw_vector(thread->process, args[0], args[1], args[2], is_write, offset, (int)flags);
}

static long sys_preadv2(struct linux_thread *thread, const uint64_t *args)
{
    return rw_vector2(thread, args, false);
}

static long sys_pwritev2(struct linux_thread *thread, const uint64_t *args)
{
    return rw_vector2(thread, args, true);
}

/* How long the syscall ring's sendfile waits for room in its pipe: about
 * what a reader on another CPU takes to empty it; longer, and the program
 * would have been better off waiting through the doorbell. */
#define RING_PIPE_WAIT_MS 1
/* How long a full pipe is first watched without sleeping. */
#define PIPE_YIELD_NS 50000

/* A regular file into a pipe, as sendfile moves it, waiting at most about
 * RING_PIPE_WAIT_MS for room: SPLICE_F_NONBLOCK makes the pipe side never
 * wait, whatever the flags of its open file. The reader usually makes room
 * within microseconds: on this CPU once we yield it, on another while we
 * look. So the timed sleep comes last: its host timer, armed and cancelled
 * at each wait, cost more than the waiting itself (poll with a 1 ms timeout
 * at every pipeful: 38 ms for `cat` of 100 MB into a pipe natively, 30 ms
 * without the timer, 26 ms yielding; this host traps timer writes). */
static ssize_t splice_briefly(int host_in, loff_t *in_offset, int host_out, size_t count)
{
    ssize_t n = splice(host_in, in_offset, host_out, NULL, count, SPLICE_F_NONBLOCK);
    if (n >= 0 || errno != EAGAIN)
        return n;
    uint64_t start = linux_monotonic_ns();
    do {
        sched_yield();
        n = splice(host_in, in_offset, host_out, NULL, count, SPLICE_F_NONBLOCK);
        if (n >= 0 || errno != EAGAIN)
            return n;
    } while (linux_monotonic_ns() - start < PIPE_YIELD_NS);
    struct pollfd room = {.fd = host_out, .events = POLLOUT};
    if (poll(&room, 1, RING_PIPE_WAIT_MS) == 1 && room.revents == POLLOUT)
        n = splice(host_in, in_offset, host_out, NULL, count, SPLICE_F_NONBLOCK);
    return n;
}

/*
 * The rest of a blocking sendfile from a regular file (in_regular: the fd
 * entry's recorded type) into a pipe, after its first host call moved part
 * of it. The host's sendfile fills a pipe once and returns (64 KiB with the
 * default size), so `cat file | prog` made one call, through a VM exit, per
 * pipeful; sendfile(2) may move any count up to the one asked. Each further
 * pipeful goes as soon as the reader makes room, waiting for it at most
 * RING_PIPE_WAIT_MS (a reader that stopped, or the program's own pipe that
 * nobody reads, gets what it would have: the first pipeful), and never once
 * a signal is pending (a kick also ends the wait) or after PIPE_FILL_NS (a
 * debugger's stop waits no longer). A non-blocking pipe keeps Linux's one
 * fill.
 */
#define PIPE_FILL_NS 20000000
static ssize_t fill_pipe_more(const struct linux_thread *thread, bool in_regular, int host_in,
                              loff_t *in_offset, int host_out, size_t left)
{
    if (!in_regular)
        return 0;
    struct stat out_stat;
    int out_flags = fcntl(host_out, F_GETFL);
    if (out_flags < 0 || (out_flags & O_NONBLOCK) || fstat(host_out, &out_stat) != 0 ||
        !S_ISFIFO(out_stat.st_mode))
        return 0;
    ssize_t more = 0;
    uint64_t start = linux_monotonic_ns();
    while (left > 0 && !linux_signal_deliverable(thread) &&
           linux_monotonic_ns() - start < PIPE_FILL_NS) {
        ssize_t n = splice_briefly(host_in, in_offset, host_out, left);
        if (n <= 0)
            break;
        more += n;
        left -= (size_t)n;
    }
    return more;
}

/* sendfile and copy_file_range: host fd to host fd, guest memory only for
 * the optional offsets. A sendfile that must not wait long (the syscall
 * ring's: a regular file into a pipe) is splice_briefly: -EAGAIN when the
 * pipe stays full, and no SIGPIPE on -EPIPE (its caller makes the call
 * again the ordinary way). */
static long fd_to_fd(struct linux_process *process, const struct linux_thread *thread,
                     bool is_sendfile, bool no_wait, const uint64_t *args)
{
    uint64_t in_fd = is_sendfile ? args[1] : args[0], out_fd = is_sendfile ? args[0] : args[2];
    uint64_t in_offset_address = is_sendfile ? args[2] : args[1];
    uint64_t out_offset_address = is_sendfile ? 0 : args[3];
    uint64_t count = MIN(is_sendfile ? args[3] : args[4], LINUX_MAX_RW_COUNT);
    int host_in = linux_fd_host(process, in_fd), host_out = linux_fd_host(process, out_fd);
    if (host_in < 0 || host_out < 0)
        return -EBADF;
    if (!is_sendfile && args[5])
        return -EINVAL;
    loff_t in_offset = 0, out_offset = 0;
    if (in_offset_address &&
        linux_copy_in(process, in_offset_address, &in_offset, sizeof(in_offset)))
        return -EFAULT;
    if (out_offset_address &&
        linux_copy_in(process, out_offset_address, &out_offset, sizeof(out_offset)))
        return -EFAULT;
    sigset_t old_mask;
    linux_pipe_guard_begin(&old_mask);
    ssize_t n;
    if (is_sendfile && no_wait)
        n = splice_briefly(host_in, in_offset_address ? &in_offset : NULL, host_out, count);
    else if (is_sendfile) {
        loff_t *offset = in_offset_address ? &in_offset : NULL;
        n = sendfile(host_out, host_in, offset, count);
        if (n > 0 && (uint64_t)n < count)
            n += fill_pipe_more(thread, process->fds[(uint32_t)in_fd].regular, host_in, offset,
                                host_out, count - (uint64_t)n);
    } else
        n = copy_file_range(host_in, in_offset_address ? &in_offset : NULL, host_out,
                            out_offset_address ? &out_offset : NULL, count, 0);
    long result = n < 0 ? linux_host_error() : n;
    if (result == -EPIPE && !no_wait)
        linux_broken_pipe(process);
    linux_pipe_guard_end(&old_mask);
    if (n >= 0 && in_offset_address &&
        linux_copy_out(process, in_offset_address, &in_offset, sizeof(in_offset)))
        return -EFAULT;
    if (n >= 0 && out_offset_address &&
        linux_copy_out(process, out_offset_address, &out_offset, sizeof(out_offset)))
        return -EFAULT;
    return result;
}

static long sys_sendfile(struct linux_thread *thread, const uint64_t *args)
{
    return fd_to_fd(thread->process, thread, true, false, args);
}

long linux_sendfile_briefly(struct linux_process *process, const uint64_t *args)
{
    return fd_to_fd(process, NULL, true, true, args);
}

static long sys_copy_file_range(struct linux_thread *thread, const uint64_t *args)
{
    return fd_to_fd(thread->process, thread, false, false, args);
}

static long sys_lseek(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    struct linux_proc_fd *proc = process->fds[(uint32_t)args[0]].proc;
    if (proc && proc->mem) {
        /* Any 64-bit position, as Linux's mem_lseek allows. */
        if (args[2] == SEEK_SET)
            proc->offset = args[1];
        else if (args[2] == SEEK_CUR)
            proc->offset += args[1];
        else
            return -EINVAL;
        return (long)proc->offset;
    }
    if (proc && proc->dir) {
        /* A listing is rewound (and taken again) at 0, as rewinddir does. */
        int64_t base = args[2] == SEEK_SET ? 0 : args[2] == SEEK_CUR ? (int64_t)proc->position : -1;
        int64_t target = base + (int64_t)args[1];
        if (base < 0 || target < 0 || target > INT32_MAX)
            return -EINVAL;
        proc->position = (unsigned)target;
        return target;
    }
    return linux_host_result(lseek(host_fd, (off_t)args[1], (int)args[2]));
}

uint64_t linux_writable_prefix(struct linux_process *process, uint64_t address, uint64_t count)
{
    if (!in_user_space(address, 1))
        return 0;
    count = MIN(count, GUEST_USER_TOP - address);
    uint64_t done = 0;
    while (done < count) {
        uint64_t piece = MIN(count - done, GUEST_PAGE_SIZE - ((address + done) % GUEST_PAGE_SIZE));
        struct iovec unused;
        if (guest_iovec(process->memory, address + done, piece, GUEST_ACCESS_USER_WRITE, &unused,
                        1) != 1)
            break;
        done += piece;
    }
    return done;
}

static long sys_getdents64(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    uint64_t count = MIN((uint32_t)args[2], LINUX_IO_CHUNK);
    /* Only the part of the buffer the program can write is offered to the
     * host (Linux fills what fits and faults only on the first entry), and
     * it is checked before the host reads, so entries are never consumed
     * from the directory and then lost. */
    count = linux_writable_prefix(process, args[1], count);
    if (count == 0 && (uint32_t)args[2] != 0)
        return -EFAULT;
    struct linux_proc_fd *proc = process->fds[(uint32_t)args[0]].proc;
    if (proc && proc->dir)
        return linux_proc_getdents(process, proc, args[1], count);
    void *buffer = g_malloc(count ? count : 1);
    long n = syscall(SYS_getdents64, host_fd, buffer, (unsigned int)count);
    long result = n < 0 ? linux_host_error() : n;
    if (n > 0 && linux_copy_out(process, args[1], buffer, (size_t)n) != 0)
        result = -EFAULT;
    g_free(buffer);
    return result;
}

/* getdents, the call before getdents64 (AddressSanitizer's runtime still
 * lists /proc/self/task with it): the same records but for d_type, which
 * sits in the record's last byte after the name's NUL instead of before the
 * name, so a record has the same length in both and getdents64's entries
 * are turned into its in place. */
static long sys_getdents(struct linux_thread *thread, const uint64_t *args)
{
    long n = sys_getdents64(thread, args);
    if (n <= 0)
        return n;
    struct linux_process *process = thread->process;
    uint8_t *records = g_malloc((size_t)n);
    long result = n;
    if (linux_copy_in(process, args[1], records, (size_t)n) != 0)
        result = -EFAULT;
    /* struct linux_dirent64: d_ino, d_off (8 bytes each), d_reclen (2),
     * d_type (1), d_name. struct linux_dirent: d_name at 18. */
    for (long at = 0; result > 0 && at + 19 < n;) {
        uint16_t length;
        memcpy(&length, records + at + 16, sizeof(length));
        if (length < 20 || at + length > n)
            break;
        uint8_t type = records[at + 18];
        memmove(records + at + 18, records + at + 19, (size_t)length - 19);
        records[at + length - 1] = type;
        at += length;
    }
    if (result > 0 && linux_copy_out(process, args[1], records, (size_t)n) != 0)
        result = -EFAULT;
    g_free(records);
    return result;
}

/* ---- ioctl ---------------------------------------------------------------- */

enum ioctl_argument {
    IOCTL_IN,    /* the argument points at `size` bytes the host reads */
    IOCTL_OUT,   /* ... the host writes */
    IOCTL_VALUE, /* the argument is a plain integer */
};

struct ioctl_rule {
    unsigned long request;
    size_t size;
    enum ioctl_argument argument;
    bool terminal_only;
};

/* struct termios and termios2 as the kernel lays them out (not libc's). */
#define KERNEL_TERMIOS_SIZE  36
#define KERNEL_TERMIOS2_SIZE 44

/* TCGETS2 and friends, spelled out: the headers' versions need a struct
 * termios2 that glibc does not define. */
#define LINUX_TCGETS2  0x802c542aUL
#define LINUX_TCSETS2  0x402c542bUL
#define LINUX_TCSETSW2 0x402c542cUL
#define LINUX_TCSETSF2 0x402c542dUL

/* The ioctls passed to the host; anything else is -ENOTTY, as Linux says
 * for a request a file does not know. */
static const struct ioctl_rule ioctl_rules[] = {
    {TCGETS, KERNEL_TERMIOS_SIZE, IOCTL_OUT, true},
    {TCSETS, KERNEL_TERMIOS_SIZE, IOCTL_IN, true},
    {TCSETSW, KERNEL_TERMIOS_SIZE, IOCTL_IN, true},
    {TCSETSF, KERNEL_TERMIOS_SIZE, IOCTL_IN, true},
    {LINUX_TCGETS2, KERNEL_TERMIOS2_SIZE, IOCTL_OUT, true},
    {LINUX_TCSETS2, KERNEL_TERMIOS2_SIZE, IOCTL_IN, true},
    {LINUX_TCSETSW2, KERNEL_TERMIOS2_SIZE, IOCTL_IN, true},
    {LINUX_TCSETSF2, KERNEL_TERMIOS2_SIZE, IOCTL_IN, true},
    {TIOCGWINSZ, sizeof(struct winsize), IOCTL_OUT, true},
    {TIOCSWINSZ, sizeof(struct winsize), IOCTL_IN, true},
    {TIOCGPGRP, sizeof(int), IOCTL_OUT, true},
    {TIOCSPGRP, sizeof(int), IOCTL_IN, true},
    /* A terminal's output queue, and as SIOCOUTQ a socket's unsent bytes. */
    {TIOCOUTQ, sizeof(int), IOCTL_OUT, false},
    {TCFLSH, 0, IOCTL_VALUE, true},
    {TCSBRK, 0, IOCTL_VALUE, true},
    {TCXONC, 0, IOCTL_VALUE, true},
    {FIONREAD, sizeof(int), IOCTL_OUT, false},
    {FIONBIO, sizeof(int), IOCTL_IN, false},
    /* A socket's urgent-data mark and bytes sent but not acknowledged. */
    {SIOCATMARK, sizeof(int), IOCTL_OUT, false},
    {SIOCOUTQNSD, sizeof(int), IOCTL_OUT, false},
    /* O_ASYNC by ioctl (nginx's master hands its workers' channels so). */
    {FIOASYNC, sizeof(int), IOCTL_IN, false},
    /* The block size of a file's file system (filefrag); /dev/random's entropy
     * count (rngd and entropy checks). */
    {FIGETBSZ, sizeof(int), IOCTL_OUT, false},
    {RNDGETENTCNT, sizeof(int), IOCTL_OUT, false},
    /* Pseudo-terminals (posix_openpt, grantpt, unlockpt, ptsname; expect,
     * script, terminal emulators) and controlling terminals. */
    {TIOCGPTN, sizeof(unsigned int), IOCTL_OUT, true},
    {TIOCSPTLCK, sizeof(int), IOCTL_IN, true},
    {TIOCGPTLCK, sizeof(int), IOCTL_OUT, true},
    {TIOCPKT, sizeof(int), IOCTL_IN, true},
    {TIOCGPKT, sizeof(int), IOCTL_OUT, true},
    {TIOCSCTTY, 0, IOCTL_VALUE, true},
    {TIOCNOTTY, 0, IOCTL_VALUE, true},
    {TIOCGSID, sizeof(pid_t), IOCTL_OUT, true},
    {TIOCEXCL, 0, IOCTL_VALUE, true},
    {TIOCNXCL, 0, IOCTL_VALUE, true},
    {TIOCGEXCL, sizeof(int), IOCTL_OUT, true},
    {TIOCGETD, sizeof(int), IOCTL_OUT, true},
    {TIOCMGET, sizeof(int), IOCTL_OUT, true},
    /* A file's attributes (lsattr, chattr): the kernel moves an int, whatever
     * the request's encoded size says. */
    {FS_IOC_GETFLAGS, sizeof(int), IOCTL_OUT, false},
    {FS_IOC_SETFLAGS, sizeof(int), IOCTL_IN, false},
    {FS_IOC_GETVERSION, sizeof(int), IOCTL_OUT, false},
    {FS_IOC_FSGETXATTR, sizeof(struct fsxattr), IOCTL_OUT, false},
    {FS_IOC_FSSETXATTR, sizeof(struct fsxattr), IOCTL_IN, false},
};

/* TIOCGPTPEER: the pty master opens its slave; the new fd is the program's. */
static long open_pty_peer(struct linux_process *process, int host_fd, uint64_t flags)
{
    if (flags & ~(uint64_t)(O_RDWR | O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK))
        return -EINVAL;
    int peer = ioctl(host_fd, TIOCGPTPEER, (int)(flags | O_CLOEXEC));
    if (peer < 0)
        return linux_host_error();
    return linux_fd_install(process, peer, 0, flags & O_CLOEXEC);
}

/* A namespace file's ioctls (/proc/PID/ns/NAME: lsns, nsenter), only on
 * such a file, where the host answers them as natively (the program runs in
 * the host's namespaces): NS_GET_NSTYPE, NS_GET_OWNER_UID, and the related
 * namespace NS_GET_USERNS and NS_GET_PARENT open, a new fd of the program's,
 * close-on-exec as Linux makes it. -ENOTTY for any other file. */
static long namespace_ioctl(struct linux_process *process, int host_fd, unsigned long request,
                            uint64_t argument)
{
    struct statfs fs;
    if (fstatfs(host_fd, &fs) != 0 || fs.f_type != NSFS_MAGIC)
        return -ENOTTY;
    if (request == NS_GET_OWNER_UID) {
        uid_t owner;
        if (ioctl(host_fd, request, &owner) != 0)
            return linux_host_error();
        return linux_copy_out(process, argument, &owner, sizeof(owner)) ? -EFAULT : 0;
    }
    int result = ioctl(host_fd, request);
    if (result < 0)
        return linux_host_error();
    if (request == NS_GET_NSTYPE)
        return result;
    return linux_fd_install(process, result, 0, true);
}

/* FICLONE and FICLONERANGE (cp --reflink): the source is an fd of the
 * program's, the host's in the call; the host says what the file system
 * does (EOPNOTSUPP on ext4, EXDEV across file systems). */
static long clone_ioctl(struct linux_process *process, int host_fd, unsigned long request,
                        uint64_t argument)
{
    if (request == FICLONE) {
        int source = linux_fd_host(process, (int32_t)argument);
        return source < 0 ? -EBADF : linux_host_result(ioctl(host_fd, FICLONE, source));
    }
    struct file_clone_range range;
    if (linux_copy_in(process, argument, &range, sizeof(range)) != 0)
        return -EFAULT;
    int source = linux_fd_host(process, (int32_t)range.src_fd);
    if (source < 0)
        return -EBADF;
    range.src_fd = source;
    return linux_host_result(ioctl(host_fd, FICLONERANGE, &range));
}

/* The extents the monitor asks the host for at once: a program asking for
 * more gets these, fm_mapped_extents saying the array is full (FIEMAP's
 * callers, filefrag among them, then ask again from the last one's end),
 * rather than the monitor allocating whatever fm_extent_count says. */
#define FIEMAP_EXTENTS_AT_ONCE 4096U
/* Linux's bound (include/linux/fiemap.h, not exported): EINVAL beyond. */
#define LINUX_FIEMAP_MAX_EXTENTS (UINT32_MAX / sizeof(struct fiemap_extent))

/* FS_IOC_FIEMAP (filefrag): struct fiemap, then fm_extent_count extents the
 * host fills. As Linux: a file system without FIEMAP says EOPNOTSUPP before
 * the argument is read (the host, asked about NULL, answers EFAULT only
 * where it would read it), too many extents is EINVAL, and extents that
 * cannot be written are EFAULT, the header written all the same. */
static long fiemap_ioctl(struct linux_process *process, int host_fd, uint64_t argument)
{
    if (ioctl(host_fd, FS_IOC_FIEMAP, NULL) == 0 || errno != EFAULT)
        return linux_host_error();
    struct fiemap header;
    if (linux_copy_in(process, argument, &header, sizeof(header)) != 0)
        return -EFAULT;
    if (header.fm_extent_count > LINUX_FIEMAP_MAX_EXTENTS)
        return -EINVAL;
    uint32_t count = MIN(header.fm_extent_count, FIEMAP_EXTENTS_AT_ONCE);
    struct fiemap *map = g_malloc(sizeof(*map) + count * sizeof(struct fiemap_extent));
    *map = header;
    map->fm_extent_count = count;
    long result = linux_host_result(ioctl(host_fd, FS_IOC_FIEMAP, map));
    if (result == 0 || result == -EFAULT) {
        map->fm_extent_count = header.fm_extent_count;
        size_t extents = MIN(map->fm_mapped_extents, count) * sizeof(struct fiemap_extent);
        if (linux_copy_out(process, argument, map, sizeof(header)) != 0 ||
            (count &&
             linux_copy_out(process, argument + sizeof(header), map->fm_extents, extents) != 0))
            result = -EFAULT;
    }
    g_free(map);
    return result;
}

static long sys_ioctl(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    unsigned long request = (uint32_t)args[1];
    if (request == FIOCLEX || request == FIONCLEX) {
        process->fds[(uint32_t)args[0]].cloexec = request == FIOCLEX;
        return 0;
    }
    if (request == TIOCGPTPEER)
        return isatty(host_fd) ? open_pty_peer(process, host_fd, args[2]) : -ENOTTY;
    if (request == NS_GET_USERNS || request == NS_GET_PARENT || request == NS_GET_NSTYPE ||
        request == NS_GET_OWNER_UID)
        return namespace_ioctl(process, host_fd, request, args[2]);
    if (request == FICLONE || request == FICLONERANGE)
        return clone_ioctl(process, host_fd, request, args[2]);
    if (request == FS_IOC_FIEMAP)
        return fiemap_ioctl(process, host_fd, args[2]);
    const struct ioctl_rule *rule = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(ioctl_rules); i++) {
        if (ioctl_rules[i].request == request)
            rule = &ioctl_rules[i];
    }
    if (!rule || (rule->terminal_only && !isatty(host_fd)))
        return -ENOTTY;
    if (rule->argument == IOCTL_VALUE)
        return linux_host_result(ioctl(host_fd, request, (unsigned long)args[2]));
    unsigned char buffer[64] = {0};
    if (rule->argument == IOCTL_IN && linux_copy_in(process, args[2], buffer, rule->size) != 0)
        return -EFAULT;
    /* Fail before the host acts when the result could not be delivered. */
    struct iovec unused[2];
    if (rule->argument == IOCTL_OUT &&
        guest_iovec(process->memory, args[2], rule->size, GUEST_ACCESS_USER_WRITE, unused, 2) < 0)
        return -EFAULT;
    long result = ioctl(host_fd, request, buffer);
    if (result < 0)
        return linux_host_error();
    if (rule->argument == IOCTL_OUT && linux_copy_out(process, args[2], buffer, rule->size) != 0)
        return -EFAULT;
    return result;
}

void linux_register_io(linux_handler *table)
{
    table[SYS_read] = sys_read;
    table[SYS_write] = sys_write;
    table[SYS_pread64] = sys_pread64;
    table[SYS_pwrite64] = sys_pwrite64;
    table[SYS_readv] = sys_readv;
    table[SYS_writev] = sys_writev;
    table[SYS_preadv] = sys_preadv;
    table[SYS_pwritev] = sys_pwritev;
    table[SYS_preadv2] = sys_preadv2;
    table[SYS_pwritev2] = sys_pwritev2;
    table[SYS_lseek] = sys_lseek;
    table[SYS_sendfile] = sys_sendfile;
    table[SYS_copy_file_range] = sys_copy_file_range;
    table[SYS_getdents64] = sys_getdents64;
    table[SYS_getdents] = sys_getdents;
    table[SYS_ioctl] = sys_ioctl;
}
