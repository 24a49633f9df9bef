/* self_modifying: code rewritten after it ran, as JITs do (a patched call
 * site, a reused code buffer). x86 needs no instruction to make a store to
 * code visible: the next execution runs the new bytes, on the thread that
 * wrote them and on every other. Each case prints how many calls ran stale
 * code; natively none do. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ROUNDS 1000

typedef int (*function)(void);

/* mov eax, value; ret */
static void emit(volatile uint8_t *code, int value)
{
    code[0] = 0xb8;
    for (int i = 0; i < 4; i++)
        code[1 + i] = (uint8_t)(value >> (8 * i));
    code[5] = 0xc3;
}

static int same_thread(uint8_t *code)
{
    int stale = 0;
    for (int i = 0; i < ROUNDS; i++) {
        emit(code, i);
        if (((function)code)() != i)
            stale++;
    }
    return stale;
}

/* The caller runs the code, the writer rewrites it, in turns. */
static uint8_t *shared_code;
static int turn; /* even: the writer's, odd: the caller's */
static int caller_stale;

static void wait_turn(int parity)
{
    while ((__atomic_load_n(&turn, __ATOMIC_ACQUIRE) & 1) != parity)
        sched_yield();
}

static void *caller(void *argument)
{
    (void)argument;
    for (int i = 0; i < ROUNDS; i++) {
        wait_turn(1);
        if (((function)shared_code)() != i)
            caller_stale++;
        __atomic_add_fetch(&turn, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static int other_thread(uint8_t *code)
{
    shared_code = code;
    emit(code, -1);
    ((function)code)(); /* translated once before the caller starts */
    pthread_t thread;
    if (pthread_create(&thread, NULL, caller, NULL) != 0)
        return -1;
    for (int i = 0; i < ROUNDS; i++) {
        wait_turn(0);
        emit(code, i);
        __atomic_add_fetch(&turn, 1, __ATOMIC_RELEASE);
    }
    pthread_join(thread, NULL);
    return caller_stale;
}

/* The code comes from read(): the kernel (here the monitor) writes it. */
static int read_into_code(uint8_t *code)
{
    int pipe_fds[2], stale = 0;
    if (pipe(pipe_fds) != 0)
        return -1;
    for (int i = 0; i < ROUNDS / 10; i++) {
        emit(code, -1);
        ((function)code)();
        uint8_t fresh[6];
        emit(fresh, i);
        if (write(pipe_fds[1], fresh, sizeof(fresh)) != sizeof(fresh) ||
            read(pipe_fds[0], code, sizeof(fresh)) != sizeof(fresh))
            return -1;
        if (((function)code)() != i)
            stale++;
    }
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return stale;
}

int main(void)
{
    uint8_t *code = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    static uint8_t in_bss[3 * 4096] __attribute__((aligned(4096)));
    if (mprotect(in_bss + 4096, 4096, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
        perror("mprotect");
        return 1;
    }
    int a = same_thread(code + 64), b = same_thread(in_bss + 4096 + 8);
    int c = other_thread(code + 4096 + 16), d = read_into_code(code + 128);
    printf("stale calls: same thread %d, in .bss %d, other thread %d, read() %d\n", a, b, c, d);
    return a || b || c || d;
}
