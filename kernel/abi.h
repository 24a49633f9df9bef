/*
 * kernel/abi.h — the contract between the guest kernel and the monitor.
 *
 * Included by both the freestanding guest kernel and the monitor, so it holds
 * only constants and plain structs. The guest kernel is a trampoline by
 * design: on this project's reference host every CPL0 instruction is
 * emulated (about 1.7 us each), so it boots, enters the program at CPL3 and
 * turns every syscall and exception into one exit to the monitor, which does
 * the real work.
 */
#ifndef HERMITUX_KERNEL_ABI_H
#define HERMITUX_KERNEL_ABI_H

/* The kernel is linked here; everything it owns lies below HX_KERNEL_END, so
 * "an rip under 0x200000 is the kernel" holds. */
#define HX_KERNEL_BASE 0x100000
#define HX_KERNEL_END  0x200000

/* The guest-virtual address of the boot information page (supervisor only,
 * on any frame); also passed in rdi to the kernel entry. The monitor builds
 * the descriptor tables there too and loads GDTR, IDTR and TR itself: the
 * kernel's boot code would build them at CPL0, which some hosts emulate
 * instruction by instruction (a loop over 32 gates cost about 1 ms on PVM).
 * Below the top of the page is the first vCPU's exception stack (its TSS's
 * RSP0 and IST1). */
#define HX_BOOT_INFO_ADDRESS 0x1000
#define HX_BOOT_INFO_MAGIC   0x58555452454d4821ULL /* "!HERMTUX" */
#define HX_BOOT_GDT          (HX_BOOT_INFO_ADDRESS + 0x100)
#define HX_BOOT_GDT_ENTRIES  10
#define HX_BOOT_IDT          (HX_BOOT_INFO_ADDRESS + 0x200)
#define HX_BOOT_IDT_VECTORS  32
#define HX_BOOT_TSS          (HX_BOOT_INFO_ADDRESS + 0x400)
#define HX_BOOT_STACK_TOP    (HX_BOOT_INFO_ADDRESS + 0x1000)

/* The kernel's entry points the monitor points the CPU at: the syscall
 * entry (LSTAR) at the start of the kernel, and the exception stubs, vector
 * v's at HX_EXCEPTION_STUBS + v * HX_EXCEPTION_STUB_SIZE (kernel.ld and
 * entry.S check both). */
#define HX_SYSCALL_ENTRY       HX_KERNEL_BASE
#define HX_EXCEPTION_STUBS     0x102000
#define HX_EXCEPTION_STUB_SIZE 16
/* What `syscall` clears in rflags (FMASK): TF (so a step over a syscall
 * stops after it, not in the entry), DF (the ABI says clear), IF, AC. */
#define HX_SYSCALL_RFLAGS_MASK 0x47700

/* The doorbell page: user-accessible, mapped to the first guest-physical
 * page above RAM (HX_DOORBELL_PHYSICAL) so that a write to it exits to the
 * monitor (an MMIO exit). The syscall entry rings it. */
#define HX_DOORBELL_ADDRESS            0x1ff000
#define HX_DOORBELL_PHYSICAL(ram_size) (((ram_size) + 0xfffULL) & ~0xfffULL)
/* The ring is the syscall entry's first instruction, this long: only a
 * write to the doorbell whose rip is then the entry (LSTAR) plus this is a
 * syscall; any other access to the page is the program's fault. */
#define HX_DOORBELL_RING_LENGTH 7

/*
 * The syscall ring (exitless syscalls, on hosts where the entry runs at
 * CPL3): vCPU n may get two user pages at HX_RING_BASE + n * HX_RING_STRIDE,
 * a second mapping of the page of .text.user (HX_KERNEL_BASE: the doorbell
 * entry, then the ring entry at HX_RING_ENTRY_OFFSET) and right after it its
 * own ring page (struct hx_ring). Its LSTAR is then the ring entry, which
 * finds its page rip-relatively: it posts the call there and spins while a
 * monitor thread serves it, and rings the doorbell (HX_RING_WAIT_OFFSET's
 * write) when the answer is slow. Calls it may not post, and every call
 * while the monitor's thread sleeps, take the doorbell entry as before.
 */
