/*
 * linux/poll.c — waiting on many things: poll, select, epoll, and the fds
 * made to be waited on (eventfd, timerfd, inotify), plus the pipe plumbing
 * calls splice, tee and vmsplice.
 *
 * Every wait is one blocking host call (ppoll, epoll_wait...) on the host fds
 * behind the guest's, never a polling loop: the monitor's kick signal,
 * unblocked around linux_syscall, ends it with EINTR. epoll needs no
 * translation on the way back: the program's epoll_event.data is stored in
 * the host epoll verbatim and returned verbatim.
 *
 * The signal mask argument of ppoll, pselect6 and epoll_pwait replaces the
 * thread's mask for the call, as Linux's set_user_sigmask: a signal it lets
 * in ends the wait with EINTR and its handler runs; otherwise the caller's
 * mask is back when the call returns.
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define POLL_NSEC_PER_SEC 1000000000L

/* The kernel's sigset_t: the only sigsetsize the mask-taking calls accept. */
#define POLL_SIGSET_SIZE 8

/* The most epoll events returned by one call: more stay ready in the host
 * epoll for the next call, as they would in Linux's. */
#define POLL_EPOLL_BATCH 1024

/* ---- time ------------------------------------------------------------------ */

static struct timespec poll_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now;
}

/* now + timeout, saturated at the end of time as Linux's
 * timespec64_add_safe does (select with tv_sec = 2^62 waits "forever"). */
static struct timespec poll_deadline(const struct timespec *timeout)
{
    struct timespec now = poll_now(), deadline;
    if (timeout->tv_sec > INT64_MAX - now.tv_sec - 1)
        return (struct timespec){INT64_MAX, 0};
    deadline.tv_sec = now.tv_sec + timeout->tv_sec;
    deadline.tv_nsec = now.tv_nsec + timeout->tv_nsec;
    if (deadline.tv_nsec >= POLL_NSEC_PER_SEC) {
        deadline.tv_sec++;
        deadline.tv_nsec -= POLL_NSEC_PER_SEC;
    }
    return deadline;
}

/* What is left until deadline, never negative. */
static struct timespec poll_time_left(const struct timespec *deadline)
{
    struct timespec now = poll_now(), left = {0, 0};
    if (deadline->tv_sec < now.tv_sec ||
        (deadline->tv_sec == now.tv_sec && deadline->tv_nsec <= now.tv_nsec))
        return left;
    left.tv_sec = deadline->tv_sec - now.tv_sec;
    left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
    if (left.tv_nsec < 0) {
        left.tv_sec--;
        left.tv_nsec += POLL_NSEC_PER_SEC;
    }
    return left;
}

static long poll_read_timespec(struct linux_process *process, uint64_t address, struct timespec *ts)
{
    if (linux_copy_in(process, address, ts, sizeof(*ts)) != 0)
        return -EFAULT;
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= POLL_NSEC_PER_SEC)
        return -EINVAL;
    return 0;
}

/*
 * Applies a signal mask argument for the call (address 0: none), checked as
 * set_user_sigmask does. *interrupted: a signal is deliverable under it
 * already, so the call must not sleep (poll_mask_end turns "nothing ready"
 * into EINTR).
 */
static long poll_mask_begin(struct linux_thread *thread, uint64_t address, uint64_t size,
                            bool *interrupted)
{
    *interrupted = false;
    if (!address)
        return 0;
    if (size != POLL_SIGSET_SIZE)
        return -EINVAL;
    uint64_t mask;
    if (linux_copy_in(thread->process, address, &mask, sizeof(mask)) != 0)
        return -EFAULT;
    *interrupted = linux_signal_mask_for_call(thread, mask);
    return 0;
}

/* The timeout a call waits with: none at all when a signal is already there. */
static const struct timespec *poll_wait_time(bool interrupted, const struct timespec *timeout)
{
    static const struct timespec zero = {0, 0};
    return interrupted ? &zero : timeout;
}

/* Ends a call begun with poll_mask_begin. zero_is_final: the program asked
 * for no wait and the call is epoll's, which then answers 0 rather than
 * EINTR (ep_poll checks its timeout before signals; poll and select do not). */
