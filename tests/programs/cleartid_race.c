/* cleartid_race: a thread's exit clears its CLONE_CHILD_CLEARTID word while
 * another thread hammers that word with atomic compare-and-swaps that fail
 * (x86's cmpxchg writes the old value back when it fails). On Linux the
 * clear is never lost; the program waits for it each round (with a
 * timeout, to report a lost clear instead of hanging). */
#define _GNU_SOURCE
#include <errno.h>
#define FUTEX_WAIT 0
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 500

static volatile int word;
static volatile int hammering = 1;

static void *hammer(void *argument)
{
    (void)argument;
    while (hammering) {
        int expected = -1;
        __atomic_compare_exchange_n(&word, &expected, -2, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static int short_lived(void *argument)
{
    (void)argument;
    return 0;
}

int main(void)
{
    pthread_t hammerer;
    if (pthread_create(&hammerer, NULL, hammer, NULL) != 0)
        return 1;
    static char stack[64 * 1024] __attribute__((aligned(16)));
    int cleared = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                    CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
        int tid = clone(short_lived, stack + sizeof(stack), flags, NULL, &word, NULL, &word);
        if (tid < 0) {
            perror("clone");
            return 1;
        }
        struct timespec limit = {5, 0};
        int seen;
        while ((seen = word) != 0) {
            long result = syscall(SYS_futex, &word, FUTEX_WAIT, seen, &limit, NULL, 0);
            if (result < 0 && errno == ETIMEDOUT)
                break;
        }
        if (word != 0) {
            printf("round %d: the exited thread's tid word was never cleared\n", round);
            break;
        }
        cleared++;
    }
    hammering = 0;
    pthread_join(hammerer, NULL);
    printf("cleared %d of %d\n", cleared, ROUNDS);
    return cleared == ROUNDS ? 0 : 1;
}
