/* thread_fork: a thread that is not the main one forks; the child goes on from that
 * thread's fork call (its registers, its stack), as the only thread of the new process. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void *worker(void *arg)
{
    const char *name = arg;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* Here only if the child resumed in this thread's frame. */
        int alone = syscall(SYS_gettid) == getpid();
        printf("child of %s: tid is its pid: %s\n", name, alone ? "yes" : "no");
        fflush(stdout);
        _exit(alone ? 7 : 1);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 7)
        failures++;
    printf("%s: its child exited %d\n", name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return NULL;
}

int main(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, "a second thread") != 0)
        return 2;
    pthread_join(thread, NULL);
    worker("the main thread");
    printf("%s\n", failures ? "thread_fork FAILED" : "thread_fork: all ok");
    return failures != 0;
}
