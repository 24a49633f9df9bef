/* inherited: what a program gets from the process that started it across
 * execve, as nohup, nice and a shell's `trap '' SIG` give it: ignored
 * signals stay ignored (a SIGHUP sent to itself does nothing), blocked ones
 * blocked, the nice value kept.
 *   inherited launch PROGRAM ARGS...   ignore SIGHUP and SIGINT, block SIGUSR1,
 *                                      nice +3, then execv PROGRAM
 *   inherited report                   print what it was given */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int report(void)
{
    sigset_t mask;
    sigprocmask(SIG_SETMASK, NULL, &mask);
    struct sigaction hup, intr, term;
    sigaction(SIGHUP, NULL, &hup);
    sigaction(SIGINT, NULL, &intr);
    sigaction(SIGTERM, NULL, &term);
    printf("SIGHUP ignored: %d\n", hup.sa_handler == SIG_IGN);
    printf("SIGINT ignored: %d\n", intr.sa_handler == SIG_IGN);
    printf("SIGTERM ignored: %d\n", term.sa_handler == SIG_IGN);
    printf("SIGUSR1 blocked: %d\n", sigismember(&mask, SIGUSR1));
    printf("SIGUSR2 blocked: %d\n", sigismember(&mask, SIGUSR2));
    printf("nice: %d\n", getpriority(PRIO_PROCESS, 0));
    fflush(stdout);
    kill(getpid(), SIGHUP);
    printf("survived SIGHUP\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "report") == 0)
        return report();
    if (argc < 3 || strcmp(argv[1], "launch") != 0) {
        fprintf(stderr, "usage: inherited launch PROGRAM ARGS... | inherited report\n");
        return 2;
    }
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) + 3);
    execv(argv[2], argv + 2);
    perror("execv");
    return 127;
}
