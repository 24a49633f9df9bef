/* tsignalee: signals met by a thread other than the first, for the gdb tests of signals
 * under the debugger. The main thread installs the handlers and starts one worker (named
 * "worker"), which sends itself SIGUSR1 with pthread_kill and passes worker_after_kill();
 * the main thread joins it and prints what the handlers got and which thread ran them (the
 * SIGUSR1 handler also says so as it runs); the worker signals itself once the main thread
 * waits in pthread_join. With an argument the worker instead writes through a NULL pointer
 * ("segv"), or makes a child with fork ("fork": it exits 3) or vfork ("vfork": it exits 5)
 * and waits for it; with "both" the main thread sends itself SIGUSR2
 * as the worker sends itself SIGUSR1 (both stop under gdb, one reported after the other).
 * Exits 0 when SIGUSR1 came once, 3 when it never came (gdb discarded it). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "await_main.h"

static const char *mode = "";
static pthread_barrier_t together;
static __thread int is_worker;
volatile sig_atomic_t got_usr1, got_usr2, handler_in_worker;

void on_usr1(int signal)
{
    static const char in_worker[] = "usr1 handler in worker\n",
                      in_main[] = "usr1 handler in main\n";
    (void)signal;
    got_usr1++;
    handler_in_worker = is_worker;
    if (is_worker)
        write(1, in_worker, sizeof(in_worker) - 1);
    else
        write(1, in_main, sizeof(in_main) - 1);
}

void on_usr2(int signal)
{
    (void)signal;
    got_usr2++;
}

int worker_after_kill(void)
{
    return got_usr1 + got_usr2;
}

/* A child made with fork (exits 3) or vfork (exits 5), waited for. */
static void make_child(bool use_vfork)
{
    pid_t child = use_vfork ? vfork() : fork();
    if (child == 0)
        _exit(use_vfork ? 5 : 3);
    int status = 0;
    waitpid(child, &status, 0);
    printf("%s child exited %d\n", use_vfork ? "vfork" : "fork", WEXITSTATUS(status));
}

static void *worker(void *argument)
{
    (void)argument;
    is_worker = 1;
    prctl(PR_SET_NAME, "worker");
    if (strcmp(mode, "segv") == 0)
        *(volatile int *)NULL = 1;
    if (strcmp(mode, "fork") == 0 || strcmp(mode, "vfork") == 0)
        make_child(strcmp(mode, "vfork") == 0);
    if (strcmp(mode, "both") == 0)
        pthread_barrier_wait(&together);
    else
        await_main_blocked();
    pthread_kill(pthread_self(), SIGUSR1);
    worker_after_kill();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        mode = argv[1];
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    pthread_barrier_init(&together, NULL, 2);
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL) != 0) {
        perror("pthread_create");
        return 1;
    }
    if (strcmp(mode, "both") == 0) {
        pthread_barrier_wait(&together);
        pthread_kill(pthread_self(), SIGUSR2);
    }
    pthread_join(thread, NULL);
    printf("usr1=%d usr2=%d in-worker=%d\n", (int)got_usr1, (int)got_usr2, (int)handler_in_worker);
    fflush(stdout);
    return got_usr1 == 1 ? 0 : 3;
}
