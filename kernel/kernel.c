/*
 * The guest kernel: sets up its descriptor tables and the syscall MSRs, then
 * enters the program in user mode. Every CPL0 instruction is emulated on some
 * hosts, so nothing here is done that the monitor can do instead (page
 * tables, the stack, auxv are the monitor's).
 */
#include "kernel/abi.h"

#define MSR_EFER  0xc0000080
#define MSR_STAR  0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define EFER_SCE  (1u << 0)

/* Cleared by `syscall`: TF (so a step over a syscall stops after it, not in
 * the entry), DF (the ABI says clear), IF, AC. */
#define SYSCALL_RFLAGS_MASK 0x47700

struct __attribute__((packed)) descriptor_pointer {
    uint16_t limit;
    uint64_t base;
};

struct __attribute__((packed)) tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t io_map_base;
};

struct interrupt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attributes;
    uint16_t offset_middle;
    uint32_t offset_high;
    uint32_t reserved;
};

extern void enter_user(uint64_t entry, uint64_t stack, uint64_t rflags) __attribute__((noreturn));
extern const uint64_t exception_stubs[32];
extern char exception_stack_top[];
extern char syscall_entry[];

static struct tss tss __attribute__((aligned(16)));
static struct interrupt_gate idt[32] __attribute__((aligned(16)));

/* Linux's layout: null, kernel code 32 (unused), kernel code, kernel data,
 * user code 32 (unused), user data, user code, unused, TSS (two slots). The
 * order of the user entries is what sysret requires. */
static uint64_t gdt[10] __attribute__((aligned(16))) = {
    0,
    0x00cf9b000000ffff, /* 0x08 kernel code 32 */
    0x00af9b000000ffff, /* 0x10 kernel code, long mode */
    0x00cf93000000ffff, /* 0x18 kernel data */
    0x00cffb000000ffff, /* 0x20 user code 32 */
    0x00cff3000000ffff, /* 0x28 user data */
    0x00affb000000ffff, /* 0x30 user code, long mode */
    0,
    0, /* 0x40 TSS */
    0,
};

static void write_msr(uint32_t msr, uint64_t value)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

static uint64_t read_msr(uint32_t msr)
{
    uint32_t low, high;
    __asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return ((uint64_t)high << 32) | low;
}

static void __attribute__((noreturn)) panic(uint64_t reason)
{
    for (;;)
        __asm__ volatile("outb %%al, %0\n\thlt" ::"i"(HX_PORT_PANIC), "D"(reason));
}

static void load_descriptor_tables(void)
{
    uint64_t tss_base = (uint64_t)&tss;
    tss.ist[0] = (uint64_t)exception_stack_top;
    tss.rsp[0] = (uint64_t)exception_stack_top;
    tss.io_map_base = sizeof(tss);
    gdt[8] = (sizeof(tss) - 1) | ((tss_base & 0xffffff) << 16) | (0x89ULL << 40) |
             ((tss_base >> 24 & 0xff) << 56);
    gdt[9] = tss_base >> 32;

    for (int vector = 0; vector < 32; vector++) {
        uint64_t stub = exception_stubs[vector];
        idt[vector] = (struct interrupt_gate){
            .offset_low = (uint16_t)stub,
            .selector = HX_SELECTOR_KERNEL_CODE,
            .ist = 1, /* a known-good stack, and the user red zone is kept */
            .type_attributes = 0x8e,
            .offset_middle = (uint16_t)(stub >> 16),
            .offset_high = (uint32_t)(stub >> 32),
        };
    }
    /* int3 and into must be allowed from user mode (DPL 3). */
    idt[3].type_attributes = 0xee;
    idt[4].type_attributes = 0xee;

    struct descriptor_pointer gdt_pointer = {sizeof(gdt) - 1, (uint64_t)gdt};
    struct descriptor_pointer idt_pointer = {sizeof(idt) - 1, (uint64_t)idt};
    __asm__ volatile("lgdt %0\n\t"
                     "lidt %1\n\t"
                     "ltr %w2\n\t"
                     "mov %3, %%ds\n\t"
                     "mov %3, %%es\n\t"
                     "mov %3, %%ss\n\t"
                     :
                     : "m"(gdt_pointer), "m"(idt_pointer), "r"(HX_SELECTOR_TSS),
                       "r"(HX_SELECTOR_KERNEL_DATA)
                     : "memory");
}

void __attribute__((noreturn)) kernel_main(const struct hx_boot_info *boot)
{
    if (boot->magic != HX_BOOT_INFO_MAGIC)
        panic(HX_PANIC_BAD_BOOT_INFO);
    load_descriptor_tables();
    /* sysret selects user CS = base + 16 and SS = base + 8. */
    write_msr(MSR_STAR, ((uint64_t)HX_SELECTOR_USER32_CODE << 48) |
                            ((uint64_t)HX_SELECTOR_KERNEL_CODE << 32));
    write_msr(MSR_LSTAR, (uint64_t)syscall_entry);
    write_msr(MSR_FMASK, SYSCALL_RFLAGS_MASK);
    write_msr(MSR_EFER, read_msr(MSR_EFER) | EFER_SCE);
    enter_user(boot->user_entry, boot->user_stack, boot->user_rflags);
}
