/*
 * signal_targets.c — where signals go: a process-directed signal the main
 * thread blocks runs its handler on a thread that does not; sigqueue
 * (rt_sigqueueinfo) and rt_tgsigqueueinfo reach a forked child with their
 * code, value and sender; a sigqueue to oneself may use any si_code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static volatile pid_t handler_tid;
static volatile sig_atomic_t worker_ready;

static void on_usr1(int signal)
{
    (void)signal;
    handler_tid = (pid_t)syscall(SYS_gettid);
}

static pid_t worker_tid;

static void *worker(void *argument)
{
    (void)argument;
    worker_tid = (pid_t)syscall(SYS_gettid);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    __atomic_store_n(&worker_ready, 1, __ATOMIC_SEQ_CST);
    while (!handler_tid)
        pause();
    return NULL;
}

static void process_signal_to_thread(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    sigaction(SIGUSR1, &action, NULL);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    while (!__atomic_load_n(&worker_ready, __ATOMIC_SEQ_CST))
        usleep(1000);
    kill(getpid(), SIGUSR1);
    pthread_join(thread, NULL);
    check("a process signal the main thread blocks runs on the other thread",
          handler_tid == worker_tid);
}

static void self_queue_any_code(void)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_code = SI_USER; /* allowed only towards oneself */
    info.si_value.sival_int = 7;
    int signal = SIGRTMIN + 3;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    sigprocmask(SIG_BLOCK, &set, NULL);
    long result = syscall(SYS_rt_sigqueueinfo, getpid(), signal, &info);
    siginfo_t got;
    int taken = sigwaitinfo(&set, &got);
    printf("rt_sigqueueinfo to self with SI_USER -> %ld, code %d\n", result, got.si_code);
    check("queued to self with SI_USER", result == 0 && taken == signal && got.si_code == SI_USER);
    check_errno(syscall(SYS_rt_sigqueueinfo, getppid(), signal, &info), EPERM,
                "rt_sigqueueinfo SI_USER to another process");
}

/* The child waits for two queued signals and reports what arrived. */
static int child_receives(int ready_fd, pid_t parent)
{
    int rt = SIGRTMIN + 2;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, rt);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (write(ready_fd, "r", 1) != 1)
        return 3;
    /* Printed in the order of their values: which arrives first depends
     * on when the child gets to run. */
    char lines[3][128] = {"missing", "missing", "missing"};
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        siginfo_t info;
        int signal = sigwaitinfo(&set, &info);
        const char *name = signal == SIGUSR2 ? "SIGUSR2" : signal == rt ? "SIGRTMIN+2" : "?";
        int slot = info.si_value.sival_int - 42;
        if (slot < 0 || slot > 2) {
            bad++;
            continue;
        }
        snprintf(lines[slot], sizeof lines[slot], "child got %s code %s value %d from parent %s",
                 name, info.si_code == SI_QUEUE ? "SI_QUEUE" : "other", info.si_value.sival_int,
                 info.si_pid == parent ? "yes" : "no");
        bad += info.si_code != SI_QUEUE || info.si_pid != parent;
    }
    for (int i = 0; i < 3; i++)
        printf("%s\n", lines[i]);
    fflush(stdout);
    return bad ? 1 : 0;
}

static void queue_to_child(void)
{
    int ready[2];
    if (pipe(ready) != 0)
        exit(1);
    fflush(stdout);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0)
        _exit(child_receives(ready[1], parent));
    char byte;
    if (read(ready[0], &byte, 1) != 1)
        exit(1);
    union sigval value = {.sival_int = 42};
    check("sigqueue SIGUSR2 to a child", sigqueue(child, SIGUSR2, value) == 0);
    value.sival_int = 43;
    check("sigqueue SIGRTMIN+2 to a child", sigqueue(child, SIGRTMIN + 2, value) == 0);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value.sival_int = 44;
    check("rt_tgsigqueueinfo to the child's main thread",
          syscall(SYS_rt_tgsigqueueinfo, child, child, SIGRTMIN + 2, &info) == 0);
    int status;
    waitpid(child, &status, 0);
    check("the child got all three", WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    self_queue_any_code();
    queue_to_child();
    process_signal_to_thread();
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
