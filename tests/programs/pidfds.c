/* pidfds: pidfd_open, pidfd_send_signal, waitid(P_PIDFD) and clone/clone3 with
 * CLONE_PIDFD, as systemd, Python's os.pidfd_open and Go's os.StartProcess use
 * them: a child's pidfd polls readable when it ends and waits for it; a signal
 * sent through one reaches the child, or the program itself with its siginfo;
 * the errors are Linux's. Every line is the same on every run. Exits non-zero
 * when a check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid, unsigned int flags)
{
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_send(int fd, int signal, siginfo_t *info, unsigned int flags)
{
    return (int)syscall(SYS_pidfd_send_signal, fd, signal, info, flags);
}

static int cloexec(int fd)
{
    return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

/* A child that waits for a byte (or EOF) on a pipe, then exits with status. */
static pid_t waiting_child(int status, int *release)
{
    int fds[2];
    if (pipe(fds) != 0)
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        char byte;
        (void)read(fds[0], &byte, 1);
        _exit(status);
    }
    close(fds[0]);
    *release = fds[1];
    return pid;
}

static void open_errors(void)
{
    int self = pidfd_open(getpid(), 0);
    check("pidfd_open of itself", self >= 0 && cloexec(self));
    close(self);
    check_errno(pidfd_open(getpid(), 1), EINVAL, "pidfd_open with unknown flags");
    check_errno(pidfd_open(0, 0), EINVAL, "pidfd_open of pid 0");
    check_errno(pidfd_open(-1, 0), EINVAL, "pidfd_open of pid -1");
    check_errno(pidfd_open(0x3ffffff0, 0), ESRCH, "pidfd_open of a pid no process has");
}

static void child_end(void)
{
    int release;
    pid_t child = waiting_child(7, &release);
    int fd = pidfd_open(child, 0);
    check("pidfd_open of a child", fd >= 0 && cloexec(fd));
    struct pollfd poll_fd = {.fd = fd, .events = POLLIN};
    check("a running child's pidfd does not poll readable", poll(&poll_fd, 1, 0) == 0);
    int nonblocking = pidfd_open(child, O_NONBLOCK);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    check_errno(waitid(P_PIDFD, (id_t)nonblocking, &info, WEXITED), EAGAIN,
                "waitid on a running child's PIDFD_NONBLOCK pidfd");
    close(nonblocking);
    close(release);
    check("an ended child's pidfd polls readable",
          poll(&poll_fd, 1, 10000) == 1 && (poll_fd.revents & POLLIN));
    memset(&info, 0, sizeof(info));
    int waited = waitid(P_PIDFD, (id_t)fd, &info, WEXITED);
    check("waitid(P_PIDFD) reaps the child",
          waited == 0 && info.si_pid == child && info.si_code == CLD_EXITED && info.si_status == 7);
    check_errno(waitid(P_PIDFD, (id_t)fd, &info, WEXITED), ECHILD,
                "waitid(P_PIDFD) once it is reaped");
    check_errno(pidfd_send(fd, SIGTERM, NULL, 0), ESRCH, "pidfd_send_signal to a reaped child");
    close(fd);
}

static void signal_child(void)
{
    int release;
    pid_t child = waiting_child(0, &release);
    int fd = pidfd_open(child, 0);
    check("pidfd_send_signal(SIGTERM) to a child", pidfd_send(fd, SIGTERM, NULL, 0) == 0);
    int status = 0;
    check("the child dies of SIGTERM", waitpid(child, &status, 0) == child && WIFSIGNALED(status) &&
                                           WTERMSIG(status) == SIGTERM);
    close(fd);
    close(release);
}

static volatile sig_atomic_t got_code, got_value, got_pid;

static void on_usr1(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)context;
    got_code = info->si_code;
    got_value = info->si_value.sival_int;
    got_pid = info->si_pid == getpid();
}

static void signal_self(void)
{
    struct sigaction action = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &action, NULL);
    int fd = pidfd_open(getpid(), 0);
    got_code = 1000;
    check("pidfd_send_signal to itself", pidfd_send(fd, SIGUSR1, NULL, 0) == 0);
    check("its handler ran with SI_USER from itself", got_code == SI_USER && got_pid);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = SIGUSR1;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value.sival_int = 42;
    got_code = 1000;
    check("pidfd_send_signal with a siginfo to itself", pidfd_send(fd, SIGUSR1, &info, 0) == 0);
    check("its handler got the siginfo", got_code == SI_QUEUE && got_value == 42);
    info.si_signo = SIGUSR2;
    check_errno(pidfd_send(fd, SIGUSR1, &info, 0), EINVAL, "a siginfo of another signal");
    check_errno(pidfd_send(fd, SIGUSR1, NULL, 8), EINVAL, "unknown pidfd_send_signal flags");
    check_errno(pidfd_send(fd, 65, NULL, 0), EINVAL, "signal 65");
    check("signal 0 to itself", pidfd_send(fd, 0, NULL, 0) == 0);
    int fds[2];
    if (pipe(fds) != 0)
        exit(2);
    check_errno(pidfd_send(fds[0], SIGUSR1, NULL, 0), EBADF, "pidfd_send_signal on a pipe");
    check_errno(waitid(P_PIDFD, (id_t)fds[0], &info, WEXITED), EBADF, "waitid(P_PIDFD) on a pipe");
    close(fds[0]);
    close(fds[1]);
    check_errno(pidfd_send(fds[0], SIGUSR1, NULL, 0), EBADF, "pidfd_send_signal on a closed fd");
    close(fd);
}

static void wait_pidfd(const char *what, int fd, pid_t child, int status)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    int waited = waitid(P_PIDFD, (id_t)fd, &info, WEXITED);
    check(what, waited == 0 && info.si_pid == child && info.si_status == status);
}

struct clone_args_v0 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static void clone_pidfd(void)
{
    int pidfd = -1;
    long child = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
    if (child == 0)
        _exit(3);
    check("clone(CLONE_PIDFD) stores a pidfd", child > 0 && pidfd >= 0 && cloexec(pidfd));
    wait_pidfd("waitid on clone's pidfd", pidfd, (pid_t)child, 3);
    close(pidfd);
    check_errno(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pidfd, 0, 0),
                EINVAL, "clone with CLONE_PIDFD and CLONE_PARENT_SETTID");

    struct clone_args_v0 args = {.flags = CLONE_PIDFD, .exit_signal = SIGCHLD};
    int pidfd3 = -1;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd3;
    child = syscall(SYS_clone3, &args, sizeof(args));
    if (child == 0)
        _exit(4);
    check("clone3(CLONE_PIDFD) makes a process and a pidfd", child > 0 && pidfd3 >= 0);
    wait_pidfd("waitid on clone3's pidfd", pidfd3, (pid_t)child, 4);
    close(pidfd3);

    args.pidfd = 8; /* no memory there */
    check_errno(syscall(SYS_clone3, &args, sizeof(args)), EFAULT,
                "clone3 with a pidfd it cannot store");
    check_errno(waitpid(-1, NULL, WNOHANG), ECHILD, "and no child was made");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    open_errors();
    child_end();
    signal_child();
    signal_self();
    clone_pidfd();
    return failures ? 1 : 0;
}
