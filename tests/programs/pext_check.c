/* pext_check: a BMI2 instruction the program runs without asking cpuid (as
 * code built for x86-64-v3 does) either computes the right result, where
 * cpuid offers BMI2, or dies of SIGILL as on a CPU without it: never a
 * wrong number (Unicorn 2.0.1 swapped PEXT's operands). Prints what cpuid
 * says, then the result; exits 0 when it is right. */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    unsigned a, b = 0, c, d, max;
    __cpuid(0, max, a, c, d);
    if (max >= 7)
        __cpuid_count(7, 0, a, b, c, d);
    printf("cpuid bmi2: %s\n", (b >> 8) & 1 ? "yes" : "no");
    fflush(stdout);
    volatile uint64_t x = 0xf0f0f00000ff00ffull, mask = 0x8000000000000003ull;
    uint64_t out;
    __asm__ volatile("pext %2, %1, %0" : "=r"(out) : "r"(x), "r"(mask));
    printf("pext: %#llx\n", (unsigned long long)out);
    return out == 7 ? 0 : 1;
}
