/* hostile_cpu: one thing a hostile program does to the CPU or to the pages
 * the monitor keeps in its address space, named by argv[1]. With "caught-"
 * in front, a SIGSEGV/SIGILL handler reports the signal, si_code, si_addr
 * and whether the saved rip is the faulting instruction, and the program
 * exits 0; without it the signal kills the program (139 or 132 natively). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

/* The monitor's doorbell page: natively nothing is mapped there. */
#define DOORBELL 0x1ff000UL

static volatile uintptr_t fault_rip;
static sigjmp_buf back;
/* Which byte of its area XSAVE's fault names is the CPU's own choice (the
 * area's start on AMD EPYC, 0x33f, the AVX component's last byte, on Intel
 * Sapphire Rapids): only its page is printed. */
static volatile int page_only;

static void on_fault(int signal, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
    uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t address = (uintptr_t)info->si_addr;
    printf("signal %d code %d addr %s%#lx rip %s\n", signal, info->si_code,
           page_only ? "in the page " : "",
           (unsigned long)(page_only ? address & ~0xfffUL : address),
           rip == fault_rip ? "at the instruction" : "elsewhere");
    fflush(stdout);
    siglongjmp(back, 1);
}

#define FAULT_AT(instruction, ...) FAULT_AT2("", instruction, __VA_ARGS__)

/* Each sets fault_rip to the address of the instruction that faults. */
#define FAULT_AT2(setup, instruction, ...)                                                         \
    __asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, %0\n\t" setup "\n1:\t" instruction        \
                     : "=m"(fault_rip)                                                             \
                     : __VA_ARGS__                                                                 \
                     : "rax", "rcx", "rdx", "rsi", "rdi", "memory")

static void doorbell_read(void)
{
    FAULT_AT("mov (%1), %%edx", "r"(DOORBELL));
}
static void doorbell_write(void)
{
    FAULT_AT("movl %%edx, (%1)", "r"(DOORBELL));
}
/* The stub's own instruction, from the program's code. */
static void doorbell_stub_copy(void)
{
    FAULT_AT("movl %%eax, 0x1ff000", "i"(0));
}
static void doorbell_rmw(void)
{
    FAULT_AT("addl $1, (%1)", "r"(DOORBELL));
}
static void doorbell_clflush(void)
{
    FAULT_AT("clflush (%1)", "r"(DOORBELL));
}
static void doorbell_sse_store(void)
{
    FAULT_AT("movups %%xmm0, (%1)", "r"(DOORBELL));
}
static void doorbell_avx_store(void)
{
    FAULT_AT("vmovups %%ymm0, (%1)", "r"(DOORBELL));
}
static void doorbell_fxsave(void)
{
    FAULT_AT("fxsave64 (%1)", "r"(DOORBELL));
}
static void doorbell_xsave(void)
{
    page_only = 1;
    FAULT_AT2("mov $7, %%eax\n\txor %%edx, %%edx\n\tmov %1, %%rcx", ".byte 0x48, 0x0f, 0xae, 0x21",
              "r"(DOORBELL));
}
static void doorbell_string_read(void)
{
    char buffer[64];
    uintptr_t source = DOORBELL, destination = (uintptr_t)buffer, count = sizeof buffer;
    FAULT_AT2("mov %1, %%rsi\n\tmov %2, %%rdi\n\tmov %3, %%rcx", "rep movsb", "r"(source),
              "r"(destination), "r"(count));
}
static void port_out(void)
{
    FAULT_AT2("mov $0x70, %%edx", "out %%al, %%dx", "i"(0));
}
static void port_in(void)
{
    FAULT_AT2("mov $0x40, %%edx", "in %%dx, %%al", "i"(0));
}
static void halt(void)
{
    FAULT_AT("hlt", "i"(0));
}
static void cli(void)
{
    FAULT_AT("cli", "i"(0));
}
/* A software interrupt through a gate user mode may not use: #GP, SIGSEGV
 * (PVM raised #UD: SIGILL under kvm). Not 0x80: the host may emulate i386. */
static void int_0x81(void)
{
    FAULT_AT("int $0x81", "i"(0));
}

/* Not natively (nothing is mapped there): under hermitux-run on kvm the
 * syscall entry's page, entered by a jump with r11 claiming IOPL 3 and NT.
 * The flags the program gets back must be ones it could set itself. */
#define SYSCALL_ENTRY 0x100000UL
static void entry_with_iopl(void)
{
    unsigned long flags;
    __asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
                     "mov $0x7202, %%r11\n\t"
                     "mov $39, %%eax\n\t"
                     "jmp *%1\n"
                     "1:\tpushf\n\t"
                     "pop %0"
                     : "=r"(flags)
                     : "r"(SYSCALL_ENTRY)
                     : "rax", "rcx", "r11", "memory");
    printf("iopl %lu nt %lu if %lu\n", (flags >> 12) & 3, (flags >> 14) & 1, (flags >> 9) & 1);
    exit(0);
}

static const struct {
    const char *name;
    void (*run)(void);
} attacks[] = {
    {"doorbell-read", doorbell_read},
    {"doorbell-write", doorbell_write},
    {"doorbell-stub-copy", doorbell_stub_copy},
    {"doorbell-rmw", doorbell_rmw},
    {"doorbell-clflush", doorbell_clflush},
    {"doorbell-sse-store", doorbell_sse_store},
    {"doorbell-avx-store", doorbell_avx_store},
    {"doorbell-fxsave", doorbell_fxsave},
    {"doorbell-xsave", doorbell_xsave},
    {"doorbell-string-read", doorbell_string_read},
    {"port-out", port_out},
    {"port-in", port_in},
    {"hlt", halt},
    {"cli", cli},
    {"int-0x81", int_0x81},
    {"entry-with-iopl", entry_with_iopl},
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: hostile_cpu [caught-]ATTACK\n");
        return 2;
    }
    const char *name = argv[1];
    int caught = strncmp(name, "caught-", 7) == 0;
    if (caught) {
        name += 7;
        struct sigaction action = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO};
        sigaction(SIGSEGV, &action, NULL);
        sigaction(SIGILL, &action, NULL);
        sigaction(SIGBUS, &action, NULL);
    }
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        if (strcmp(attacks[i].name, name) != 0)
            continue;
        printf("%s\n", name);
        fflush(stdout);
        if (sigsetjmp(back, 1) == 0) {
            attacks[i].run();
            printf("no fault\n");
            return 1;
        }
        /* The program goes on after its handler: the monitor is still sane. */
        printf("pid is still %s\n", getpid() > 0 ? "positive" : "wrong");
        return 0;
    }
    fprintf(stderr, "unknown attack %s\n", name);
    return 2;
}
