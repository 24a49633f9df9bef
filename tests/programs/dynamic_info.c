/* dynamic_info: what a program learns about how it was loaded.
 *   dynamic_info
 * The auxiliary vector against the program's own headers (AT_PHDR, AT_PHNUM, AT_ENTRY,
 * AT_BASE, AT_EXECFN), the objects dl_iterate_phdr reports (by file name, without the
 * vDSO a native run has), and libc calls through the PLT that call back into the
 * program. Static and dynamic builds print the same checks; the object list differs. */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAIL");
    if (!ok)
        failures++;
}

struct walk {
    int count;
    int main_seen;
    const ElfW(Phdr) * main_phdr;
};

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int visit(struct dl_phdr_info *info, size_t size, void *opaque)
{
    struct walk *walk = opaque;
    (void)size;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    /* The kernel's vDSO, which native runs have (musl names it ""). */
    if (strstr(name, "vdso") || (walk->count > 0 && name[0] == '\0'))
        return 0;
    if (walk->count == 0) {
        walk->main_phdr = info->dlpi_phdr;
        walk->main_seen = 1;
    } else {
        printf("object: %s\n", base_name(name));
    }
    walk->count++;
    return 0;
}

static int compare_ints(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

extern char _start[];

int main(void)
{
    const ElfW(Phdr) *phdr = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    unsigned long phnum = getauxval(AT_PHNUM);
    check(phdr != NULL && phnum > 0, "AT_PHDR and AT_PHNUM");
    check(getauxval(AT_PHENT) == sizeof(ElfW(Phdr)), "AT_PHENT");
    check(getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY is _start");
    int loads = 0, has_interp = 0;
    for (unsigned long i = 0; phdr && i < phnum; i++) {
        loads += phdr[i].p_type == PT_LOAD;
        has_interp |= phdr[i].p_type == PT_INTERP;
    }
    check(loads > 0, "program headers readable at AT_PHDR");
    /* AT_BASE is the interpreter's address: set exactly when there is one. */
    check((getauxval(AT_BASE) != 0) == has_interp, "AT_BASE iff PT_INTERP");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN: %s\n", execfn ? base_name(execfn) : "(none)");

    struct walk walk = {0, 0, NULL};
    dl_iterate_phdr(visit, &walk);
    check(walk.main_seen && walk.main_phdr == phdr, "dl_iterate_phdr starts at the program");

    int numbers[] = {5, 3, 9, 1, 7};
    qsort(numbers, 5, sizeof(int), compare_ints);
    printf("sorted: %d %d %d %d %d\n", numbers[0], numbers[1], numbers[2], numbers[3], numbers[4]);
    char buffer[64];
    snprintf(buffer, sizeof(buffer), "%.3f %s", strtod("2.5", NULL) * 3,
             getenv("HOME") ? "home" : "");
    printf("formatted: %s\n", buffer);
    return failures ? 1 : 0;
}
