/* membarrier_calls: membarrier's query (the commands the VM forwards), the private
 * expedited command before and after its registration, the global one, and an
 * unknown command, with a second thread running; prints each result. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int stop;

static void *spin(void *unused)
{
    (void)unused;
    while (!stop)
        ;
    return NULL;
}

static void show(const char *what, long result)
{
    if (result < 0)
        printf("%s: errno %d\n", what, errno);
    else
        printf("%s: %ld\n", what, result);
}

int main(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, spin, NULL) != 0)
        return 1;
    long query = syscall(SYS_membarrier, 0, 0, 0);
    /* GLOBAL, GLOBAL_EXPEDITED and PRIVATE_EXPEDITED with their registrations. */
    show("query, the forwarded commands", query < 0 ? query : query & 0x1f);
    show("query with flags", syscall(SYS_membarrier, 0, 1, 0));
    show("private expedited, not registered", syscall(SYS_membarrier, 8, 0, 0));
    show("register private expedited", syscall(SYS_membarrier, 16, 0, 0));
    show("private expedited", syscall(SYS_membarrier, 8, 0, 0));
    show("global", syscall(SYS_membarrier, 1, 0, 0));
    show("two commands at once", syscall(SYS_membarrier, 8 | 16, 0, 0));
    stop = 1;
    pthread_join(thread, NULL);
    return 0;
}
