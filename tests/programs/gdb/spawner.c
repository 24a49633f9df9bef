/*
 * spawner.c — threads created all the time (tests/integration/40-gdb.sh):
 * rounds of 4 workers that each add to a counter; the last worker of a
 * round calls mark() while the main thread may still be creating the
 * others. At a stop in mark() no thread may run: the counter stays still.
 * Ends after `rounds` rounds (argv[1], default 1000).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

atomic_long counter;

void mark(void)
{
    __asm__ volatile("" ::: "memory");
}

static void *worker(void *argument)
{
    if ((long)argument == 0)
        mark();
    for (int i = 0; i < 100000; i++)
        atomic_fetch_add(&counter, 1);
    return 0;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 1000;
    for (long round = 0; round < rounds; round++) {
        pthread_t threads[4];
        for (long i = 0; i < 4; i++) {
            if (pthread_create(&threads[i], 0, worker, (void *)(3 - i)) != 0)
                return 1;
        }
        for (int i = 0; i < 4; i++)
            pthread_join(threads[i], 0);
    }
    return 0;
}
