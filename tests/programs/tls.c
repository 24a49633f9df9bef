/* tls: thread-local storage of the main thread (set up by libc from PT_TLS through
 * arch_prctl(ARCH_SET_FS) or the FS base). Checks initialised and zeroed __thread
 * variables, their alignment, that they live apart from globals, and that errno works. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static __thread int tls_initialised = 42;
static __thread long tls_zeroed;
static __thread char tls_string[32] = "thread-local string";
static __thread char tls_big_zero[8192];
static __thread double tls_aligned __attribute__((aligned(64))) = 2.5;
static int global_initialised = 7;
static long global_zeroed;

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAIL");
    if (!ok)
        failures++;
}

static int all_zero(const char *bytes, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (bytes[i])
            return 0;
    return 1;
}

int main(void)
{
    check(tls_initialised == 42, "initialised __thread int is 42");
    check(tls_zeroed == 0, "zeroed __thread long is 0");
    check(strcmp(tls_string, "thread-local string") == 0, "initialised __thread string");
    check(all_zero(tls_big_zero, sizeof tls_big_zero), "8 KiB __thread array is zero");
    check(tls_aligned == 2.5, "aligned __thread double is 2.5");
    check(((uintptr_t)&tls_aligned & 63) == 0, "aligned __thread double is 64-byte aligned");
    check((void *)&tls_initialised != (void *)&global_initialised &&
              (void *)&tls_zeroed != (void *)&global_zeroed,
          "__thread addresses differ from globals");
    uintptr_t fs_base;
    __asm__("mov %%fs:0, %0" : "=r"(fs_base));
    check(fs_base != 0, "%fs:0 (thread pointer) is set");
    check((uintptr_t)&tls_initialised < fs_base && fs_base - (uintptr_t)&tls_initialised < 65536,
          "__thread variables sit just below the thread pointer");

    tls_initialised++;
    tls_zeroed = -1;
    strcpy(tls_string, "changed");
    tls_big_zero[8191] = 1;
    check(tls_initialised == 43 && tls_zeroed == -1 && strcmp(tls_string, "changed") == 0 &&
              tls_big_zero[8191] == 1 && global_initialised == 7 && global_zeroed == 0,
          "writes to __thread variables stick and leave globals alone");

    errno = 0;
    check(close(-1) == -1 && errno == EBADF, "close(-1) sets errno to EBADF");
    check(write(-5, "x", 1) == -1 && errno == EBADF, "write(-5) sets errno to EBADF");
    errno = 0;
    check(getpid() > 0 && errno == 0, "a successful call leaves errno alone");
    printf("%s\n", failures ? "tls FAILED" : "tls ok");
    return failures != 0;
}
