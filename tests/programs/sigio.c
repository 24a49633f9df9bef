/* sigio: O_ASYNC on a pipe sends its owner SIGIO when data arrives (F_SETOWN with the
 * process, F_SETOWN_EX with a thread), and F_SETSIG's signal instead, with POLL_IN as
 * si_code; F_GETOWN and F_GETOWN_EX read the owner back. O_ASYNC set with
 * ioctl(FIOASYNC), as nginx's master does, works the same. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t got_signal, got_code;

static void on_signal(int signal, siginfo_t *info, void *context)
{
    (void)context;
    got_signal = signal;
    got_code = info->si_code;
}

static int wait_for_signal(void)
{
    for (int i = 0; i < 500 && !got_signal; i++)
        usleep(10000);
    return got_signal;
}

static void one_pipe(const char *what, int setsig, int thread_owner, int by_ioctl)
{
    int fds[2];
    if (pipe(fds) != 0)
        return;
    got_signal = got_code = 0;
    char line[128];
    if (thread_owner) {
        struct f_owner_ex owner = {F_OWNER_TID, (pid_t)syscall(SYS_gettid)}, back = {0, 0};
        snprintf(line, sizeof line, "%s: F_SETOWN_EX and F_GETOWN_EX", what);
        check(line, fcntl(fds[0], F_SETOWN_EX, &owner) == 0 &&
                        fcntl(fds[0], F_GETOWN_EX, &back) == 0 && back.type == F_OWNER_TID &&
                        back.pid == owner.pid);
    } else {
        snprintf(line, sizeof line, "%s: F_SETOWN and F_GETOWN", what);
        check(line, fcntl(fds[0], F_SETOWN, getpid()) == 0 && fcntl(fds[0], F_GETOWN) == getpid());
    }
    if (setsig)
        fcntl(fds[0], F_SETSIG, setsig);
    int on = 1;
    if (by_ioctl) {
        snprintf(line, sizeof line, "%s: ioctl(FIOASYNC)", what);
        check(line, ioctl(fds[0], FIOASYNC, &on) == 0);
    } else {
        fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_ASYNC);
    }
    snprintf(line, sizeof line, "%s: F_GETFL shows O_ASYNC", what);
    check(line, (fcntl(fds[0], F_GETFL) & O_ASYNC) != 0);
    if (write(fds[1], "x", 1) != 1)
        return;
    int expected = setsig ? setsig : SIGIO;
    snprintf(line, sizeof line, "%s: the signal arrives", what);
    check(line, wait_for_signal() == expected);
    if (setsig) {
        snprintf(line, sizeof line, "%s: si_code is POLL_IN", what);
        check(line, got_code == POLL_IN);
    }
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    struct sigaction action = {0};
    action.sa_sigaction = on_signal;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGIO, &action, NULL);
    sigaction(SIGRTMIN + 3, &action, NULL);
    one_pipe("SIGIO to the process", 0, 0, 0);
    one_pipe("SIGIO to the thread", 0, 1, 0);
    one_pipe("F_SETSIG SIGRTMIN+3", SIGRTMIN + 3, 0, 0);
    one_pipe("FIOASYNC", 0, 0, 1);
    return failures ? 1 : 0;
}
