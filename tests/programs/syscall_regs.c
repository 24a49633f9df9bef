/* syscall_regs: what a `syscall` leaves in the registers, thousands of times in a row (so
 * that hermitux-run's syscall ring answers most of them): rax the result, rcx the address
 * after the instruction, r11 and the flags as before (DF, CF, ZF, SF, OF and PF set), every
 * other register and rsp unchanged, the red zone below rsp untouched. Calls: getppid, a
 * write to a regular file, a read from a pipe (which the ring hands back to the doorbell).
 * Prints one line per call with the number of mismatches; the same as natively. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* rax, rbx, rcx, rdx, rsi, rdi, rbp, r8..r15, flags */
enum { RAX, RBX, RCX, RDX, RSI, RDI, RBP, R8, R9, R10, R11, R12, R13, R14, R15, FLAGS, NREGS };

uint64_t probe_in[NREGS], probe_out[NREGS], probe_rsp_before, probe_rsp_after;
uint64_t probe_red_zone[16];
extern char probe_after[];
void probe(void);

/* Loads every register from probe_in (the flags first, through the stack, before the red
 * zone is filled), makes the call, and stores every register back with rip-relative moves,
 * which touch neither the stack nor the flags. */
__asm__(".text\n"
        ".globl probe\n"
        "probe:\n"
        "  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
        "  pushq probe_in+8*15(%rip)\n  popfq\n"
        "  movabs $0x5a5a5a5a00000000, %rax\n"
        "  .irp i,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n"
        "  lea \\i(%rax), %rcx\n  mov %rcx, -8*\\i(%rsp)\n"
        "  .endr\n"
        "  mov %rsp, probe_rsp_before(%rip)\n"
        "  mov probe_in+8*0(%rip), %rax\n  mov probe_in+8*1(%rip), %rbx\n"
        "  mov probe_in+8*2(%rip), %rcx\n  mov probe_in+8*3(%rip), %rdx\n"
        "  mov probe_in+8*4(%rip), %rsi\n  mov probe_in+8*5(%rip), %rdi\n"
        "  mov probe_in+8*6(%rip), %rbp\n  mov probe_in+8*7(%rip), %r8\n"
        "  mov probe_in+8*8(%rip), %r9\n  mov probe_in+8*9(%rip), %r10\n"
        "  mov probe_in+8*10(%rip), %r11\n  mov probe_in+8*11(%rip), %r12\n"
        "  mov probe_in+8*12(%rip), %r13\n  mov probe_in+8*13(%rip), %r14\n"
        "  mov probe_in+8*14(%rip), %r15\n"
        "  syscall\n"
        ".globl probe_after\n"
        "probe_after:\n"
        "  mov %rax, probe_out+8*0(%rip)\n  mov %rbx, probe_out+8*1(%rip)\n"
        "  mov %rcx, probe_out+8*2(%rip)\n  mov %rdx, probe_out+8*3(%rip)\n"
        "  mov %rsi, probe_out+8*4(%rip)\n  mov %rdi, probe_out+8*5(%rip)\n"
        "  mov %rbp, probe_out+8*6(%rip)\n  mov %r8, probe_out+8*7(%rip)\n"
        "  mov %r9, probe_out+8*8(%rip)\n  mov %r10, probe_out+8*9(%rip)\n"
        "  mov %r11, probe_out+8*10(%rip)\n  mov %r12, probe_out+8*11(%rip)\n"
        "  mov %r13, probe_out+8*12(%rip)\n  mov %r14, probe_out+8*13(%rip)\n"
        "  mov %r15, probe_out+8*14(%rip)\n"
        "  mov %rsp, probe_rsp_after(%rip)\n"
        "  .irp i,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n"
        "  mov -8*\\i(%rsp), %rax\n  mov %rax, probe_red_zone+8*(\\i-1)(%rip)\n"
        "  .endr\n"
        "  pushfq\n  popq probe_out+8*15(%rip)\n"
        "  pushq $0x202\n  popfq\n"
        "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n"
        "  ret\n");

/* CF PF ZF SF DF OF, the reserved bit and IF. */
#define TEST_FLAGS 0xec7ULL

/* One call with these arguments; the mismatches against Linux's rules. */
static int check(long number, uint64_t a0, uint64_t a1, uint64_t a2, long expected)
{
    for (int i = 0; i < FLAGS; i++)
        probe_in[i] = 0x1111111111111111ULL * (uint64_t)(i + 1);
    probe_in[RAX] = (uint64_t)number;
    probe_in[RDI] = a0;
    probe_in[RSI] = a1;
    probe_in[RDX] = a2;
    probe_in[FLAGS] = TEST_FLAGS;
    probe();
    int bad = 0;
    bad += probe_out[RAX] != (uint64_t)expected;
    bad += probe_out[RCX] != (uint64_t)probe_after;
    bad += probe_out[R11] != TEST_FLAGS;
    bad += probe_out[FLAGS] != TEST_FLAGS;
    bad += probe_rsp_after != probe_rsp_before;
    for (int i = 0; i < FLAGS; i++)
        if (i != RAX && i != RCX && i != R11)
            bad += probe_out[i] != probe_in[i];
    for (int i = 0; i < 16; i++)
        bad += probe_red_zone[i] != 0x5a5a5a5a00000000ULL + (uint64_t)(i + 1);
    return bad;
}

int main(void)
{
    char path[] = "/tmp/syscall_regs.XXXXXX";
    int file = mkstemp(path);
    int pipe_fds[2];
    if (file < 0 || pipe(pipe_fds) < 0)
        return 2;
    unlink(path);
    static const char byte = 'x';
    long parent = getppid();
    int bad_ppid = 0, bad_write = 0, bad_read = 0;
    for (int i = 0; i < 3000; i++) {
        bad_ppid += check(SYS_getppid, 0, 0, 0, parent);
        bad_write += check(SYS_write, (uint64_t)file, (uint64_t)&byte, 1, 1);
        char got;
        if (write(pipe_fds[1], &byte, 1) != 1)
            return 2;
        bad_read += check(SYS_read, (uint64_t)pipe_fds[0], (uint64_t)&got, 1, 1);
    }
    printf("getppid: %d mismatches\nwrite to a file: %d mismatches\nread from a pipe: %d "
           "mismatches\nfile size: %ld\n",
           bad_ppid, bad_write, bad_read, (long)lseek(file, 0, SEEK_END));
    return bad_ppid || bad_write || bad_read;
}
