/* far_call: a call instruction far past the program's entry (call_site),
 * to a function before it. gdb's displaced stepping runs a copy of the call
 * at a scratch pad near the entry, which sends it to a relocated target
 * that is no code at all (here below the program, unmapped); the step must
 * end before anything there is fetched, as the CPU's trap does, and gdb
 * puts the thread at the real target. */
#include <stdio.h>

__attribute__((noinline)) int callee(int x)
{
    return x * 2 + 1;
}

/* The distance: a quarter of a megabyte of int3. */
__asm__(".text\n.p2align 4\n.space 0x40000, 0xcc\n");

__attribute__((noinline)) int caller(int x)
{
    int result;
    __asm__ volatile(".globl call_site\ncall_site: call callee"
                     : "=a"(result)
                     : "D"(x)
                     : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory");
    return result + 1;
}

int main(void)
{
    int sum = 0;
    for (int i = 0; i < 3; i++)
        sum += caller(i);
    printf("sum %d\n", sum);
    return 0;
}
