/* signal_rip: signals sent to a thread that makes system calls in a loop.
 * Each handler checks the rip its signal frame saved: on Linux it is always
 * the program's own code (the instruction after a `syscall`, or one the
 * thread was at), never anything else. Under hermitux-run on PVM a signal
 * that came between the thread's `syscall` and the syscall entry's exit saved
 * the entry's address (0x100000, in the guest kernel). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define SIGNALS 3000

extern char __executable_start[], etext[];

static volatile int calling = 1;
static volatile int handled, outside_program;
static volatile uintptr_t first_outside;

static void on_usr1(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)info;
    uintptr_t rip = (uintptr_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
    if (rip < (uintptr_t)__executable_start || rip >= (uintptr_t)etext) {
        if (!outside_program)
            first_outside = rip;
        outside_program++;
    }
    handled++;
}

static void *make_calls(void *argument)
{
    (void)argument;
    while (calling)
        syscall(SYS_getppid);
    return NULL;
}

int main(void)
{
    struct sigaction action = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
    pthread_t caller;
    if (pthread_create(&caller, NULL, make_calls, NULL) != 0)
        return 1;
    const struct timespec pause = {0, 50000};
    for (int i = 0; i < SIGNALS; i++) {
        int before = handled;
        pthread_kill(caller, SIGUSR1);
        /* one at a time: a signal still pending would merge with the next */
        while (handled == before)
            nanosleep(&pause, NULL);
    }
    calling = 0;
    pthread_join(caller, NULL);
    printf("%d signals handled, %d saved a rip outside the program", handled, outside_program);
    if (outside_program)
        printf(" (first %#lx)", (unsigned long)first_outside);
    printf("\n");
    return outside_program != 0;
}
