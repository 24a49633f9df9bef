/*
 * trap_storm.c — signals arriving while the program's own exceptions are
 * being handled: int3 and ud2 caught by handlers in a loop while an interval
 * timer fires SIGALRM every 50 us. Every trap is seen once, the loop's
 * registers survive, and the run ends normally.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>

static volatile sig_atomic_t traps, illegal, alarms;

static void on_trap(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)info;
    (void)context;
    traps++;
}

static void on_illegal(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)info;
    ucontext_t *uc = context;
    uc->uc_mcontext.gregs[REG_RIP] += 2; /* past the ud2 */
    illegal++;
}

static void on_alarm(int signal)
{
    (void)signal;
    alarms++;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 20000;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_trap;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGTRAP, &action, NULL);
    action.sa_sigaction = on_illegal;
    sigaction(SIGILL, &action, NULL);
    action.sa_flags = SA_RESTART;
    action.sa_handler = on_alarm;
    sigaction(SIGALRM, &action, NULL);
    struct itimerval fast = {{0, 50}, {0, 50}};
    setitimer(ITIMER_REAL, &fast, NULL);
    unsigned long sum = 0;
    for (long i = 0; i < rounds; i++) {
        unsigned long before = (unsigned long)i * 7;
        unsigned long kept = before;
        __asm__ volatile("int3" : "+r"(kept)::"memory");
        __asm__ volatile("ud2" : "+r"(kept)::"memory");
        if (kept != before) {
            printf("round %ld: a register changed across the traps\n", i);
            return 1;
        }
        sum += kept;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("traps %d, illegal %d, alarms seen %s, sum %lu\n", (int)traps, (int)illegal,
           alarms > 0 ? "yes" : "no", sum);
    return traps == rounds && illegal == rounds ? 0 : 1;
}
