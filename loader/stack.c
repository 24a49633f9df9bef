/*
 * loader/stack.c — the program's initial stack (x86-64 System V ABI).
 *
 * From stack_top down:
 *   8 zero bytes (an end marker, as Linux leaves)
 *   AT_EXECFN string, environment strings, argument strings
 *   "x86_64" (AT_PLATFORM)
 *   16 random bytes (AT_RANDOM), 16-byte aligned
 *   padding to 16 bytes
 *   auxv pairs ... AT_NULL 0
 *   envp[0] ... NULL
 *   argv[0] ... NULL
 *   argc                           <- rsp, 16-byte aligned
 * The whole block is laid out in a host buffer and written with one
 * guest_write, so a failure leaves the guest stack untouched.
 */
#include "config.h"
#include "loader/loader.h"
#include "memory/memory.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/random.h>

#include <glib.h>

#define PLATFORM_STRING "x86_64"
#define RANDOM_BYTES    16
#define STACK_ALIGN     16ULL
/* The end marker at the very top. */
#define END_MARKER_SIZE 8
/* The arguments, the environment and the tables may use at most this part
 * of the stack; the rest is the program's. */
#define STACK_SHARE_DIVISOR 2

static size_t count_strings(const char *const *strings)
{
    size_t count = 0;
    while (strings && strings[count])
        count++;
    return count;
}

/* Adds the sizes of the strings (with their NULs) to *total; false on
 * overflow. */
static bool add_string_sizes(const char *const *strings, size_t count, uint64_t *total)
{
    for (size_t i = 0; i < count; i++)
        if (__builtin_add_overflow(*total, (uint64_t)strlen(strings[i]) + 1, total))
            return false;
    return true;
}

static void fill_random(uint8_t *bytes, size_t length)
{
    ssize_t got = getrandom(bytes, length, GRND_NONBLOCK);
    if (got == (ssize_t)length)
        return;
    /* No entropy yet (early boot) or no getrandom: glib's generator, seeded
     * from /dev/urandom or the time, is good enough for stack canaries. */
    for (size_t i = 0; i < length; i++)
        bytes[i] = (uint8_t)g_random_int();
}

static const char *program_name(const struct elf_image *program,
                                const struct loader_stack_info *info)
{
    if (program && program->path)
        return program->path;
    if (info && info->argv && info->argv[0])
        return info->argv[0];
    return "program";
}

