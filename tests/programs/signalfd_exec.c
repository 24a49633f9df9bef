/* signalfd_exec: a signalfd survives execve with its mask (the signal mask too): the new
 * program reads from it a signal it sends itself. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "check.h"

int main(int argc, char **argv)
{
    if (argc > 1) {
        int fd = atoi(argv[1]);
        kill(getpid(), SIGUSR1);
        struct signalfd_siginfo info;
        ssize_t got = read(fd, &info, sizeof info);
        check("after execve, the signalfd reads the signal sent",
              got == (ssize_t)sizeof info && info.ssi_signo == SIGUSR1 &&
                  info.ssi_pid == (uint32_t)getpid());
        return failures ? 1 : 0;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int fd = signalfd(-1, &set, 0);
    check("signalfd", fd >= 0);
    char number[16];
    snprintf(number, sizeof number, "%d", fd);
    fflush(stdout);
    execl("/proc/self/exe", argv[0], number, (char *)NULL);
    check("execl", 0);
    return 1;
}