static long poll_mask_end(struct linux_thread *thread, long result, bool interrupted,
                          bool zero_is_final)
{
    if (interrupted && result == 0 && !zero_is_final)
        result = -EINTR;
    linux_signal_mask_after_call(thread, result);
    return result;
}

/* ---- poll ------------------------------------------------------------------ */

/* Runs host ppoll on guest pollfds (fds are guest numbers in `fds`),
 * translating them; invalid fds report POLLNVAL as Linux does. */
static long poll_guest(struct linux_process *process, struct pollfd *fds, uint64_t count,
                       const struct timespec *timeout)
{
    struct pollfd *host = g_new(struct pollfd, count ? count : 1);
    bool any_invalid = false;
    for (uint64_t i = 0; i < count; i++) {
        host[i] = fds[i];
        host[i].revents = 0;
        if (fds[i].fd < 0)
            continue;
        host[i].fd = linux_fd_host(process, (uint64_t)fds[i].fd);
        if (host[i].fd < 0)
            any_invalid = true;
    }
    struct timespec zero = {0, 0};
    int n = ppoll(host, count, any_invalid ? &zero : timeout, NULL);
    if (n < 0) {
        long error = linux_host_error();
        g_free(host);
        return error;
    }
    long ready = 0;
    for (uint64_t i = 0; i < count; i++) {
        fds[i].revents = host[i].revents;
        if (fds[i].fd >= 0 && host[i].fd < 0)
            fds[i].revents = POLLNVAL;
        if (fds[i].revents)
            ready++;
    }
    g_free(host);
    return ready;
}

static long poll_common(struct linux_process *process, uint64_t address, uint64_t count,
                        const struct timespec *timeout)
{
    if (count > (uint64_t)linux_fd_limit(process))
        return -EINVAL;
    struct pollfd *fds = g_new(struct pollfd, count ? count : 1);
    long result;
    if (linux_copy_in(process, address, fds, count * sizeof(*fds)) != 0) {
        result = -EFAULT;
    } else {
        result = poll_guest(process, fds, count, timeout);
        if (result >= 0 && linux_copy_out(process, address, fds, count * sizeof(*fds)) != 0)
            result = -EFAULT;
    }
    g_free(fds);
    return result;
}

/* poll until deadline (NULL: none). Cut short by a signal or a stop, it
 * goes on with restart_syscall (-ERESTART_RESTARTBLOCK) until the same
 * deadline when no handler runs, as Linux's poll: not for its whole
 * timeout again. */
static long poll_until(struct linux_thread *thread, uint64_t address, uint64_t count,
                       const struct timespec *deadline)
{
    struct timespec left;
    if (deadline)
        left = poll_time_left(deadline);
    long result = poll_common(thread->process, address, count, deadline ? &left : NULL);
    if (result != -EINTR)
        return result;
    thread->restart = (struct linux_restart){
        .number = SYS_poll,
        .deadline =
            deadline ? (uint64_t)deadline->tv_sec * POLL_NSEC_PER_SEC + (uint64_t)deadline->tv_nsec
                     : 0,
        .poll_address = address,
        .poll_count = count,
        .poll_timed = deadline != NULL,
    };
    return -LINUX_ERESTART_RESTARTBLOCK;
}

static long sys_poll(struct linux_thread *thread, const uint64_t *args)
{
    int milliseconds = (int)args[2];
    struct timespec timeout = {milliseconds / 1000, (milliseconds % 1000) * 1000000L};
    struct timespec deadline = poll_deadline(&timeout);
    return poll_until(thread, args[0], args[1], milliseconds < 0 ? NULL : &deadline);
}

long linux_poll_restart(struct linux_thread *thread, const struct linux_restart *restart)
{
    struct timespec deadline = {(time_t)(restart->deadline / POLL_NSEC_PER_SEC),
                                (long)(restart->deadline % POLL_NSEC_PER_SEC)};
    return poll_until(thread, restart->poll_address, restart->poll_count,
                      restart->poll_timed ? &deadline : NULL);
}

