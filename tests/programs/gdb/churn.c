/* churn: short-lived threads, one after another, for gdb's thread events
 * (QThreadEvents). The main thread starts ROUNDS threads in turn, each
 * calling worker(i) and ending, and joins each before the next; at every
 * join it calls joined(i), where a breakpoint stops it while the next
 * thread is not born yet. With an argument it starts that many instead. At
 * the end it prints how many threads ran. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile int ran;

__attribute__((noinline)) void worker(long round)
{
    __asm__ volatile("" ::"r"(round) : "memory");
    ran++;
}

__attribute__((noinline)) void joined(long round)
{
    __asm__ volatile("" ::"r"(round) : "memory");
}

static void *thread_main(void *round)
{
    worker((long)round);
    return NULL;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 3;
    for (long round = 1; round <= rounds; round++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, thread_main, (void *)round) != 0)
            return 1;
        pthread_join(thread, NULL);
        joined(round);
    }
    /* Linux wakes a joiner (clear_child_tid) before ptrace hears of the
     * thread's end: without a pause a native gdbserver sometimes reports
     * the program's end before the last thread's. */
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    printf("threads ran: %d of %ld\n", ran, rounds);
    return 0;
}
