/* robust_shared: process-shared robust mutexes (MAP_SHARED|MAP_ANONYMOUS,
 * made before fork) whose owner process goes while holding them: the next
 * locker, in another process, gets EOWNERDEAD, makes the mutex consistent,
 * and it works as a lock again. The owner goes by _exit, by exit with a
 * second thread holding another mutex (every thread's list), by a fatal
 * signal's default action (SIGTERM from the parent, abort()), by execve, and while another
 * process already waits in the lock. Every line is the same on every run.
 * Exits non-zero when a check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define MUTEXES 8

static pthread_mutex_t *mutexes;

static const char *lock_result(int result)
{
    return result == EOWNERDEAD ? "EOWNERDEAD" : errno_name(result);
}

static void init_mutexes(void)
{
    mutexes = mmap(NULL, sizeof(pthread_mutex_t) * MUTEXES, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mutexes == MAP_FAILED)
        exit(2);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    for (int i = 0; i < MUTEXES; i++)
        pthread_mutex_init(&mutexes[i], &attr);
    pthread_mutexattr_destroy(&attr);
}

/* The parent's lock of a mutex whose owner went: EOWNERDEAD, then it is
 * made consistent and works again. */
static void recover(pthread_mutex_t *mutex, const char *what)
{
    char line[160];
    int result = pthread_mutex_lock(mutex);
    snprintf(line, sizeof(line), "%s: lock -> %s", what, lock_result(result));
    check(line, result == EOWNERDEAD);
    if (result != EOWNERDEAD)
        return;
    snprintf(line, sizeof(line), "%s: consistent", what);
    check(line, pthread_mutex_consistent(mutex) == 0);
    snprintf(line, sizeof(line), "%s: unlock", what);
    check(line, pthread_mutex_unlock(mutex) == 0);
    snprintf(line, sizeof(line), "%s: lock again", what);
    check(line, pthread_mutex_lock(mutex) == 0 && pthread_mutex_unlock(mutex) == 0);
}

/* A child that locks mutex, says so on a pipe, and waits (for a signal, or
 * a byte on its stdin-like pipe when release is wanted). */
static pid_t locking_child(pthread_mutex_t *mutex, int *release)
{
    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0)
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        if (pthread_mutex_lock(mutex) != 0)
            _exit(3);
        (void)write(ready[1], "x", 1);
        char byte;
        (void)read(go[0], &byte, 1);
        _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    char byte;
    if (read(ready[0], &byte, 1) != 1)
        exit(2);
    close(ready[0]);
    *release = go[1];
    return pid;
}

static int wait_status(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

static void owner_exits(void)
{
    int release;
    pid_t pid = locking_child(&mutexes[0], &release);
    close(release); /* read gets EOF: the child _exits holding the lock */
    int status = wait_status(pid);
    check("_exit holding it: child exited 0", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    recover(&mutexes[0], "_exit holding it");
}

/* A fatal signal's default action: SIGTERM from the parent, or abort() in
 * the owner. */
static void owner_killed(int signal, pthread_mutex_t *mutex)
{
    const char *what = signal == SIGTERM ? "SIGTERM holding it" : "abort holding it";
    pid_t pid;
    int release = -1;
    if (signal == SIGTERM) {
        pid = locking_child(mutex, &release);
        kill(pid, signal);
    } else {
        pid = fork();
        if (pid == 0) {
            if (pthread_mutex_lock(mutex) != 0)
                _exit(3);
            abort();
        }
    }
    int status = wait_status(pid);
    char line[160];
    snprintf(line, sizeof(line), "%s: child killed by the signal", what);
    check(line, WIFSIGNALED(status) && WTERMSIG(status) == signal);
    if (release >= 0)
        close(release);
    recover(mutex, what);
}

static void *locker_thread(void *arg)
{
    pthread_mutex_lock(arg);
    for (;;)
        pause(); /* still holding it when the process exits */
    return NULL;
}

/* exit in a process of two threads, each holding a mutex: both lists. */
static void threads_exit(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t thread;
        pthread_mutex_lock(&mutexes[3]);
        if (pthread_create(&thread, NULL, locker_thread, &mutexes[4]) != 0)
            _exit(3);
        /* Wait until the thread holds its lock. */
        while (pthread_mutex_trylock(&mutexes[4]) != EBUSY)
            pthread_mutex_unlock(&mutexes[4]);
        exit(0); /* the thread is still running: exit_group ends it */
    }
    int status = wait_status(pid);
    check("exit with two threads: child exited 0", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    recover(&mutexes[3], "exit, main thread's lock");
    recover(&mutexes[4], "exit, other thread's lock");
}

/* A second process already waits in the lock when the owner goes. */
static void waiter_woken(void)
{
    int release;
    pid_t owner = locking_child(&mutexes[5], &release);
    pid_t waiter = fork();
    if (waiter == 0) {
        close(release);
        int result = pthread_mutex_lock(&mutexes[5]);
        if (result != EOWNERDEAD)
            _exit(result == 0 ? 10 : 11);
        if (pthread_mutex_consistent(&mutexes[5]) != 0 || pthread_mutex_unlock(&mutexes[5]) != 0)
            _exit(12);
        _exit(0);
    }
    usleep(300000); /* the waiter is asleep in the lock by now */
    close(release);
    int status = wait_status(owner);
    check("waiter: owner exited 0", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    status = wait_status(waiter);
    printf("waiter: exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    check("waiter: got EOWNERDEAD, made it consistent",
          WIFEXITED(status) && WEXITSTATUS(status) == 0);
    check("waiter: lock free after",
          pthread_mutex_lock(&mutexes[5]) == 0 && pthread_mutex_unlock(&mutexes[5]) == 0);
}

/* execve ends the old program's locks (Linux's futex_exec_release); the
 * new program waits for a byte on fd 0's replacement, here argv[2]. */
static void owner_execs(const char *self)
{
    int ready[2], go[2];
    if (pipe2(ready, O_CLOEXEC) != 0 || pipe(go) != 0)
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        if (pthread_mutex_lock(&mutexes[6]) != 0)
            _exit(3);
        char fd[16];
        snprintf(fd, sizeof(fd), "%d", go[0]);
        execl(self, "robust_shared", "exec-child", fd, (char *)NULL);
        _exit(4);
    }
    close(ready[1]);
    close(go[0]);
    char byte;
    /* EOF once the exec closed the child's end (close-on-exec). */
    check("execve: exec done", read(ready[0], &byte, 1) == 0);
    close(ready[0]);
    recover(&mutexes[6], "execve holding it");
    close(go[1]);
    int status = wait_status(pid);
    check("execve: new program exited 0", WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "exec-child") == 0) {
        char byte;
        (void)read(atoi(argv[2]), &byte, 1);
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    struct rlimit no_core = {0, 0}; /* abort()'s child leaves no core */
    setrlimit(RLIMIT_CORE, &no_core);
    init_mutexes();
    owner_exits();
    owner_killed(SIGTERM, &mutexes[1]);
    owner_killed(SIGABRT, &mutexes[2]);
    threads_exit();
    waiter_woken();
    owner_execs("/proc/self/exe");
    return failures ? 1 : 0;
}
