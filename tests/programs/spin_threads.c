/* spin_threads [ROUNDS]: two threads hand a token back and forth by spinning
 * on each other's flags, with no system call while they wait (no futex, no
 * sched_yield). On a machine that gives every thread a share of the CPU
 * (Linux's scheduler, or a VM's time slices) it finishes; a VM that lets a
 * spinning thread keep the only CPU for ever hangs. Prints the rounds done. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static volatile long turn; /* whose turn: even the main thread's, odd the other's */
static long rounds;

static void *partner(void *unused)
{
    (void)unused;
    for (long i = 0; i < rounds; i++) {
        while (turn != 2 * i + 1)
            __asm__ volatile("pause" ::: "memory");
        turn = 2 * i + 2;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    rounds = argc > 1 ? atol(argv[1]) : 20;
    pthread_t thread;
    if (pthread_create(&thread, NULL, partner, NULL) != 0)
        return 2;
    for (long i = 0; i < rounds; i++) {
        turn = 2 * i + 1;
        while (turn != 2 * i + 2)
            __asm__ volatile("pause" ::: "memory");
    }
    pthread_join(thread, NULL);
    printf("rounds: %ld, turn: %ld\n", rounds, (long)turn);
    return turn == 2 * rounds ? 0 : 1;
}
