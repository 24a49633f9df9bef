/* threads: pthreads as a program uses them. Mutex and condition variable
 * contention over 8 threads with a checked total, a barrier, per-thread TLS
 * values, 500 threads created and joined in waves, distinct tids, a
 * producer/consumer queue. Prints only deterministic facts; exits non-zero
 * when something is wrong. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WORKERS    8
#define INCREMENTS 20000
#define WAVES      10
#define PER_WAVE   50
#define ITEMS      5000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn = PTHREAD_COND_INITIALIZER;
static long total;
static int next_to_go;
static pthread_barrier_t barrier;
static __thread long tls_value = 7;
static int failures;

static void *contend(void *argument)
{
    long index = (long)argument;
    tls_value = index * 100;
    int serial = pthread_barrier_wait(&barrier);
    (void)serial;
    for (int i = 0; i < INCREMENTS; i++) {
        pthread_mutex_lock(&lock);
        total++;
        pthread_mutex_unlock(&lock);
    }
    /* Take turns in index order, each waiting on the condition variable. */
    pthread_mutex_lock(&lock);
    while (next_to_go != index)
        pthread_cond_wait(&turn, &lock);
    next_to_go++;
    pthread_cond_broadcast(&turn);
    pthread_mutex_unlock(&lock);
    return (void *)(tls_value == index * 100 ? 0L : 1L);
}

static void *report_tid(void *argument)
{
    *(long *)argument = syscall(SYS_gettid);
    return NULL;
}

/* A bounded queue between one producer and one consumer. */
static int queue[16], queue_head, queue_count;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;

static void *produce(void *argument)
{
    (void)argument;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&lock);
        while (queue_count == 16)
            pthread_cond_wait(&not_full, &lock);
        queue[(queue_head + queue_count++) % 16] = i;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *consume(void *argument)
{
    long sum = 0;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&lock);
        while (queue_count == 0)
            pthread_cond_wait(&not_empty, &lock);
        int item = queue[queue_head];
        queue_head = (queue_head + 1) % 16;
        queue_count--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
        if (item != i)
            failures++;
        sum += item;
    }
    *(long *)argument = sum;
    return NULL;
}

static void *wait_for_unlock(void *argument)
{
    pthread_mutex_lock(&lock);
    pthread_mutex_unlock(&lock);
    return argument;
}

static void check(const char *what, int ok)
{
    printf("%s: %s\n", what, ok ? "ok" : "WRONG");
    failures += !ok;
}

int main(void)
{
    pthread_t threads[WORKERS];
    pthread_barrier_init(&barrier, NULL, WORKERS);
    for (long i = 0; i < WORKERS; i++)
        if (pthread_create(&threads[i], NULL, contend, (void *)i) != 0)
            failures++;
    long tls_errors = 0;
    for (int i = 0; i < WORKERS; i++) {
        void *result;
        pthread_join(threads[i], &result);
        tls_errors += (long)result;
    }
    printf("total %ld of %d\n", total, WORKERS * INCREMENTS);
    check("mutex total", total == (long)WORKERS * INCREMENTS);
    check("condition variable turns", next_to_go == WORKERS);
    check("thread-local values", tls_errors == 0 && tls_value == 7);

    long tids[PER_WAVE];
    long main_tid = syscall(SYS_gettid);
    int tid_problems = 0, created = 0;
    for (int wave = 0; wave < WAVES; wave++) {
        pthread_t wave_threads[PER_WAVE];
        for (int i = 0; i < PER_WAVE; i++) {
            if (pthread_create(&wave_threads[i], NULL, report_tid, &tids[i]) == 0)
                created++;
            else
                tid_problems++;
        }
        for (int i = 0; i < PER_WAVE; i++)
            pthread_join(wave_threads[i], NULL);
        for (int i = 0; i < PER_WAVE; i++) {
            tid_problems += tids[i] <= 0 || tids[i] == main_tid;
            for (int j = 0; j < i; j++)
                tid_problems += tids[i] == tids[j];
        }
    }
    printf("threads created in waves: %d\n", created);
    check("distinct tids", tid_problems == 0);
    check("main tid is the pid", main_tid == getpid());

    /* Signal 0 to a live thread: it exists (the monitor must not take a
     * signal sent to a thread's tid for itself). */
    pthread_t sleeper;
    pthread_mutex_lock(&lock);
    pthread_create(&sleeper, NULL, wait_for_unlock, NULL);
    check("pthread_kill(live thread, 0)", pthread_kill(sleeper, 0) == 0);
    pthread_mutex_unlock(&lock);
    pthread_join(sleeper, NULL);

    pthread_t producer, consumer;
    long sum = 0;
    pthread_create(&producer, NULL, produce, NULL);
    pthread_create(&consumer, NULL, consume, &sum);
    pthread_join(producer, NULL);
    pthread_join(consumer, NULL);
    printf("queue sum %ld\n", sum);
    check("queue order", sum == (long)ITEMS * (ITEMS + 1) / 2);
    return failures != 0;
}
