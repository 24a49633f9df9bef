/* cpu_user: instructions a program may run at CPL3 that make the CPU read the GDT (a data
 * segment load, iretq to the program's own segments, lar), and ones it may not (port I/O,
 * `int n` through a kernel-only gate), which end in SIGSEGV.
 *   cpu_user segments | out | in | int0d */
#include <stdio.h>
#include <string.h>

static int segments(void)
{
    unsigned long ss, cs, rights = 0, after_iret = 0;
    unsigned char valid = 0;
    __asm__ volatile("mov %%ss, %0\n mov %%cs, %1" : "=r"(ss), "=r"(cs));
    /* The selectors the program started with: Linux's user cs and ss, null
     * data segments (whether or not the guest kernel's boot ran). */
    unsigned long ds, es, fs, gs;
    __asm__ volatile("mov %%ds, %0\n mov %%es, %1\n mov %%fs, %2\n mov %%gs, %3"
                     : "=r"(ds), "=r"(es), "=r"(fs), "=r"(gs));
    printf("cs %#lx ss %#lx ds %#lx es %#lx fs %#lx gs %#lx\n", cs, ss, ds, es, fs, gs);
    /* Reload ds with the stack segment's selector, as a 32-bit program would. */
    __asm__ volatile("mov %0, %%ds" ::"r"(ss));
    __asm__ volatile("push %2\n"
                     "lea 8(%%rsp), %%rax\n push %%rax\n"
                     "pushfq\n"
                     "push %3\n"
                     "lea 1f(%%rip), %%rax\n push %%rax\n"
                     "iretq\n"
                     "1: mov $42, %0\n"
                     : "=r"(after_iret), "=m"(valid)
                     : "r"(ss), "r"(cs)
                     : "rax", "memory");
    /* lar sets ZF for a valid descriptor; the rights' bits 19:16 are undefined. */
    __asm__ volatile("lar %2, %0\n setz %1" : "=r"(rights), "=q"(valid) : "r"(cs) : "cc");
    printf("ds loaded, iretq %lu, lar valid %d, type %#lx\n", after_iret, valid,
           (rights >> 8) & 0xff);
    return 0;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "segments";
    printf("%s\n", what);
    fflush(stdout);
    if (strcmp(what, "out") == 0)
        __asm__ volatile("mov $0x70, %%dx\n xor %%eax, %%eax\n outb %%al, %%dx" ::: "rax", "rdx");
    else if (strcmp(what, "in") == 0)
        __asm__ volatile("mov $0x70, %%dx\n inb %%dx, %%al" ::: "rax", "rdx");
    else if (strcmp(what, "int0d") == 0)
        __asm__ volatile("int $0x0d");
    else
        return segments();
    printf("not reached\n");
    return 1;
}
