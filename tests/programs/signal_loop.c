/* signal_loop N: N round trips of a signal to itself (kill, the handler runs,
 * rt_sigreturn), for the benchmark; prints how many handlers ran. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_signal(int signal)
{
    (void)signal;
    handled++;
}

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 1000;
    struct sigaction action = {0};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
    pid_t self = getpid();
    for (long i = 0; i < count; i++)
        kill(self, SIGUSR1);
    printf("handlers run: %ld of %ld\n", (long)handled, count);
    return handled == count ? 0 : 1;
}