#define HX_RING_BASE   0x40000ULL
#define HX_RING_STRIDE 0x2000ULL
#define HX_RING_COUNT  56 /* up to 0xb0000, below the kernel */
/* Offsets in the .text.user page, checked by entry.S. */
#define HX_RING_ENTRY_OFFSET  0x40 /* LSTAR: nothing posted yet */
#define HX_RING_POSTED_OFFSET 0xc4 /* posted: waiting for the answer */
#define HX_RING_WAIT_OFFSET   0xe2 /* the slow answer's doorbell write (7 bytes) */
#define HX_RING_DONE_OFFSET   0xeb /* answered: back to the program */
#define HX_RING_END_OFFSET    0x121
/* The write that says "the answer is slow": this offset in the doorbell page. */
#define HX_DOORBELL_WAIT 8

/* struct hx_ring's fields, for entry.S. */
#define HX_RING_STATE  0
#define HX_RING_AWAKE  4
#define HX_RING_SPIN   8
#define HX_RING_NR     16
#define HX_RING_ARGS   24
#define HX_RING_RIP    72
#define HX_RING_FLAGS  80
#define HX_RING_RSP    88
#define HX_RING_RESULT 96
#define HX_RING_BITMAP 104
#define HX_RING_CALLS  512 /* numbers below this may be posted */
/* state */
#define HX_RING_FREE    0
#define HX_RING_POSTED  1 /* by the entry */
#define HX_RING_TAKEN   2 /* by the monitor's thread */
#define HX_RING_DONE    3 /* result written */
#define HX_RING_BOUNCED 4 /* the monitor's thread will not make it: the doorbell will */

/* Per-vCPU pages of every vCPU after the first (which uses the boot
 * information page's TSS and stack): vCPU n's page at HX_VCPU_AREA_BASE +
 * n * HX_VCPU_AREA_STRIDE holds its TSS (at the start) and its exception
 * stack (growing down from the end of the page), supervisor-only; the
 * monitor maps them and enters the vCPU at CPL3 directly, with TR pointing
 * at its TSS. The gap between pages is a guard. In the upper canonical
 * half, away from everything else. */
#define HX_VCPU_AREA_BASE   0xffffc00000000000ULL
#define HX_VCPU_AREA_STRIDE 0x2000ULL

/* The TSS as the CPU reads it (104 bytes, struct hx_tss). */
#define HX_TSS_SIZE 104

/* I/O ports the kernel writes (from CPL0) to hand an event to the monitor. */
#define HX_PORT_EXCEPTION_BASE 0x40 /* + vector (0..31): an exception */
#define HX_PORT_PANIC          0x70 /* the kernel cannot go on; rdi = reason */
#define HX_PANIC_BAD_BOOT_INFO 1

/* Selectors of the kernel's GDT: Linux's own layout, so the program (and a
 * debugger) sees the cs and ss it would natively. STAR derives from them. */
#define HX_SELECTOR_KERNEL_CODE 0x10
#define HX_SELECTOR_KERNEL_DATA 0x18
#define HX_SELECTOR_USER32_CODE 0x23 /* GDT entry 4, RPL 3 (sysret's base) */
#define HX_SELECTOR_USER_DATA   0x2b /* GDT entry 5, RPL 3 */
#define HX_SELECTOR_USER_CODE   0x33 /* GDT entry 6, RPL 3 */
#define HX_SELECTOR_TSS         0x40

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Written by the monitor before the first instruction; read once by the
 * kernel's entry. */
struct hx_boot_info {
    uint64_t magic;       /* HX_BOOT_INFO_MAGIC */
    uint64_t user_entry;  /* the program's first instruction */
    uint64_t user_stack;  /* rsp at that instruction (argc) */
    uint64_t user_rflags; /* rflags there (0x202; TF to step it) */
};

/* The 64-bit TSS: the monitor fills each vCPU's (RSP0 and IST1, the stack
 * exceptions from the program are delivered on; no I/O bitmap). */
struct __attribute__((packed)) hx_tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t io_map_base;
};

/* The ring page (the program can write it too: the monitor reads each field
 * once and trusts none). */
struct hx_ring {
    uint32_t state;
    uint32_t awake; /* the monitor's thread is spinning for calls */
    uint32_t spin;  /* how long the entry waits for an answer (pause loops) */
    uint32_t reserved;
    uint64_t nr;
    uint64_t args[6];
    uint64_t rip;   /* the program's rcx at the entry */
    uint64_t flags; /* its r11 */
    uint64_t rsp;
    uint64_t result;
    uint64_t bitmap[HX_RING_CALLS / 64];
};

/* What the kernel's exception stubs leave on their stack when they exit to
 * the monitor: the CPU's frame, with a zero error code pushed for vectors
 * that have none. rsp at the PIO exit points at it. */
struct hx_exception_frame {
    uint64_t error_code;
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};
#endif

#endif