static long sys_ppoll(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct timespec timeout, deadline;
    if (args[2]) {
        long error = poll_read_timespec(process, args[2], &timeout);
        if (error)
            return error;
        deadline = poll_deadline(&timeout);
    }
    bool interrupted;
    long error = poll_mask_begin(thread, args[3], args[4], &interrupted);
    if (error)
        return error;
    long result = poll_common(process, args[0], args[1],
                              poll_wait_time(interrupted, args[2] ? &timeout : NULL));
    result = poll_mask_end(thread, result, interrupted, false);
    /* Linux writes back the time left (not for a zero timeout); a write
     * that faults is ignored, the wait already happened. */
    if (args[2] && (timeout.tv_sec || timeout.tv_nsec)) {
        struct timespec left = poll_time_left(&deadline);
        linux_copy_out(process, args[2], &left, sizeof(left));
    }
    return result;
}

/* ---- select ------------------------------------------------------------------ */

/* The three sets as select takes them (in, out, except), nfds bits each,
 * in one allocation. */
struct select_sets {
    size_t words;
    uint64_t *bits[3];
    uint64_t *storage;
};

static void select_sets_init(struct select_sets *sets, int nfds)
{
    sets->words = ((size_t)nfds + 63) / 64;
    sets->storage = g_new0(uint64_t, 3 * sets->words + 1);
    for (int set = 0; set < 3; set++)
        sets->bits[set] = sets->storage + (size_t)set * sets->words;
}

/* select on top of poll, so host fds above FD_SETSIZE are no problem. */
static long select_polled(struct linux_process *process, const uint64_t *args,
                          const struct timespec *timeout, int nfds, struct select_sets *sets,
                          struct select_sets *out, struct pollfd *fds)
{
    for (int set = 0; set < 3; set++) {
        if (args[1 + set] &&
            linux_copy_in(process, args[1 + set], sets->bits[set], sets->words * sizeof(uint64_t)))
            return -EFAULT;
    }
    static const short wanted[3] = {POLLIN, POLLOUT, POLLPRI};
    int count = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short events = 0;
        for (int set = 0; set < 3; set++) {
            if (sets->bits[set][fd / 64] & (1ULL << (fd % 64)))
                events |= wanted[set];
        }
        if (!events)
            continue;
        if (linux_fd_host(process, (uint64_t)fd) < 0)
            return -EBADF;
        fds[count].fd = fd;
        fds[count].events = events;
        count++;
    }
    long result = poll_guest(process, fds, (uint64_t)count, timeout);
    if (result < 0)
        return result;
    static const short ready_mask[3] = {POLLIN | POLLHUP | POLLERR, POLLOUT | POLLERR, POLLPRI};
    long ready = 0;
    for (int i = 0; i < count; i++) {
        for (int set = 0; set < 3; set++) {
            if ((fds[i].events & wanted[set]) && (fds[i].revents & ready_mask[set])) {
                out->bits[set][fds[i].fd / 64] |= 1ULL << (fds[i].fd % 64);
                ready++;
            }
        }
    }
    for (int set = 0; set < 3; set++) {
        if (args[1 + set] &&
            linux_copy_out(process, args[1 + set], out->bits[set], out->words * sizeof(uint64_t)))
            return -EFAULT;
    }
    return ready;
}

static long select_common(struct linux_process *process, const uint64_t *args,
                          const struct timespec *timeout)
{
    int nfds = (int)args[0];
    if (nfds < 0)
        return -EINVAL;
    /* Linux caps nfds at its fd table's size, not at RLIMIT_NOFILE: a
     * closed fd below that is EBADF even past the limit, one above it is
     * not looked at. */
    int table_size = atomic_load(&process->fd_table_size);
    if (nfds > table_size)
        nfds = table_size;
    struct select_sets sets, out;
    select_sets_init(&sets, nfds);
    select_sets_init(&out, nfds);
    struct pollfd *fds = g_new(struct pollfd, (size_t)nfds + 1);
    long result = select_polled(process, args, timeout, nfds, &sets, &out, fds);
    g_free(fds);
    g_free(sets.storage);
    g_free(out.storage);
    return result;
}

/* select's timeval as Linux takes it: microseconds past a second carry into
 * the seconds; anything negative is EINVAL. */
static long select_read_timeval(struct linux_process *process, uint64_t address,
                                struct timespec *timeout)
{
    struct timeval tv;
    if (linux_copy_in(process, address, &tv, sizeof(tv)) != 0)
        return -EFAULT;
    if (tv.tv_sec < 0 || tv.tv_usec < 0)
        return -EINVAL;
    int64_t carry = tv.tv_usec / 1000000;
    if (tv.tv_sec > INT64_MAX - carry)
        return -EINVAL;
    timeout->tv_sec = tv.tv_sec + carry;
    timeout->tv_nsec = (tv.tv_usec % 1000000) * 1000;
    return 0;
}

