/* A program for the gdb tests: write(2) made by the syscall instruction at
 * the label write_insn, where the tests put a breakpoint. Each write must
 * happen, however the debugger steps over that breakpoint. Then a kill(2)
 * of itself with SIGUSR1 (caught) at the label kill_insn. */
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t caught;

static void on_usr1(int signal)
{
    caught += signal == SIGUSR1;
}

static long write_at_label(int fd, const char *buffer, unsigned long length)
{
    long result;
    __asm__ volatile(".globl write_insn\nwrite_insn:\n\tsyscall"
                     : "=a"(result)
                     : "a"((long)SYS_write), "D"((long)fd), "S"(buffer), "d"(length)
                     : "rcx", "r11", "memory");
    return result;
}

static long kill_at_label(long pid, long signal)
{
    long result;
    __asm__ volatile(".globl kill_insn\nkill_insn:\n\tsyscall"
                     : "=a"(result)
                     : "a"((long)SYS_kill), "D"(pid), "S"(signal)
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
    signal(SIGUSR1, on_usr1);
    long killed = kill_at_label(getpid(), SIGUSR1);
    printf("kill %ld, caught %d\n", killed, (int)caught);
    return 0;
}
