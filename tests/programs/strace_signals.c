/* strace_signals: signals from the common sources, between two marker writes, so that
 * `hermitux-run --strace` can be compared with strace's own trace (its "--- SIG ---"
 * lines), then, with an argument, a fork whose child's lines carry "[pid N]" and a
 * fatal signal the program sends itself.
 *   strace_signals          signals only; exits 0
 *   strace_signals fork     ...then a child that exits 3, waited for; exits 0
 *   strace_signals abort    ...then abort(): killed by SIGABRT */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t caught;

static void on_signal(int signal)
{
    caught += signal;
}

static void say(const char *text)
{
    if (write(1, text, strlen(text)) < 0)
        _exit(2);
}

static void install(int signal)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(signal, &action, NULL);
}

int main(int argc, char **argv)
{
    install(SIGUSR1);
    install(SIGALRM);
    install(SIGRTMIN + 1);
    sigset_t empty;
    sigemptyset(&empty);
    say("BEGIN\n");
    kill(getpid(), SIGUSR1);                          /* SI_USER */
    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1); /* SI_TKILL */
    alarm(1);
    while (caught < SIGUSR1 * 2 + SIGALRM)
        pause(); /* SI_KERNEL */
    union sigval value = {.sival_int = 42};
    sigqueue(getpid(), SIGRTMIN + 1, value); /* SI_QUEUE */
    signal(SIGUSR2, SIG_IGN);
    kill(getpid(), SIGUSR2); /* ignored, yet traced: strace shows it */
    say("END\n");
    if (argc > 1 && strcmp(argv[1], "fork") == 0) {
        pid_t child = fork();
        if (child == 0) {
            say("child\n");
            _exit(3);
        }
        int status;
        waitpid(child, &status, 0);
        return WIFEXITED(status) && WEXITSTATUS(status) == 3 ? 0 : 1;
    }
    if (argc > 1 && strcmp(argv[1], "abort") == 0)
        abort();
    return 0;
}
