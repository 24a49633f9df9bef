/* far_branch_reg: lcall and ljmp with a register operand (FF /3 and FF /5
 * with mod 3), which the CPU refuses with #UD: SIGILL at the instruction.
 * Unicorn 2.0.1 translated them into a load through an address never
 * computed: the whole monitor died (tcg fatal error), or, when an earlier
 * instruction of the block had computed one, the program jumped through
 * it. Each sequence is entered by a call, so that it starts a block of
 * code: the branch first, or after other instructions (accel/tcg.c screens
 * every block before its code is generated). A SIGILL handler checks
 * si_addr and carries on. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf resume;
static void *volatile fault_address;

static void on_sigill(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)context;
    fault_address = info->si_addr;
    siglongjmp(resume, 1);
}

/* Each entered by a call: a block starts there. */
__asm__(".text\n"
        "lcall_first: .byte 0xff, 0xd8\n"        /* lcall *%eax */
        "ljmp_first: .byte 0x48, 0xff, 0xec\n"   /* rex.W ljmp *%rsp */
        "lcall_data16: .byte 0x66, 0xff, 0xdb\n" /* data16 lcall *%ebx */
        /* Further in: after two nops; after a load through (%rsp), whose
         * address the translator would have used for the far pointer. */
        "lcall_inside: nop\n nop\n"
        "lcall_inside_at: .byte 0xff, 0xd8\n"
        "ljmp_after_load: mov (%rsp), %rcx\n"
        "ljmp_after_load_at: .byte 0x48, 0xff, 0xec\n");
extern char lcall_first[], ljmp_first[], lcall_data16[];
extern char lcall_inside[], lcall_inside_at[], ljmp_after_load[], ljmp_after_load_at[];

static void try(const char *name, void (*code)(void), const void *expected)
{
    fault_address = NULL;
    if (sigsetjmp(resume, 1) == 0) {
        code();
        printf("%s: ran on\n", name);
        return;
    }
    printf("%s: SIGILL %s\n", name, fault_address == expected ? "at it" : "elsewhere");
}

int main(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = on_sigill;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGILL, &action, NULL);
    try("lcall", (void (*)(void))lcall_first, lcall_first);
    try("ljmp, rex.W", (void (*)(void))ljmp_first, ljmp_first);
    try("lcall, data16", (void (*)(void))lcall_data16, lcall_data16);
    try("lcall, third instruction", (void (*)(void))lcall_inside, lcall_inside_at);
    try("ljmp, after a load", (void (*)(void))ljmp_after_load, ljmp_after_load_at);
    return 0;
}
