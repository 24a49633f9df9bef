/*
 * The guest kernel's boot, run only when a debugger waits at the first
 * instruction (-S), so that it can step into the program as HermiTux's does;
 * otherwise the monitor starts the vCPU in the program directly. Every CPL0
 * instruction is emulated on some hosts, so nothing is done here that the
 * monitor can do instead: page tables, the stack, auxv, the GDT, IDT and TSS
 * and the syscall MSRs are the monitor's (kernel/abi.h), set before the
 * first instruction.
 */
#include "kernel/abi.h"

extern void enter_user(uint64_t entry, uint64_t stack, uint64_t rflags) __attribute__((noreturn));

static void __attribute__((noreturn)) panic(uint64_t reason)
{
    for (;;)
        __asm__ volatile("outb %%al, %0\n\thlt" ::"i"(HX_PORT_PANIC), "D"(reason));
}

void __attribute__((noreturn)) kernel_main(const struct hx_boot_info *boot)
{
    if (boot->magic != HX_BOOT_INFO_MAGIC)
        panic(HX_PANIC_BAD_BOOT_INFO);
    /* The data segments from the GDT, as a kernel has them; the iretq to
     * the program then nulls them, as Linux's return to user mode does. */
    __asm__ volatile("mov %0, %%ds\n\t"
                     "mov %0, %%es\n\t"
                     "mov %0, %%ss\n\t"
                     :
                     : "r"(HX_SELECTOR_KERNEL_DATA)
                     : "memory");
    enter_user(boot->user_entry, boot->user_stack, boot->user_rflags);
}
