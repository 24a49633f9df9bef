/* loader/stack.c — the program's initial stack (x86-64 System V ABI). */
#include "config.h"
#include "loader/loader.h"
#include "memory/memory.h"

#include <elf.h>
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/random.h>

#define AUXV_ENTRIES 20

/* Writes bytes just below *top (moving *top down); false when it would go
 * below floor. */
static bool push_bytes(struct guest_memory *memory, uint64_t *top, uint64_t floor,
                       const void *bytes, size_t length, uint64_t *address)
{
    if (*top - floor < length)
        return false;
    *top -= length;
    if (guest_write(memory, *top, bytes, length, GUEST_ACCESS_USER_WRITE) < 0)
        return false;
    *address = *top;
    return true;
}

static size_t count_strings(const char *const *strings)
{
    size_t count = 0;
    while (strings && strings[count])
        count++;
    return count;
}

int loader_build_stack(struct guest_memory *memory, const struct elf_image *program,
                       const struct loader_stack_info *info, uint64_t stack_low, uint64_t stack_top,
                       uint64_t *rsp, char **error)
{
    size_t argc = count_strings(info->argv);
    size_t envc = count_strings(info->envp);
    /* As Linux, arguments and environment may use a quarter of the stack. */
    uint64_t floor = stack_top - (stack_top - stack_low) / 4;
    uint64_t top = stack_top;
    uint64_t random_address, platform_address, execfn_address;

    uint8_t random_bytes[16];
    if (getrandom(random_bytes, sizeof(random_bytes), 0) != (ssize_t)sizeof(random_bytes)) {
        for (size_t i = 0; i < sizeof(random_bytes); i++)
            random_bytes[i] = (uint8_t)g_random_int();
    }
    uint64_t *pointers = g_new0(uint64_t, argc + envc + 3 + 2 * AUXV_ENTRIES);
    bool fits =
        push_bytes(memory, &top, floor, random_bytes, sizeof(random_bytes), &random_address) &&
        push_bytes(memory, &top, floor, "x86_64", 7, &platform_address) &&
        push_bytes(memory, &top, floor, info->execfn, strlen(info->execfn) + 1, &execfn_address);
    /* Strings go highest first, so argv[0] ends up lowest, as Linux does. */
    for (size_t i = envc; fits && i-- > 0;)
        fits = push_bytes(memory, &top, floor, info->envp[i], strlen(info->envp[i]) + 1,
                          &pointers[1 + argc + 1 + i]);
    for (size_t i = argc; fits && i-- > 0;)
        fits = push_bytes(memory, &top, floor, info->argv[i], strlen(info->argv[i]) + 1,
                          &pointers[1 + i]);
    if (!fits) {
        g_free(pointers);
        *error = g_strdup_printf("the program's arguments and environment do not fit in its "
                                 "%llu KiB stack; give fewer or more memory with -m",
                                 (unsigned long long)((stack_top - stack_low) >> 10));
        return -E2BIG;
    }

    size_t slot = 0;
    pointers[slot++] = argc;
    slot += argc;
    pointers[slot++] = 0;
    slot += envc;
    pointers[slot++] = 0;
    const uint64_t auxv[][2] = {
        {AT_PHDR, program->phdr_address},
        {AT_PHENT, program->phent},
        {AT_PHNUM, program->phnum},
        {AT_PAGESZ, GUEST_PAGE_SIZE},
        {AT_BASE, 0},
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
        {AT_CLKTCK, 100},
        {AT_PLATFORM, platform_address},
        {AT_EXECFN, execfn_address},
        {AT_NULL, 0},
    };
    G_STATIC_ASSERT(G_N_ELEMENTS(auxv) <= AUXV_ENTRIES);
    for (size_t i = 0; i < G_N_ELEMENTS(auxv); i++) {
        pointers[slot++] = auxv[i][0];
        pointers[slot++] = auxv[i][1];
    }

    size_t table_size = slot * sizeof(uint64_t);
    uint64_t table = (top - table_size) & ~15ULL;
    int result = -E2BIG;
    if (table >= floor && top >= table_size)
        result = guest_write(memory, table, pointers, table_size, GUEST_ACCESS_USER_WRITE);
    g_free(pointers);
    if (result < 0) {
        *error = g_strdup("the program's arguments and environment do not fit in its stack; "
                          "give fewer or more memory with -m");
        return result == -EFAULT ? -EFAULT : -E2BIG;
    }
    *rsp = table;
    return 0;
}
