/* args_env_auxv: what the kernel hands a new process.
 *   args_env_auxv [ARG | env:NAME | envcount]...
 * Prints argc and every argv[i]; for "env:NAME" also the value of NAME (or "(unset)"),
 * for "envcount" the number of environment entries. Then checks the auxiliary vector
 * and prints "auxv ok", or one "auxv FAIL: ..." line per broken fact and exits 1.
 * Only stable facts are printed, so a native run and a VM run compare byte for byte. */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

extern char **environ;
/* Defined by the linker: the ELF header as loaded, and the entry point. */
extern const ElfW(Ehdr) __ehdr_start;
extern void _start(void);

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("auxv FAIL: %s\n", what);
        failures++;
    }
}

int main(int argc, char **argv)
{
    printf("argc = %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = \"%s\"\n", i, argv[i]);
    check(argv[argc] == NULL, "argv[argc] is not NULL");
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "env:", 4) == 0) {
            const char *value = getenv(argv[i] + 4);
            printf("env %s = %s%s%s\n", argv[i] + 4, value ? "\"" : "", value ? value : "(unset)",
                   value ? "\"" : "");
        } else if (strcmp(argv[i], "envcount") == 0) {
            int count = 0;
            while (environ[count])
                count++;
            printf("envcount = %d\n", count);
        }
    }

    check(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ != 4096");
    const unsigned char *random = (const unsigned char *)getauxval(AT_RANDOM);
    check(random != NULL, "AT_RANDOM is NULL");
    if (random) {
        int nonzero = 0;
        for (int i = 0; i < 16; i++)
            nonzero |= random[i];
        check(nonzero, "AT_RANDOM's 16 bytes are all zero");
    }

    /* AT_PHDR/AT_PHNUM must describe this program's own program headers. */
    const ElfW(Ehdr) *ehdr = &__ehdr_start;
    const ElfW(Phdr) *phdr = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    check(memcmp(ehdr->e_ident, ELFMAG, SELFMAG) == 0, "no ELF header at __ehdr_start");
    check(getauxval(AT_PHENT) == sizeof(ElfW(Phdr)), "AT_PHENT != sizeof(Elf64_Phdr)");
    check(getauxval(AT_PHNUM) == ehdr->e_phnum, "AT_PHNUM != e_phnum");
    check(phdr == (const ElfW(Phdr) *)((const char *)ehdr + ehdr->e_phoff),
          "AT_PHDR != load address of the program headers");
    uintptr_t bias = 0;
    int loads = 0;
    if (phdr == (const ElfW(Phdr) *)((const char *)ehdr + ehdr->e_phoff)) {
        for (unsigned i = 0; i < ehdr->e_phnum; i++) {
            if (phdr[i].p_type == PT_LOAD && loads++ == 0)
                bias = (uintptr_t)ehdr - (phdr[i].p_vaddr - phdr[i].p_offset);
            if (phdr[i].p_type == PT_PHDR)
                check((uintptr_t)phdr == bias + phdr[i].p_vaddr, "PT_PHDR disagrees with AT_PHDR");
        }
        check(loads > 0, "no PT_LOAD among the program headers at AT_PHDR");
    }
    check(getauxval(AT_ENTRY) == (uintptr_t)&_start, "AT_ENTRY != &_start");
    check(getauxval(AT_ENTRY) == bias + ehdr->e_entry, "AT_ENTRY != e_entry + load bias");

    const char *execfn = (const char *)getauxval(AT_EXECFN);
    check(execfn != NULL, "AT_EXECFN is NULL");
    if (execfn)
        check(strcmp(execfn, argv[0]) == 0, "AT_EXECFN != argv[0]");
    const char *platform = (const char *)getauxval(AT_PLATFORM);
    check(platform != NULL && strcmp(platform, "x86_64") == 0, "AT_PLATFORM != \"x86_64\"");
    check(getauxval(AT_HWCAP) != 0, "AT_HWCAP is 0");
    check(getauxval(AT_CLKTCK) == 100, "AT_CLKTCK != 100");
    /* Strings the kernel placed on the stack must be readable and sane. */
    check(getauxval(AT_SECURE) == 0, "AT_SECURE != 0");

    if (failures == 0)
        printf("auxv ok\n");
    return failures != 0;
}
