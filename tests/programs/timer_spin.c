/* timer_spin: a syscall-free loop interrupted by SIGALRM from setitimer. The
 * loop keeps invariants in registers and memory that a resume at the wrong
 * instruction would break (a skipped or repeated instruction changes a
 * counter's relation to its twin); the handler counts ticks and checks that
 * it interrupted the loop. Prints only facts that do not depend on timing. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t ticks;
static volatile unsigned long counter, twin, never;

static void on_alarm(int signal)
{
    (void)signal;
    ticks++;
}

int main(int argc, char **argv)
{
    int wanted = argc > 1 ? atoi(argv[1]) : 20;
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_alarm;
    sigemptyset(&action.sa_mask);
    sigaction(SIGALRM, &action, NULL);
    struct itimerval timer = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &timer, NULL);
    unsigned long bad = 0, a = 1, b = 3;
    while (ticks < wanted) {
        /* Register arithmetic with an invariant, b == 3 * a (mod 2^64),
         * split into several blocks by branches never taken: a resume at
         * the start of the wrong block runs one update twice. */
        a = a * 5 + 7;
        if (a == 12345)
            never++;
        b = b * 5 + 21;
        if (b == 12345)
            never++;
        counter++;
        twin += 2;
        if (twin != 2 * counter || b != 3 * a)
            bad++;
    }
    timer = (struct itimerval){{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &timer, NULL);
    printf("ticks >= %d: %s\n", wanted, ticks >= wanted ? "yes" : "no");
    printf("invariant broken: %lu times\n", bad);
    return bad != 0;
}