int loader_build_stack(struct guest_memory *memory, const struct elf_image *program,
                       const struct loader_stack_info *info, uint64_t stack_low, uint64_t stack_top,
                       uint64_t *rsp, char **error)
{
    const char *name = program_name(program, info);
    if (!memory || !program || !info || !rsp || stack_low >= stack_top ||
        stack_top % STACK_ALIGN != 0) {
        if (error)
            *error = g_strdup_printf("%s: invalid initial stack [%#" PRIx64 ", %#" PRIx64 ")", name,
                                     stack_low, stack_top);
        return -EINVAL;
    }

    size_t argc = count_strings(info->argv);
    size_t envc = count_strings(info->envp);
    const char *execfn = info->execfn ? info->execfn : (argc ? info->argv[0] : program->path);
    if (!execfn)
        execfn = "";

    /* Sizes first, overflow-checked: the strings come from the user. */
    uint64_t string_bytes = strlen(execfn) + 1;
    bool too_big = !add_string_sizes(info->argv, argc, &string_bytes) ||
                   !add_string_sizes(info->envp, envc, &string_bytes);
    enum { AUXV_PAIRS = 21 };
    uint64_t pointer_count = 1 + (uint64_t)argc + 1 + (uint64_t)envc + 1 + 2 * AUXV_PAIRS;
    uint64_t strings_end = END_MARKER_SIZE;
    uint64_t table_bytes = 0, used = 0;
    too_big = too_big || __builtin_add_overflow(strings_end, string_bytes, &strings_end) ||
              __builtin_mul_overflow(pointer_count, (uint64_t)sizeof(uint64_t), &table_bytes);
    /* Offsets below stack_top: [strings_end + platform] then random, then
     * the table, aligned. */
    uint64_t platform_offset = 0, random_offset = 0, table_offset = 0;
    if (!too_big) {
        platform_offset = strings_end + sizeof(PLATFORM_STRING);
        random_offset = (platform_offset + RANDOM_BYTES + STACK_ALIGN - 1) & ~(STACK_ALIGN - 1);
        too_big = __builtin_add_overflow(random_offset, table_bytes, &table_offset) ||
                  table_offset > UINT64_MAX - STACK_ALIGN;
        if (!too_big)
            table_offset = (table_offset + STACK_ALIGN - 1) & ~(STACK_ALIGN - 1);
        used = table_offset;
    }
    uint64_t allowed = (stack_top - stack_low) / STACK_SHARE_DIVISOR;
    if (too_big || used > allowed) {
        if (error)
            *error = g_strdup_printf(
                "%s: the arguments and environment (%zu arguments, %zu variables, %" PRIu64
                " KiB) do not fit in the %" PRIu64 " KiB stack; pass fewer or shorter ones, "
                "or give the guest more memory with -m",
                name, argc, envc, too_big ? UINT64_MAX >> 10 : used >> 10,
                (stack_top - stack_low) >> 10);
        return -E2BIG;
    }

    /* The block, laid out in host memory: block[0] is at guest address
     * stack_top - used, which is rsp. */
    uint64_t base = stack_top - used;
    uint8_t *block = g_malloc0(used);
    uint64_t *table = (uint64_t *)block;
    size_t slot = 0;

    /* Strings, from the top down: execfn, then the environment, then the
     * arguments, so argv[0] ends up lowest, as Linux places them. */
    uint64_t cursor = used - END_MARKER_SIZE;
    cursor -= strlen(execfn) + 1;
    memcpy(block + cursor, execfn, strlen(execfn) + 1);
    uint64_t execfn_address = base + cursor;

    table[slot++] = argc;
    uint64_t argv_slot = slot;
    slot += argc + 1;
    uint64_t envp_slot = slot;
    slot += envc + 1;
    for (size_t i = envc; i-- > 0;) {
        size_t size = strlen(info->envp[i]) + 1;
        cursor -= size;
        memcpy(block + cursor, info->envp[i], size);
        table[envp_slot + i] = base + cursor;
    }
    for (size_t i = argc; i-- > 0;) {
        size_t size = strlen(info->argv[i]) + 1;
        cursor -= size;
        memcpy(block + cursor, info->argv[i], size);
        table[argv_slot + i] = base + cursor;
    }
    table[argv_slot + argc] = 0;
    table[envp_slot + envc] = 0;

    uint64_t platform_address = base + (used - platform_offset);
    memcpy(block + (used - platform_offset), PLATFORM_STRING, sizeof(PLATFORM_STRING));
    uint64_t random_address = base + (used - random_offset);
    fill_random(block + (used - random_offset), RANDOM_BYTES);

    const uint64_t auxv[AUXV_PAIRS][2] = {
        {AT_PHDR, program->phdr_address},
        {AT_PHENT, program->phent},
        {AT_PHNUM, program->phnum},
        {AT_PAGESZ, GUEST_PAGE_SIZE},
        {AT_BASE, info->base},
        {AT_FLAGS, 0},
        {AT_ENTRY, program->entry},
        {AT_UID, info->uid},
        {AT_EUID, info->euid},
        {AT_GID, info->gid},
        {AT_EGID, info->egid},
        {AT_SECURE, 0},
        {AT_RANDOM, random_address},
        {AT_HWCAP, info->hwcap},
        {AT_HWCAP2, info->hwcap2},
        {AT_MINSIGSTKSZ, info->minsigstksz},
        {AT_CLKTCK, 100},
        {AT_PLATFORM, platform_address},
        {AT_EXECFN, execfn_address},
        {info->sysinfo_ehdr ? AT_SYSINFO_EHDR : AT_IGNORE, info->sysinfo_ehdr},
        {AT_NULL, 0},
    };
    memcpy(&table[slot], auxv, sizeof(auxv));

    int result = guest_write(memory, base, block, used, GUEST_ACCESS_USER_WRITE);
    g_free(block);
    if (result < 0) {
        if (error)
            *error = g_strdup_printf("%s: cannot write the initial stack at [%#" PRIx64
                                     ", %#" PRIx64 "): not mapped writable for the program",
                                     name, base, stack_top);
        return -EFAULT;
    }
    *rsp = base;
    return 0;
}