static long sys_select(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct timespec timeout, deadline;
    if (args[4]) {
        long error = select_read_timeval(process, args[4], &timeout);
        if (error)
            return error;
        deadline = poll_deadline(&timeout);
    }
    long result = select_common(process, args, args[4] ? &timeout : NULL);
    if (args[4] && (timeout.tv_sec || timeout.tv_nsec)) {
        /* Linux writes back the time left, ignoring a fault. */
        struct timespec left = poll_time_left(&deadline);
        struct timeval tv = {left.tv_sec, left.tv_nsec / 1000};
        linux_copy_out(process, args[4], &tv, sizeof(tv));
    }
    return result;
}

static long sys_pselect6(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct timespec timeout, deadline;
    if (args[4]) {
        long error = poll_read_timespec(process, args[4], &timeout);
        if (error)
            return error;
        deadline = poll_deadline(&timeout);
    }
    /* The sixth argument points at {const sigset_t *mask; size_t size}. */
    uint64_t pack[2] = {0, 0};
    if (args[5] && linux_copy_in(process, args[5], pack, sizeof(pack)) != 0)
        return -EFAULT;
    bool interrupted;
    long error = poll_mask_begin(thread, pack[0], pack[1], &interrupted);
    if (error)
        return error;
    long result =
        select_common(process, args, poll_wait_time(interrupted, args[4] ? &timeout : NULL));
    result = poll_mask_end(thread, result, interrupted, false);
    if (args[4] && (timeout.tv_sec || timeout.tv_nsec)) {
        struct timespec left = poll_time_left(&deadline);
        linux_copy_out(process, args[4], &left, sizeof(left));
    }
    return result;
}

/* ---- epoll ------------------------------------------------------------------- */

static long epoll_new(struct linux_process *process, bool cloexec)
{
    int host_fd = epoll_create1(EPOLL_CLOEXEC);
    if (host_fd < 0)
        return linux_host_error();
    return linux_fd_install(process, host_fd, 0, cloexec);
}

static long sys_epoll_create(struct linux_thread *thread, const uint64_t *args)
{
    if ((int)args[0] <= 0)
        return -EINVAL;
    return epoll_new(thread->process, false);
}

static long sys_epoll_create1(struct linux_thread *thread, const uint64_t *args)
{
    int flags = (int)args[0];
    if (flags & ~EPOLL_CLOEXEC)
        return -EINVAL;
    return epoll_new(thread->process, flags & EPOLL_CLOEXEC);
}

static long sys_epoll_ctl(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int op = (int)args[1];
    struct epoll_event event = {0};
    if (op != EPOLL_CTL_DEL && linux_copy_in(process, args[3], &event, sizeof(event)) != 0)
        return -EFAULT;
    int host_epoll = linux_fd_host(process, args[0]);
    int host_fd = linux_fd_host(process, args[2]);
    if (host_epoll < 0 || host_fd < 0)
        return -EBADF;
    return linux_host_result(epoll_ctl(host_epoll, op, host_fd, &event));
}

/* epoll_wait and its variants; timeout NULL waits without end. */
static long epoll_wait_common(struct linux_process *process, const uint64_t *args,
                              const struct timespec *timeout)
{
    int max_events = (int)args[2];
    if (max_events <= 0 || (size_t)max_events > INT32_MAX / sizeof(struct epoll_event))
        return -EINVAL;
    uint64_t bytes = (uint64_t)max_events * sizeof(struct epoll_event);
    if (args[1] > GUEST_USER_TOP || bytes > GUEST_USER_TOP - args[1])
        return -EFAULT;
    int host_epoll = linux_fd_host(process, args[0]);
    if (host_epoll < 0)
        return -EBADF;
    int batch = MIN(max_events, POLL_EPOLL_BATCH);
    struct epoll_event *events = g_new(struct epoll_event, batch);
    int n = timeout ? epoll_pwait2(host_epoll, events, batch, timeout, NULL)
                    : epoll_wait(host_epoll, events, batch, -1);
    long result = n < 0 ? linux_host_error() : n;
    if (n > 0 && linux_copy_out(process, args[1], events, (size_t)n * sizeof(*events)) != 0)
        result = -EFAULT;
    g_free(events);
    return result;
}

