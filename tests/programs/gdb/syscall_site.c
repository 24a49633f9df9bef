/* A program for the gdb tests: write(2) made by the syscall instruction at
 * the label write_insn, where the tests put a breakpoint. Each write must
 * happen, however the debugger steps over that breakpoint. */
#include <stdio.h>
#include <sys/syscall.h>

static long write_at_label(int fd, const char *buffer, unsigned long length)
{
    long result;
    __asm__ volatile(".globl write_insn\nwrite_insn:\n\tsyscall"
                     : "=a"(result)
                     : "a"((long)SYS_write), "D"((long)fd), "S"(buffer), "d"(length)
                     : "rcx", "r11", "memory");
    return result;
}

int main(void)
{
    for (int i = 0; i < 3; i++) {
        long written = write_at_label(1, "line\n", 5);
        if (written != 5) {
            printf("write returned %ld\n", written);
            return 1;
        }
    }
    return 0;
}
