/* signalee: a program that takes signals, for the gdb tests of signals under the debugger.
 * It sends itself SIGUSR1, then waits for an alarm (SIGALRM), and counts what its handlers
 * got. With an argument it then ends by abort() ("abort") or a NULL write ("segv"; with
 * "siginfo" a SA_SIGINFO handler prints the fault's siginfo), or first makes a child with
 * vfork ("vfork") that exits 5, or spins on one line until an alarm's handler ends the loop
 * ("spin": gdb's `next` over that line).
 * Exits 0 when SIGUSR1 came once, 3 when it never came (gdb discarded it). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

volatile sig_atomic_t got_usr1, got_alrm, got_usr2;

void on_usr1(int signal)
{
    (void)signal;
    got_usr1++;
}

void on_alrm(int signal)
{
    (void)signal;
    got_alrm++;
}

void on_usr2(int signal)
{
    (void)signal;
    got_usr2++;
}

int after_signals(void)
{
    return got_usr1 + got_alrm + got_usr2;
}

/* A SIGSEGV handler that says what its siginfo held, and ends the program. */
void on_segv(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)context;
    printf("segv addr=%p code=%d errno=%d\n", info->si_addr, info->si_code, info->si_errno);
    fflush(stdout);
    _exit(0);
}

/* A child made with vfork that exits 5, waited for. */
static void vfork_child(void)
{
    pid_t child = vfork();
    if (child == 0)
        _exit(5);
    int status = 0;
    waitpid(child, &status, 0);
    printf("vfork child exited %d\n", WEXITSTATUS(status));
}

/* One line that loops until SIGALRM's handler has run. */
__attribute__((noinline)) void spin_until_alarm(void)
{
    got_alrm = 0;
    alarm(1);
    while (!got_alrm) /* the line `next` steps over */
        ;
    printf("spun until the alarm\n");
}

int main(int argc, char **argv)
{
    /* Before any timer runs: a timer's thread may hold the monitor's locks
     * at the moment of the fork. */
    if (argc > 1 && strcmp(argv[1], "vfork") == 0)
        vfork_child();
    signal(SIGUSR1, on_usr1);
    signal(SIGALRM, on_alrm);
    signal(SIGUSR2, on_usr2);
    kill(getpid(), SIGUSR1);
    alarm(1);
    while (!got_alrm)
        pause();
    after_signals();
    if (argc > 1 && strcmp(argv[1], "spin") == 0)
        spin_until_alarm();
    printf("usr1=%d alrm=%d usr2=%d\n", (int)got_usr1, (int)got_alrm, (int)got_usr2);
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "abort") == 0)
        abort();
    if (argc > 1 && strcmp(argv[1], "siginfo") == 0) {
        struct sigaction action;
        memset(&action, 0, sizeof(action));
        action.sa_sigaction = on_segv;
        action.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &action, NULL);
    }
    if (argc > 1 && (strcmp(argv[1], "segv") == 0 || strcmp(argv[1], "siginfo") == 0))
        *(volatile int *)NULL = 1;

    return got_usr1 == 1 ? 0 : 3;
}
