/*
 * Entry points of the guest kernel: the first guest instruction, the syscall
 * entry, the exception stubs, and the drop to user mode.
 */
#include "kernel/abi.h"

    .section .text.boot, "ax"
    .globl _start
/* The monitor starts the vCPU here in 64-bit mode, paging on, rdi = the boot
 * information page. */
_start:
    lea boot_stack_top(%rip), %rsp
    xor %ebp, %ebp
    call kernel_main
1:  hlt
    jmp 1b

    .text
/* enter_user(entry, stack, rflags): leaves the kernel for good, with every
 * general register zero as the ABI's process entry expects (rdx = 0: no
 * atexit function from a dynamic loader). */
    .globl enter_user
enter_user:
    pushq $HX_SELECTOR_USER_DATA
    pushq %rsi
    pushq %rdx
    pushq $HX_SELECTOR_USER_CODE
    pushq %rdi
    xor %eax, %eax
    xor %ebx, %ebx
    xor %ecx, %ecx
    xor %edx, %edx
    xor %esi, %esi
    xor %edi, %edi
    xor %ebp, %ebp
    xor %r8d, %r8d
    xor %r9d, %r9d
    xor %r10d, %r10d
    xor %r11d, %r11d
    xor %r12d, %r12d
    xor %r13d, %r13d
    xor %r14d, %r14d
    xor %r15d, %r15d
    iretq

/* Exception stubs, one per HX_EXCEPTION_STUB_SIZE bytes from
 * HX_EXCEPTION_STUBS (the monitor's IDT points there). Each hands its vector
 * to the monitor through the port number (the `out` does not change any
 * register, so the monitor sees the interrupted code's registers unchanged)
 * and resumes the interrupted code with whatever frame the monitor left. */
    .section .exceptions, "ax"
.Lexception_stubs:
/* .org cannot move backwards: a stub longer than its slot fails here. */
.macro exception_stub vector, has_error_code
    .org .Lexception_stubs + \vector * HX_EXCEPTION_STUB_SIZE, 0xcc
exception_\vector:
    .if \has_error_code == 0
    pushq $0
    .endif
    outb %al, $(HX_PORT_EXCEPTION_BASE + \vector)
    addq $8, %rsp
    iretq
.endm

exception_stub 0, 0
exception_stub 1, 0
exception_stub 2, 0
exception_stub 3, 0
exception_stub 4, 0
exception_stub 5, 0
exception_stub 6, 0
exception_stub 7, 0
exception_stub 8, 1
exception_stub 9, 0
exception_stub 10, 1
exception_stub 11, 1
exception_stub 12, 1
exception_stub 13, 1
exception_stub 14, 1
exception_stub 15, 0
exception_stub 16, 0
exception_stub 17, 1
exception_stub 18, 0
exception_stub 19, 0
exception_stub 20, 0
exception_stub 21, 1
exception_stub 22, 0
exception_stub 23, 0
exception_stub 24, 0
exception_stub 25, 0
exception_stub 26, 0
exception_stub 27, 0
exception_stub 28, 0
exception_stub 29, 1
exception_stub 30, 1
exception_stub 31, 0

/* The syscall entry: the only kernel code on a user-accessible page. On
 * hosts where `syscall` from CPL3 stays at CPL3 (PVM) this page must be
 * executable from user mode; on hardware KVM it runs at CPL0. Either way one
 * write to the doorbell exits to the monitor, which performs the call and
 * resumes the program at rcx with rflags = r11 itself. */
    .section .text.user, "ax"
    .globl syscall_entry
syscall_entry:
    movl %eax, HX_DOORBELL_ADDRESS
syscall_entry_rung:
    ud2
.if syscall_entry_rung - syscall_entry - HX_DOORBELL_RING_LENGTH
.error "the doorbell ring's length is not HX_DOORBELL_RING_LENGTH"
.endif

/* The ring entry (kernel/abi.h): only ever run from a vCPU's second mapping
 * of this page, whose ring page follows it, so hx_ring (this page's link
 * address + 4096, from kernel.ld) is that vCPU's own page. It may clobber
 * nothing but the flags until the call is posted (the monitor then puts the
 * program back on its `syscall`, or hands the call to the doorbell entry),
 * and rcx (the spin count) while it waits; the rest of the program's state
 * is in the ring page. A program that steps (TF) takes the doorbell entry:
 * popfq would trap inside the entry. */
    .org HX_RING_ENTRY_OFFSET, 0xcc
    .globl ring_entry, ring_posted, ring_wait, ring_done, ring_end
ring_entry:
    cmpl $0, hx_ring+HX_RING_AWAKE(%rip)
    je ring_to_doorbell
    cmpq $HX_RING_CALLS, %rax
    jae ring_to_doorbell
    btq %rax, hx_ring+HX_RING_BITMAP(%rip)
    jnc ring_to_doorbell
    testl $0x100, %r11d
    jnz ring_to_doorbell
    movq %rax, hx_ring+HX_RING_NR(%rip)
    movq %rdi, hx_ring+HX_RING_ARGS(%rip)
    movq %rsi, hx_ring+HX_RING_ARGS+8(%rip)
    movq %rdx, hx_ring+HX_RING_ARGS+16(%rip)
    movq %r10, hx_ring+HX_RING_ARGS+24(%rip)
    movq %r8, hx_ring+HX_RING_ARGS+32(%rip)
    movq %r9, hx_ring+HX_RING_ARGS+40(%rip)
    movq %rcx, hx_ring+HX_RING_RIP(%rip)
    movq %r11, hx_ring+HX_RING_FLAGS(%rip)
    movq %rsp, hx_ring+HX_RING_RSP(%rip)
    movl $HX_RING_POSTED, hx_ring+HX_RING_STATE(%rip)
ring_posted:
    movl hx_ring+HX_RING_SPIN(%rip), %ecx
1:  cmpl $HX_RING_DONE, hx_ring+HX_RING_STATE(%rip)
    je ring_done
    cmpl $HX_RING_BOUNCED, hx_ring+HX_RING_STATE(%rip)
    je ring_wait
    pause
    decl %ecx
    jnz 1b
ring_wait:
    movl %eax, HX_DOORBELL_ADDRESS+HX_DOORBELL_WAIT
    ud2
ring_done:
    movq hx_ring+HX_RING_RESULT(%rip), %rax
    leaq hx_ring+4096(%rip), %rsp
    pushq hx_ring+HX_RING_FLAGS(%rip)
    popfq
    movq hx_ring+HX_RING_RIP(%rip), %rcx
    movq hx_ring+HX_RING_FLAGS(%rip), %r11
    movq hx_ring+HX_RING_RSP(%rip), %rsp
    movl $HX_RING_FREE, hx_ring+HX_RING_STATE(%rip)
    jmp *%rcx
ring_end:
ring_to_doorbell:
    jmp syscall_entry

    .bss
    .balign 16
    .globl boot_stack_top
boot_stack:
    .skip 8192
boot_stack_top:
/* Zeros above the stack, where a debugger unwinding _start reads its caller:
 * a null return address ends the backtrace. */
    .skip 16

    .section .note.GNU-stack, "", @progbits
