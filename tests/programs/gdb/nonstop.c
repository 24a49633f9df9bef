/* nonstop: two threads for gdb's non-stop mode (`set non-stop on`).
 *
 * The main thread passes checkpoint(1..3) while a spinner thread counts in
 * `counter` until the main thread is done; a breakpoint on checkpoint stops
 * the main thread alone while the counter goes on moving. The spinner calls
 * spinning() once it runs, and the main thread waits for it to before its
 * first checkpoint. At the end the main thread prints how often it
 * passed, the spinner whether it counted, and whether the counter was ever
 * seen to go back (samples after each checkpoint and at the end: a resumed
 * spinner that stored a stale register, a tcg defect that gdb's `delete`
 * of a watchpoint once caused). */
#include <pthread.h>
#include <stdio.h>

static volatile long counter;
static volatile int started, finished;

__attribute__((noinline)) void checkpoint(int round)
{
    __asm__ volatile("" ::"r"(round) : "memory");
}

__attribute__((noinline)) void spinning(void)
{
    __asm__ volatile("" ::: "memory");
}

static void *spinner(void *unused)
{
    (void)unused;
    spinning();
    started = 1;
    while (!finished)
        counter++;
    return NULL;
}

int main(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, spinner, NULL) != 0)
        return 1;
    /* The spinner runs before the first checkpoint: gdb lists both threads then. */
    while (!started)
        ;
    int rounds = 0, went_back = 0;
    long last = 0;
    for (int round = 1; round <= 3; round++) {
        checkpoint(round);
        rounds++;
        went_back |= counter < last;
        last = counter;
    }
    finished = 1;
    pthread_join(thread, NULL);
    went_back |= counter < last;
    printf("rounds %d, spinner counted: %s\n", rounds, counter > 0 ? "yes" : "no");
    printf("counter went back: %s\n", went_back ? "yes" : "no");
    return 0;
}
