/*
 * tls_errno.c — thread-locals for gdb to read (tests/integration/40-gdb.sh):
 * errno, which is libc's (a shared object's TLS when dynamically linked),
 * and one of the program's own, set to different values in the main thread
 * and a worker, each stopping at stop_here with its own.
 */
#include <errno.h>
#include <pthread.h>

__thread int own_tls = 5;

void stop_here(void)
{
}

static void *worker(void *argument)
{
    (void)argument;
    errno = 33;
    own_tls = 6;
    stop_here();
    return 0;
}

int main(void)
{
    errno = 22;
    pthread_t thread;
    if (pthread_create(&thread, 0, worker, 0) != 0 || pthread_join(thread, 0) != 0)
        return 1;
    stop_here();
    return 0;
}
