/* thread_end: how a multi-threaded program ends, by argument.
 *   exit_group  a worker calls exit(3) while the main thread blocks in
 *               read() on a pipe nobody writes and another in a futex wait
 *   fault       a worker dereferences NULL while the others block: the
 *               whole program dies of SIGSEGV
 *   main_exit   the main thread leaves with pthread_exit; the last worker
 *               ends the program with status 0 after its output
 *   limit       creates up to 10 threads that wait, and says how many
 *               pthread_create made before its first error
 *   fork        a worker forks: the child is a copy of the worker (its
 *               stack, its thread-local value) and exits 7
 *   vfork       a worker vforks; while the child runs, the main thread
 *               writes a local of the worker's: both the child's write and
 *               the main thread's are there when the worker goes on
 * Prints only deterministic facts. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FUTEX_WAIT_PRIVATE 128 /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG; musl has no <linux/futex.h> */

static int pipe_fds[2];
static int never_changes;

static void *block_in_futex(void *argument)
{
    (void)argument;
    for (;;)
        syscall(SYS_futex, &never_changes, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void *end_it(void *argument)
{
    const char *how = argument;
    usleep(50000); /* let the others block first */
    if (strcmp(how, "exit_group") == 0) {
        printf("worker calls exit(3)\n");
        fflush(stdout);
        exit(3);
    }
    printf("worker dereferences NULL\n");
    fflush(stdout);
    *(volatile int *)0 = 1;
    return NULL;
}

static void *finish_later(void *argument)
{
    (void)argument;
    usleep(50000);
    printf("worker finishes after main\n");
    return NULL;
}

static __thread int thread_value = 1;

static void *fork_from_worker(void *argument)
{
    (void)argument;
    thread_value = 42;
    int on_stack = 9;
    pid_t child = fork();
    if (child == 0) {
        printf("child of the worker: thread-local %d, stack %d\n", thread_value, on_stack);
        _exit(7);
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("worker's child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return NULL;
}

static int *volatile worker_slot;
static int sync_pipe[2];

static void *vfork_from_worker(void *argument)
{
    (void)argument;
    int slot = 1;
    volatile int on_stack = 0;
    worker_slot = &slot;
    pid_t child = vfork();
    if (child == 0) {
        on_stack = 5;
        char byte;
        /* Until the main thread has written slot. */
        if (read(sync_pipe[0], &byte, 1) != 1)
            _exit(1);
        _exit(5);
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("worker's vfork child exited %d; its write %d, the main thread's %d\n",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1, on_stack, slot);
    return NULL;
}

static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;

static void *wait_for_release(void *argument)
{
    (void)argument;
    pthread_mutex_lock(&hold);
    pthread_mutex_unlock(&hold);
    return NULL;
}

static int create_until_error(void)
{
    pthread_t threads[10];
    int created = 0, error = 0;
    pthread_mutex_lock(&hold);
    while (created < 10 && !error) {
        error = pthread_create(&threads[created], NULL, wait_for_release, NULL);
        created += !error;
    }
    pthread_mutex_unlock(&hold);
    for (int i = 0; i < created; i++)
        pthread_join(threads[i], NULL);
    printf("created %d threads, then %s\n", created, error ? strerror(error) : "no error");
    return 0;
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "exit_group";
    pthread_t thread;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(how, "limit") == 0)
        return create_until_error();
    if (strcmp(how, "fork") == 0) {
        pthread_create(&thread, NULL, fork_from_worker, NULL);
        pthread_join(thread, NULL);
        printf("main's thread-local %d\n", thread_value);
        return 0;
    }
    if (strcmp(how, "vfork") == 0) {
        if (pipe(sync_pipe) != 0)
            return 1;
        pthread_create(&thread, NULL, vfork_from_worker, NULL);
        while (!worker_slot)
            usleep(1000);
        usleep(20000); /* the worker is in vfork by now, or will find 2 there */
        *worker_slot = 2;
        if (write(sync_pipe[1], "x", 1) != 1)
            return 1;
        pthread_join(thread, NULL);
        return 0;
    }
    if (strcmp(how, "main_exit") == 0) {
        pthread_create(&thread, NULL, finish_later, NULL);
        printf("main calls pthread_exit\n");
        pthread_exit(NULL);
    }
    if (pipe(pipe_fds) != 0)
        return 1;
    pthread_create(&thread, NULL, block_in_futex, NULL);
    pthread_create(&thread, NULL, end_it, (void *)how);
    char byte;
    ssize_t got = read(pipe_fds[0], &byte, 1);
    printf("read returned %zd: WRONG\n", got);
    return 1;
}
