/* threaded: four named worker threads for the gdb thread tests.
 *
 *   threaded hits   each worker calls visit() once (a breakpoint there is hit
 *                   by four threads in turn), then the program prints the sum
 *   threaded spin   the workers spin until killed, the main thread waits
 *                   for them (stepping one thread while the others stay
 *                   stopped; Ctrl-C of spinning threads)
 *   threaded fault  worker 2 writes through a null pointer while the others
 *                   spin (a core file of a multi-threaded fault)
 *   threaded syscalls  the workers make getppid calls until the main thread
 *                   has called tick() 100 times (stops that catch threads
 *                   on their way into a call)
 *
 * Every worker names itself worker-N (prctl PR_SET_NAME) and keeps N + 100
 * in a thread-local before the main thread passes all_started(). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 4

static __thread int tls_id;
static volatile long counters[WORKERS];
static volatile int stop_spinning;
static pthread_barrier_t started, go;
static const char *mode;
static int visited[WORKERS];

__attribute__((noinline)) int visit(int index)
{
    int result = tls_id * 2 + index;
    return result;
}

__attribute__((noinline)) void all_started(void)
{
    __asm__ volatile("" ::: "memory");
}

static void spin(int index)
{
    while (!stop_spinning)
        counters[index]++;
}

__attribute__((noinline)) void tick(int round)
{
    __asm__ volatile("" ::"r"(round) : "memory");
}

static void make_calls(int index)
{
    while (!stop_spinning) {
        syscall(SYS_getppid);
        counters[index]++;
    }
}

static void tick_while_calling(void)
{
    const struct timespec pause = {0, 2000000};
    for (int round = 0; round < 100; round++) {
        tick(round);
        nanosleep(&pause, NULL);
    }
    stop_spinning = 1;
}

static void *worker(void *argument)
{
    int index = (int)(long)argument;
    char name[16];
    snprintf(name, sizeof name, "worker-%d", index);
    prctl(PR_SET_NAME, name);
    tls_id = 100 + index;
    pthread_barrier_wait(&started);
    pthread_barrier_wait(&go);
    if (strcmp(mode, "hits") == 0) {
        visited[index] = visit(index);
    } else if (strcmp(mode, "fault") == 0 && index == 2) {
        *(volatile int *)(long)(tls_id - 102) = tls_id; /* address 0 */
    } else if (strcmp(mode, "syscalls") == 0) {
        make_calls(index);
    } else {
        spin(index);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t threads[WORKERS];
    mode = argc > 1 ? argv[1] : "hits";
    pthread_barrier_init(&started, NULL, WORKERS + 1);
    pthread_barrier_init(&go, NULL, WORKERS + 1);
    for (long i = 0; i < WORKERS; i++) {
        if (pthread_create(&threads[i], NULL, worker, (void *)i) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    pthread_barrier_wait(&started);
    all_started();
    pthread_barrier_wait(&go);
    if (strcmp(mode, "syscalls") == 0)
        tick_while_calling();
    for (int i = 0; i < WORKERS; i++)
        pthread_join(threads[i], NULL);
    int sum = 0;
    for (int i = 0; i < WORKERS; i++)
        sum += visited[i];
    printf("mode %s sum %d\n", mode, sum);
    return 0;
}
