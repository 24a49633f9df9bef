/* cloner: clone with CLONE_VM and without CLONE_THREAD (a process sharing the
 * parent's memory, as GDB's step-over-clone makes), for the gdb tests. The
 * syscall instruction has a label, clone_insn, so gdb can stop on it and step
 * over it; the child runs clone_child on its own stack and exits with its
 * result; the parent reaps it with __WCLONE (exit signal 0) and calls marker. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>

#ifndef __WCLONE
#define __WCLONE 0x80000000
#endif

static char child_stack[64 * 1024] __attribute__((aligned(16)));
volatile int child_ran;

int clone_child(void)
{
    child_ran = 1;
    return 4;
}

void marker(void)
{
}

/* clone(CLONE_VM | CLONE_FILES, stack): the child calls clone_child and
 * exits with its result without returning here (its stack is not ours). */
static long clone_vm(void *stack_top)
{
    register long tid_args __asm__("r10") = 0;
    register long tls __asm__("r8") = 0;
    long result;
    __asm__ volatile(".globl clone_insn\n"
                     "clone_insn: syscall\n"
                     "test %%rax, %%rax\n"
                     "jnz 1f\n"
                     "call clone_child\n"
                     "mov %%eax, %%edi\n"
                     "mov $60, %%eax\n"
                     "syscall\n"
                     "1:\n"
                     : "=a"(result)
                     : "0"(56L), "D"((long)(CLONE_VM | CLONE_FILES)), "S"(stack_top), "d"(0L),
                       "r"(tid_args), "r"(tls)
                     : "rcx", "r11", "memory");
    return result;
}

int main(void)
{
    long pid = clone_vm(child_stack + sizeof(child_stack));
    if (pid < 0) {
        printf("clone failed: %ld\n", pid);
        return 1;
    }
    int status = 0;
    if (waitpid((int)pid, &status, __WCLONE) != pid) {
        printf("waitpid failed\n");
        return 1;
    }
    marker();
    printf("child %s, exited %d\n", child_ran ? "ran" : "did not run", WEXITSTATUS(status));
    return 0;
}
