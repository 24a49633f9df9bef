/*
 * int3_spin.c — signals reaching a program that spins, without syscalls,
 * right after an int3 whose SIGTRAP handler has returned. The loop is the
 * instruction just after the int3 (`int3; 1: jmp 1b`), so the program's
 * rip stays where a trap still to come would leave it; only a handler that
 * moves rip out of the loop ends it. The signal comes from an interval
 * timer (SIGALRM), then from another process (a child's kill of SIGUSR1).
 * Natively each phase ends at the first signal.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

extern char int3_spin_loop[], int3_spin_out[];

static volatile sig_atomic_t traps, released, early;

static void on_trap(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)info;
    (void)context;
    traps++;
}

/* Out of the loop when the signal finds the program in it. */
static void on_release(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)info;
    ucontext_t *uc = context;
    if (uc->uc_mcontext.gregs[REG_RIP] == (greg_t)int3_spin_loop) {
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)int3_spin_out;
        released++;
    } else {
        early++;
    }
}

static void install(int signal, void (*handler)(int, siginfo_t *, void *))
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    if (sigaction(signal, &action, NULL) != 0) {
        perror("sigaction");
        exit(1);
    }
}

/* int3, its handler, then the loop until a signal moves rip out of it. */
static __attribute__((noinline)) void trap_and_spin(void)
{
    __asm__ volatile("int3\n"
                     "int3_spin_loop: jmp int3_spin_loop\n"
                     "int3_spin_out:\n" ::
                         : "memory");
}

static void report(const char *phase, int traps_before)
{
    printf("%s: %d trap, released %s\n", phase, (int)traps - traps_before,
           released ? "from the loop" : "never");
    released = 0;
}

/* A 10 ms interval timer: a tick that comes before the loop (a slow start)
 * is followed by another. */
static void timer_phase(void)
{
    int before = traps;
    struct itimerval every = {{0, 10000}, {0, 10000}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &every, NULL);
    trap_and_spin();
    setitimer(ITIMER_REAL, &off, NULL);
    report("SIGALRM from a timer", before);
}

/* The child sends SIGUSR1 every 10 ms until the parent has left the loop
 * (then the parent ends it). */
static void other_process_phase(void)
{
    int before = traps;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        exit(1);
    }
    if (child == 0) {
        struct timespec tick = {0, 10000000};
        for (;;) {
            nanosleep(&tick, NULL);
            if (kill(parent, SIGUSR1) != 0)
                _exit(0);
        }
    }
    trap_and_spin();
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    report("SIGUSR1 from another process", before);
    printf("sender ended by %s\n",
           WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? "SIGKILL" : "something else");
}

int main(void)
{
    install(SIGTRAP, on_trap);
    install(SIGALRM, on_release);
    install(SIGUSR1, on_release);
    timer_phase();
    other_process_phase();
    return traps == 2 ? 0 : 1;
}