/* epoll_pwait and epoll_pwait2 (timeout NULL: none), their masks at
 * args[4] and args[5]. */
static long epoll_wait_masked(struct linux_thread *thread, const uint64_t *args,
                              const struct timespec *timeout)
{
    bool interrupted;
    long error = poll_mask_begin(thread, args[4], args[5], &interrupted);
    if (error)
        return error;
    long result = epoll_wait_common(thread->process, args, poll_wait_time(interrupted, timeout));
    bool no_wait = timeout && !timeout->tv_sec && !timeout->tv_nsec;
    return poll_mask_end(thread, result, interrupted, no_wait);
}

static struct timespec epoll_milliseconds(const uint64_t *args)
{
    int milliseconds = (int)args[3];
    return (struct timespec){milliseconds / 1000, (milliseconds % 1000) * 1000000L};
}

static long sys_epoll_wait(struct linux_thread *thread, const uint64_t *args)
{
    struct timespec timeout = epoll_milliseconds(args);
    return epoll_wait_common(thread->process, args, (int)args[3] < 0 ? NULL : &timeout);
}

static long sys_epoll_pwait(struct linux_thread *thread, const uint64_t *args)
{
    struct timespec timeout = epoll_milliseconds(args);
    return epoll_wait_masked(thread, args, (int)args[3] < 0 ? NULL : &timeout);
}

static long sys_epoll_pwait2(struct linux_thread *thread, const uint64_t *args)
{
    struct timespec timeout;
    if (args[3]) {
        long error = poll_read_timespec(thread->process, args[3], &timeout);
        if (error)
            return error;
    }
    return epoll_wait_masked(thread, args, args[3] ? &timeout : NULL);
}

/* ---- eventfd, timerfd, inotify ------------------------------------------ */

/* Installs a new host fd made by one of the calls below; host_fd < 0 is
 * that call's error. */
static long poll_install(struct linux_process *process, int host_fd, bool cloexec)
{
    if (host_fd < 0)
        return linux_host_error();
    return linux_fd_install(process, host_fd, 0, cloexec);
}

static long sys_eventfd(struct linux_thread *thread, const uint64_t *args)
{
    return poll_install(thread->process, eventfd((unsigned int)args[0], EFD_CLOEXEC), false);
}

static long sys_eventfd2(struct linux_thread *thread, const uint64_t *args)
{
    int flags = (int)args[1];
    return poll_install(thread->process, eventfd((unsigned int)args[0], flags | EFD_CLOEXEC),
                        flags & EFD_CLOEXEC);
}

static long sys_timerfd_create(struct linux_thread *thread, const uint64_t *args)
{
    int flags = (int)args[1];
    return poll_install(thread->process, timerfd_create((int)args[0], flags | TFD_CLOEXEC),
                        flags & TFD_CLOEXEC);
}

static long sys_timerfd_settime(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct itimerspec new_value, old_value;
    if (linux_copy_in(process, args[2], &new_value, sizeof(new_value)) != 0)
        return -EFAULT;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    if (timerfd_settime(host_fd, (int)args[1], &new_value, &old_value) != 0)
        return linux_host_error();
    if (args[3] && linux_copy_out(process, args[3], &old_value, sizeof(old_value)) != 0)
        return -EFAULT;
    return 0;
}

static long sys_timerfd_gettime(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    struct itimerspec value;
    if (timerfd_gettime(host_fd, &value) != 0)
        return linux_host_error();
    if (linux_copy_out(process, args[1], &value, sizeof(value)) != 0)
        return -EFAULT;
    return 0;
}

static long sys_inotify_init(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    return poll_install(thread->process, inotify_init1(IN_CLOEXEC), false);
}

static long sys_inotify_init1(struct linux_thread *thread, const uint64_t *args)
{
    int flags = (int)args[0];
    return poll_install(thread->process, inotify_init1(flags | IN_CLOEXEC), flags & IN_CLOEXEC);
}

