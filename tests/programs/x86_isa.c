/* x86_isa: the instructions a program finds through cpuid are the ones it
 * can run, and /proc/cpuinfo's flags say what cpuid says. For each feature
 * of the x86-64-v2 level and a few beyond it the program prints whether
 * cpuid has it and, when it does, runs an instruction of it and prints the
 * result (so a run on another CPU, or the software CPU, prints the same
 * lines as natively only if it offers and runs the same set). Then every
 * flag of /proc/cpuinfo that names a cpuid bit checked here must agree
 * with it (abm aside: Linux may leave it out). Exits non-zero when a check
 * fails. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum word { LEAF1_ECX, LEAF1_EDX, LEAF7_EBX, LEAF7_ECX, EXT_ECX, EXT_EDX, WORDS };

struct feature {
    const char *name; /* as Linux names it in /proc/cpuinfo */
    enum word word;
    unsigned bit;
};

/* Linux's names for some bits of each word (arch/x86/include/asm/cpufeatures.h). */
static const struct feature features[] = {
    {"pni", LEAF1_ECX, 0},         {"pclmulqdq", LEAF1_ECX, 1}, {"ssse3", LEAF1_ECX, 9},
    {"fma", LEAF1_ECX, 12},        {"cx16", LEAF1_ECX, 13},     {"sse4_1", LEAF1_ECX, 19},
    {"sse4_2", LEAF1_ECX, 20},     {"movbe", LEAF1_ECX, 22},    {"popcnt", LEAF1_ECX, 23},
    {"aes", LEAF1_ECX, 25},        {"xsave", LEAF1_ECX, 26},    {"avx", LEAF1_ECX, 28},
    {"f16c", LEAF1_ECX, 29},       {"rdrand", LEAF1_ECX, 30},   {"sse2", LEAF1_EDX, 26},
    {"bmi1", LEAF7_EBX, 3},        {"avx2", LEAF7_EBX, 5},      {"bmi2", LEAF7_EBX, 8},
    {"avx512f", LEAF7_EBX, 16},    {"rdseed", LEAF7_EBX, 18},   {"adx", LEAF7_EBX, 19},
    {"sha_ni", LEAF7_EBX, 29},     {"gfni", LEAF7_ECX, 8},      {"vaes", LEAF7_ECX, 9},
    {"lahf_lm", EXT_ECX, 0},       {"abm", EXT_ECX, 5},         {"lm", EXT_EDX, 29},
    {"vpclmulqdq", LEAF7_ECX, 10},
};

static uint32_t words[WORDS];

static void read_cpuid(void)
{
    unsigned a, b, c, d, max;
    __cpuid(0, max, b, c, d);
    __cpuid(1, a, b, c, d);
    words[LEAF1_ECX] = c, words[LEAF1_EDX] = d;
    if (max >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        words[LEAF7_EBX] = b, words[LEAF7_ECX] = c;
    }
    __cpuid(0x80000000, max, b, c, d);
    if (max >= 0x80000001) {
        __cpuid(0x80000001, a, b, c, d);
        words[EXT_ECX] = c, words[EXT_EDX] = d;
    }
}

static int has(const char *name)
{
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
        if (strcmp(features[i].name, name) == 0)
            return (words[features[i].word] >> features[i].bit) & 1;
    abort();
}

/* Runs an instruction of each feature cpuid offers of the x86-64-v2 level
 * and of those the software CPU runs beyond it (not BMI1, BMI2 or ADX,
 * which it does not offer: see accel/tcg.c). */
static void run_instructions(void)
{
    static const char *const shown[] = {"popcnt", "sse4_2", "pclmulqdq", "movbe",
                                        "rdrand", "rdseed", "abm"};
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
        printf("cpuid %s: %s\n", shown[i], has(shown[i]) ? "yes" : "no");
    volatile uint64_t x = 0xf0f0f00000ff00ffull, y = 0x8000000000000003ull;
    uint64_t out = 0, hi = 0;
    if (has("popcnt")) {
        __asm__ volatile("popcnt %1, %0" : "=r"(out) : "r"(x));
        printf("popcnt: %llu\n", (unsigned long long)out);
    }
    if (has("sse4_2")) {
        uint64_t crc = 0;
        __asm__ volatile("crc32q %1, %0" : "+r"(crc) : "r"(x));
        printf("crc32: %#llx\n", (unsigned long long)crc);
    }
    if (has("movbe")) {
        volatile uint32_t word = 0x11223344;
        uint32_t swapped;
        __asm__ volatile("movbe %1, %0" : "=r"(swapped) : "m"(word));
        printf("movbe: %#x\n", swapped);
    }
    if (has("pclmulqdq")) {
        /* Carry-less product of x and y, both halves. */
        __asm__ volatile("movq %2, %%xmm0\n\tmovq %3, %%xmm1\n\t"
                         "pclmulqdq $0, %%xmm1, %%xmm0\n\t"
                         "movq %%xmm0, %0\n\tpextrq $1, %%xmm0, %1"
                         : "=r"(out), "=r"(hi)
                         : "r"(x), "r"(y)
                         : "xmm0", "xmm1");
        printf("pclmulqdq: %#llx %#llx\n", (unsigned long long)hi, (unsigned long long)out);
    }
    if (has("rdrand")) {
        unsigned char ok = 0;
        for (int tries = 0; tries < 100 && !ok; tries++)
            __asm__ volatile("rdrand %0; setc %1" : "=r"(out), "=qm"(ok));
        printf("rdrand: %s\n", ok ? "a number" : "no number in 100 tries");
    }
    if (has("rdseed")) {
        unsigned char ok = 0;
        for (int tries = 0; tries < 1000 && !ok; tries++)
            __asm__ volatile("rdseed %0; setc %1" : "=r"(out), "=qm"(ok));
        printf("rdseed: %s\n", ok ? "a number" : "no number in 1000 tries");
    }
    if (has("abm")) {
        __asm__ volatile("lzcnt %1, %0" : "=r"(out) : "r"(y >> 4));
        printf("lzcnt: %llu\n", (unsigned long long)out);
    }
}

/* Every checked flag of cpuinfo's first "flags" line agrees with cpuid. */
static void compare_cpuinfo(void)
{
    FILE *file = fopen("/proc/cpuinfo", "r");
    check("/proc/cpuinfo opens", file != NULL);
    if (!file)
        return;
    char line[8192];
    int found = 0, agree = 1;
    while (!found && fgets(line, sizeof(line), file)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        found = 1;
        for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
            /* Linux leaves abm out of the line on some CPUs (AMD's, 6.18). */
            if (strcmp(features[i].name, "abm") == 0)
                continue;
            char word[64];
            snprintf(word, sizeof(word), " %s ", features[i].name);
            line[strcspn(line, "\n")] = ' ';
            int listed = strstr(line, word) != NULL;
            if (listed != has(features[i].name)) {
                printf("cpuinfo %s %s, cpuid %s\n", listed ? "lists" : "omits", features[i].name,
                       has(features[i].name) ? "has it" : "does not");
                agree = 0;
            }
        }
    }
    fclose(file);
    check("cpuinfo has a flags line", found);
    check("cpuinfo's flags are cpuid's", agree);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    read_cpuid();
    check("cpuid has the x86-64 baseline (sse2, lm)", has("sse2") && has("lm"));
    run_instructions();
    compare_cpuinfo();
    return failures ? 1 : 0;
}
