/* futex_timeout: futex waits with timeouts end after their deadline, not
 * before, with ETIMEDOUT; a value mismatch gives EAGAIN; a wake from another
 * thread ends a wait; FUTEX_WAKE counts the waiters it woke; WAKE_OP and
 * CMP_REQUEUE do their arithmetic. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* musl's headers have no <linux/futex.h>: the ABI's numbers. */
#define FUTEX_WAIT                0
#define FUTEX_WAKE                1
#define FUTEX_CMP_REQUEUE         4
#define FUTEX_WAKE_OP             5
#define FUTEX_WAIT_BITSET         9
#define FUTEX_PRIVATE_FLAG        128
#define FUTEX_CLOCK_REALTIME      256
#define FUTEX_BITSET_MATCH_ANY    0xffffffffu
#define FUTEX_WAIT_PRIVATE        (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE        (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE     (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_BITSET_PRIVATE (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_OP_ADD              1
#define FUTEX_OP_CMP_EQ           0
#define FUTEX_OP(op, oparg, cmp, cmparg)                                                           \
    ((((op)&0xf) << 28) | (((cmp)&0xf) << 24) | (((oparg)&0xfff) << 12) | ((cmparg)&0xfff))

static uint32_t word, second;
static int failures;

static long futex(uint32_t *address, int op, uint32_t value, const struct timespec *timeout,
                  uint32_t *address2, uint32_t value3)
{
    return syscall(SYS_futex, address, op, value, timeout, address2, value3);
}

static int64_t now_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void check(const char *what, int ok)
{
    printf("%s: %s\n", what, ok ? "ok" : "WRONG");
    failures += !ok;
}

static void *waker(void *argument)
{
    (void)argument;
    usleep(20000);
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return NULL;
}

static void *waiter(void *argument)
{
    (void)argument;
    futex(&second, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static uint32_t unwoken;
static int waiting_done, continues_sent;

/* Sends SIGCONT (no handler: the wait goes on) every 20 ms until the wait
 * ends, 100 at most. */
static void *continuer(void *argument)
{
    (void)argument;
    while (!__atomic_load_n(&waiting_done, __ATOMIC_SEQ_CST) && continues_sent < 100) {
        usleep(20000);
        kill(getpid(), SIGCONT);
        continues_sent++;
    }
    return NULL;
}

/* A relative timeout keeps its deadline across interruptions that do not
 * end the call: restarted at full length, a 200 ms wait interrupted every
 * 20 ms would end only when the interruptions stop. */
static void relative_deadline_kept(void)
{
    pthread_t thread;
    pthread_create(&thread, NULL, continuer, NULL);
    struct timespec relative = {0, 200000000};
    long result = futex(&unwoken, FUTEX_WAIT_PRIVATE, 0, &relative, NULL, 0);
    int error = errno;
    __atomic_store_n(&waiting_done, 1, __ATOMIC_SEQ_CST);
    pthread_join(thread, NULL);
    check("interrupted relative timeout gives ETIMEDOUT", result == -1 && error == ETIMEDOUT);
    check("it ended while interruptions still came", continues_sent < 100);
}

int main(void)
{
    struct timespec relative = {0, 30000000};
    int64_t start = now_ns(CLOCK_MONOTONIC);
    long result = futex(&word, FUTEX_WAIT_PRIVATE, 0, &relative, NULL, 0);
    check("relative timeout gives ETIMEDOUT", result == -1 && errno == ETIMEDOUT);
    check("relative timeout not early", now_ns(CLOCK_MONOTONIC) - start >= 30000000);

    struct timespec absolute;
    clock_gettime(CLOCK_MONOTONIC, &absolute);
    absolute.tv_nsec += 30000000;
    if (absolute.tv_nsec >= 1000000000) {
        absolute.tv_sec++;
        absolute.tv_nsec -= 1000000000;
    }
    int64_t deadline = absolute.tv_sec * 1000000000LL + absolute.tv_nsec;
    result = futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &absolute, NULL, FUTEX_BITSET_MATCH_ANY);
    check("absolute monotonic timeout", result == -1 && errno == ETIMEDOUT);
    check("absolute timeout not early", now_ns(CLOCK_MONOTONIC) >= deadline);

    clock_gettime(CLOCK_REALTIME, &absolute);
    absolute.tv_nsec += 30000000;
    if (absolute.tv_nsec >= 1000000000) {
        absolute.tv_sec++;
        absolute.tv_nsec -= 1000000000;
    }
    deadline = absolute.tv_sec * 1000000000LL + absolute.tv_nsec;
    result = futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &absolute, NULL,
                   FUTEX_BITSET_MATCH_ANY);
    check("absolute realtime timeout", result == -1 && errno == ETIMEDOUT);
    check("realtime timeout not early", now_ns(CLOCK_REALTIME) >= deadline);

    result = futex(&word, FUTEX_WAIT_PRIVATE, 5, &relative, NULL, 0);
    check("value mismatch gives EAGAIN", result == -1 && errno == EAGAIN);
    struct timespec bad = {0, 2000000000L};
    result = futex(&word, FUTEX_WAIT_PRIVATE, 0, &bad, NULL, 0);
    check("bad timeout gives EINVAL", result == -1 && errno == EINVAL);

    pthread_t thread;
    pthread_create(&thread, NULL, waker, NULL);
    struct timespec long_wait = {10, 0};
    result = futex(&word, FUTEX_WAIT_PRIVATE, 0, &long_wait, NULL, 0);
    check("woken by another thread", (result == 0 || errno == EAGAIN) && word == 1);
    pthread_join(thread, NULL);

    pthread_t waiters[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&waiters[i], NULL, waiter, NULL);
    usleep(50000);
    long woken = 0;
    for (int tries = 0; tries < 100 && woken < 3; tries++) {
        woken += futex(&second, FUTEX_WAKE_PRIVATE, 3, NULL, NULL, 0);
        usleep(1000);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(waiters[i], NULL);
    check("FUTEX_WAKE counts its waiters", woken == 3);

    second = 10;
    uint32_t encoded = FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 10);
    result = futex(&word, FUTEX_WAKE_OP_PRIVATE, 1, (const struct timespec *)1, &second, encoded);
    check("FUTEX_WAKE_OP adds", result == 0 && second == 15);
    result = futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (const struct timespec *)1, &second, 7);
    check("FUTEX_CMP_REQUEUE compares", result == -1 && errno == EAGAIN);
    relative_deadline_kept();
    return failures != 0;
}