static long sys_inotify_add_watch(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    /* Linux judges the mask before the fd: no event, or both ways of
     * combining with an existing watch, is EINVAL. */
    uint32_t mask = (uint32_t)args[2];
    if (!(mask & IN_ALL_EVENTS) || ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE)))
        return -EINVAL;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    char path[LINUX_PATH_MAX], host_path[LINUX_PATH_MAX + 32];
    long error = linux_read_path(process, args[1], path, false);
    if (!error)
        error = linux_path_for_host(process, path, !(args[2] & IN_DONT_FOLLOW), host_path,
                                    sizeof(host_path));
    if (error)
        return error;
    return linux_host_result(inotify_add_watch(host_fd, host_path, (uint32_t)args[2]));
}

static long sys_inotify_rm_watch(struct linux_thread *thread, const uint64_t *args)
{
    int host_fd = linux_fd_host(thread->process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    return linux_host_result(inotify_rm_watch(host_fd, (int)args[1]));
}

/* ---- splice and tee ---------------------------------------------------------- */

/* An optional loff_t in/out argument of splice. */
static long splice_offset_in(struct linux_process *process, uint64_t address, loff_t *offset)
{
    if (address && linux_copy_in(process, address, offset, sizeof(*offset)) != 0)
        return -EFAULT;
    return 0;
}

/* Linux's own order in splice and tee: a length of 0 is done before
 * anything is looked at, unknown flags are EINVAL, then the fds. */
#define SPLICE_KNOWN_FLAGS 0xfu /* SPLICE_F_MOVE, NONBLOCK, MORE, GIFT */

static long sys_splice(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (args[4] == 0)
        return 0;
    if ((unsigned int)args[5] & ~SPLICE_KNOWN_FLAGS)
        return -EINVAL;
    int host_in = linux_fd_host(process, args[0]), host_out = linux_fd_host(process, args[2]);
    if (host_in < 0 || host_out < 0)
        return -EBADF;
    loff_t in_offset = 0, out_offset = 0;
    if (splice_offset_in(process, args[1], &in_offset) ||
        splice_offset_in(process, args[3], &out_offset))
        return -EFAULT;
    sigset_t old_mask;
    linux_pipe_guard_begin(&old_mask);
    ssize_t n = splice(host_in, args[1] ? &in_offset : NULL, host_out, args[3] ? &out_offset : NULL,
                       MIN(args[4], LINUX_MAX_RW_COUNT), (unsigned int)args[5]);
    long result = n < 0 ? linux_host_error() : n;
    if (result == -EPIPE)
        linux_broken_pipe(process);
    linux_pipe_guard_end(&old_mask);
    if (n >= 0 && args[1] && linux_copy_out(process, args[1], &in_offset, sizeof(in_offset)))
        return -EFAULT;
    if (n >= 0 && args[3] && linux_copy_out(process, args[3], &out_offset, sizeof(out_offset)))
        return -EFAULT;
    return result;
}

static long sys_tee(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if ((unsigned int)args[3] & ~SPLICE_KNOWN_FLAGS)
        return -EINVAL;
    if (args[2] == 0)
        return 0;
    int host_in = linux_fd_host(process, args[0]), host_out = linux_fd_host(process, args[1]);
    if (host_in < 0 || host_out < 0)
        return -EBADF;
    sigset_t old_mask;
    linux_pipe_guard_begin(&old_mask);
    ssize_t n = tee(host_in, host_out, MIN(args[2], LINUX_MAX_RW_COUNT), (unsigned int)args[3]);
    long result = n < 0 ? linux_host_error() : n;
    if (result == -EPIPE)
        linux_broken_pipe(process);
    linux_pipe_guard_end(&old_mask);
    return result;
}

/* vmsplice's most: Linux's UIO_MAXIOV segments, and the host iovecs one
 * host call takes (a pipe holds far less than this anyway). */
#define VMSPLICE_MAX_SEGMENTS 1024
#define VMSPLICE_MAX_BYTES    (1ULL << 20)

struct vmsplice_segment {
    uint64_t address, length;
};

/* Host iovecs for the program's segments, up to the first page that fails
 * the access check. Returns how many; *faulted when one failed. */
static int vmsplice_plan(struct linux_process *process, const struct vmsplice_segment *segments,
                         uint64_t count, enum guest_access access, struct iovec *iov, bool *faulted)
{
    int used = 0;
    uint64_t planned = 0;
    *faulted = false;
    for (uint64_t i = 0; i < count && used < VMSPLICE_MAX_SEGMENTS; i++) {
        uint64_t address = segments[i].address;
        uint64_t left = MIN(segments[i].length, VMSPLICE_MAX_BYTES - planned);
        /* Page by page, so a fault keeps the bytes before it. */
        while (left && used < VMSPLICE_MAX_SEGMENTS) {
            uint64_t piece = MIN(left, GUEST_PAGE_SIZE - address % GUEST_PAGE_SIZE);
            if (guest_iovec(process->memory, address, piece, access, iov + used, 1) != 1) {
                *faulted = true;
                return used;
            }
            used++;
            address += piece;
            left -= piece;
            planned += piece;
        }
    }
    return used;
}

/*
 * vmsplice: the program's memory into a pipe (its write end) or out of one
 * (its read end), by the host's vmsplice on the guest pages themselves, so
 * the pages are referenced, not copied, as on Linux (a program that changes
 * them before the reader reads shows it, as natively).
 */
static long sys_vmsplice(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    uint64_t count = args[2];
    if (count > VMSPLICE_MAX_SEGMENTS)
        return -EINVAL;
    int mode = fcntl(host_fd, F_GETFL);
    if (mode < 0)
        return linux_host_error();
    /* From the write end the pages are read; into the read end, written. */
    enum guest_access access =
        (mode & O_ACCMODE) == O_RDONLY ? GUEST_ACCESS_USER_WRITE : GUEST_ACCESS_USER_READ;
    struct vmsplice_segment *segments = g_new(struct vmsplice_segment, count ? count : 1);
    struct iovec *iov = g_new(struct iovec, VMSPLICE_MAX_SEGMENTS);
    long result;
    bool faulted = false;
    if (linux_copy_in(process, args[1], segments, count * sizeof(*segments)) != 0) {
        result = -EFAULT;
    } else {
        int used = vmsplice_plan(process, segments, count, access, iov, &faulted);
        sigset_t old_mask;
        linux_pipe_guard_begin(&old_mask);
        /* A fault on the first page: the host still checks fd and flags. */
        ssize_t n = vmsplice(host_fd, iov, (unsigned long)used, (unsigned int)args[3]);
        result = n < 0 ? linux_host_error() : n;
        if (result == -EPIPE)
            linux_broken_pipe(process);
        linux_pipe_guard_end(&old_mask);
        if (result == 0 && faulted)
            result = -EFAULT;
    }
    g_free(iov);
    g_free(segments);
    return result;
}

void linux_register_poll(linux_handler *table)
{
    table[SYS_poll] = sys_poll;
    table[SYS_ppoll] = sys_ppoll;
    table[SYS_select] = sys_select;
    table[SYS_pselect6] = sys_pselect6;
    table[SYS_epoll_create] = sys_epoll_create;
    table[SYS_epoll_create1] = sys_epoll_create1;
    table[SYS_epoll_ctl] = sys_epoll_ctl;
    table[SYS_epoll_wait] = sys_epoll_wait;
    table[SYS_epoll_pwait] = sys_epoll_pwait;
    table[SYS_epoll_pwait2] = sys_epoll_pwait2;
    table[SYS_eventfd] = sys_eventfd;
    table[SYS_eventfd2] = sys_eventfd2;
    table[SYS_timerfd_create] = sys_timerfd_create;
    table[SYS_timerfd_settime] = sys_timerfd_settime;
    table[SYS_timerfd_gettime] = sys_timerfd_gettime;
    table[SYS_inotify_init] = sys_inotify_init;
    table[SYS_inotify_init1] = sys_inotify_init1;
    table[SYS_inotify_add_watch] = sys_inotify_add_watch;
    table[SYS_inotify_rm_watch] = sys_inotify_rm_watch;
    table[SYS_splice] = sys_splice;
    table[SYS_tee] = sys_tee;
    table[SYS_vmsplice] = sys_vmsplice;
    /* The waits end with EINTR when a handler runs, whatever SA_RESTART. */
    static const int waits[] = {SYS_poll,       SYS_ppoll,       SYS_select,      SYS_pselect6,
                                SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2};
    for (size_t i = 0; i < G_N_ELEMENTS(waits); i++)
        linux_signal_set_interrupted((uint64_t)waits[i], LINUX_INTERRUPTED_RESTARTNOHAND);
}
