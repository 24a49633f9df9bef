/*
 * loader/link_map.c — the dynamic loader's list of loaded objects, read
 * from guest memory (glibc's and musl's ld.so both keep the SVR4 r_debug
 * and link_map layout), for debuggers, fault reports and core files.
 */
#include "config.h"
#include "loader/loader.h"
#include "memory/memory.h"

#include <elf.h>
#include <string.h>

#include <glib.h>

/* struct r_debug and struct link_map on x86-64. */
#define R_DEBUG_R_MAP     8
#define LINK_MAP_L_ADDR   0
#define LINK_MAP_L_NAME   8
#define LINK_MAP_L_LD     16
#define LINK_MAP_L_NEXT   24
#define MAX_DYNAMIC_TAGS  4096
#define MAX_LINK_MAP_SIZE 4096
#define MAX_NAME          4096

static bool read_u64(const struct guest_memory *memory, uint64_t address, uint64_t *value)
{
    return guest_read(memory, address, value, sizeof(*value), GUEST_ACCESS_DEBUG) == 0;
}

/* DT_DEBUG of the PT_DYNAMIC at dynamic (ld.so writes r_debug's address there). */
static uint64_t debug_from_dynamic(const struct guest_memory *memory, uint64_t dynamic)
{
    for (uint64_t i = 0; dynamic && i < MAX_DYNAMIC_TAGS; i++) {
        Elf64_Dyn entry;
        if (guest_read(memory, dynamic + i * sizeof(entry), &entry, sizeof(entry),
                       GUEST_ACCESS_DEBUG) != 0 ||
            entry.d_tag == DT_NULL)
            return 0;
        if (entry.d_tag == DT_DEBUG)
            return entry.d_un.d_ptr;
    }
    return 0;
}

static uint64_t find_r_debug(const struct guest_memory *memory, const struct elf_image *program,
                             const struct elf_image *interpreter)
{
    uint64_t address = program ? debug_from_dynamic(memory, program->dynamic_address) : 0;
    if (address)
        return address;
    if (interpreter && interpreter->path && elf_image_lookup(interpreter, "_r_debug", &address))
        return address;
    if (program && elf_image_lookup(program, "_r_debug", &address))
        return address;
    return 0;
}

/* A NUL-terminated string of the guest, at most MAX_NAME bytes, read page
 * by page so that a name near the end of a mapping is still found. */
static char *read_name(const struct guest_memory *memory, uint64_t address)
{
    char buffer[MAX_NAME];
    long length =
        address ? guest_read_string(memory, address, buffer, sizeof(buffer), GUEST_ACCESS_DEBUG)
                : -1;
    return g_strdup(length >= 0 ? buffer : "");
}

size_t loader_read_link_map(const struct guest_memory *memory, const struct elf_image *program,
                            const struct elf_image *interpreter, uint64_t start,
                            struct loader_library **libraries)
{
    *libraries = NULL;
    uint64_t lm = start;
    if (!lm) {
        uint64_t r_debug = find_r_debug(memory, program, interpreter);
        if (!r_debug || !read_u64(memory, r_debug + R_DEBUG_R_MAP, &lm))
            return 0;
    }
    GArray *found = g_array_new(FALSE, FALSE, sizeof(struct loader_library));
    for (size_t count = 0; lm && count < MAX_LINK_MAP_SIZE; count++) {
        struct loader_library library = {.lm = lm};
        uint64_t name_address, next;
        if (!read_u64(memory, lm + LINK_MAP_L_ADDR, &library.l_addr) ||
            !read_u64(memory, lm + LINK_MAP_L_NAME, &name_address) ||
            !read_u64(memory, lm + LINK_MAP_L_LD, &library.l_ld) ||
            !read_u64(memory, lm + LINK_MAP_L_NEXT, &next))
            break;
        library.name = read_name(memory, name_address);
        g_array_append_val(found, library);
        lm = next;
    }
    size_t count = found->len;
    *libraries = (struct loader_library *)g_array_free(found, count == 0);
    return count;
}

void loader_libraries_free(struct loader_library *libraries, size_t count)
{
    for (size_t i = 0; libraries && i < count; i++)
        g_free(libraries[i].name);
    g_free(libraries);
}
