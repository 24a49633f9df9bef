/* restart_syscall: called with nothing to restart, Linux answers EINTR at once (its
 * do_no_restart_syscall), even while a signal is blocked and pending. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    long result = syscall(SYS_restart_syscall);
    printf("restart_syscall: %ld %s\n", result,
           result < 0 && errno == EINTR ? "EINTR" : "not EINTR");
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    raise(SIGUSR1);
    result = syscall(SYS_restart_syscall);
    printf("with SIGUSR1 pending: %ld %s\n", result,
           result < 0 && errno == EINTR ? "EINTR" : "not EINTR");
    return 0;
}
