/* thread_work: work for the thread benchmarks, with deterministic output.
 *   split THREADS ITERATIONS  CPU-bound work split evenly over THREADS threads;
 *                             prints the checksum, the same for any THREADS
 *   pingpong ROUNDS           two threads hand a token back and forth through a
 *                             mutex and condition variable ROUNDS times */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slice {
    uint64_t first, count, sum;
};

static void *work(void *argument)
{
    struct slice *slice = argument;
    uint64_t sum = 0;
    for (uint64_t i = slice->first; i < slice->first + slice->count; i++)
        sum += (i * 2654435761u) >> 7 & 0xff;
    slice->sum = sum;
    return NULL;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static long token, rounds;

static void *bounce(void *argument)
{
    long parity = (long)argument;
    pthread_mutex_lock(&lock);
    while (token < rounds) {
        while (token % 2 != parity && token < rounds)
            pthread_cond_wait(&changed, &lock);
        if (token < rounds)
            token++;
        pthread_cond_signal(&changed);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "split") == 0) {
        int threads = atoi(argv[2]);
        uint64_t iterations = strtoull(argv[3], NULL, 10);
        if (threads < 1 || threads > 64)
            return 2;
        pthread_t ids[64];
        struct slice slices[64];
        for (int i = 0; i < threads; i++) {
            slices[i].first = iterations / threads * i;
            slices[i].count =
                i == threads - 1 ? iterations - slices[i].first : iterations / threads;
            pthread_create(&ids[i], NULL, work, &slices[i]);
        }
        uint64_t sum = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(ids[i], NULL);
            sum += slices[i].sum;
        }
        printf("checksum %llu\n", (unsigned long long)sum);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "pingpong") == 0) {
        rounds = atol(argv[2]);
        pthread_t a, b;
        pthread_create(&a, NULL, bounce, (void *)0L);
        pthread_create(&b, NULL, bounce, (void *)1L);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        printf("token %ld\n", token);
        return 0;
    }
    /* Threads created and joined one after the other, as a program that
     * starts a short-lived thread per task: the cost of a thread's life. */
    if (argc == 3 && strcmp(argv[1], "spawn") == 0) {
        long count = atol(argv[2]);
        struct slice slice = {0, 1, 0};
        uint64_t sum = 0;
        for (long i = 0; i < count; i++) {
            slice.first = (uint64_t)i;
            pthread_t id;
            if (pthread_create(&id, NULL, work, &slice) != 0)
                return 1;
            pthread_join(id, NULL);
            sum += slice.sum;
        }
        printf("spawned %ld, checksum %llu\n", count, (unsigned long long)sum);
        return 0;
    }
    fprintf(stderr,
            "usage: thread_work split THREADS ITERATIONS | pingpong ROUNDS | spawn THREADS\n");
    return 2;
}
