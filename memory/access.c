/*
 * memory/access.c — checked access to guest-virtual memory.
 *
 * Every page of every access is translated through the monitor's tables and
 * checked for the permission the access needs, and the frame is checked to
 * lie in RAM: a guest pointer never reaches the host unchecked. Copies go page
 * by page because consecutive virtual pages need not be consecutive frames.
 */
#include "memory/internal.h"

#include <errno.h>
#include <string.h>

static bool access_allowed(const struct guest_walk *walk, enum guest_access access)
{
    switch (access) {
    case GUEST_ACCESS_USER_READ:
        return walk->user;
    case GUEST_ACCESS_USER_WRITE:
        return walk->user && walk->writable;
    case GUEST_ACCESS_DEBUG:
        return true;
    }
    return false;
}

/* What an untouched page of memory backed at first touch reads as, for
 * the monitor's reads: reading does not back it (as Linux's zero page). */
static const uint8_t zero_page[GUEST_PAGE_SIZE] __attribute__((aligned(GUEST_PAGE_SIZE)));

/* An untouched page of memory backed at first touch: backed now for a
 * write (a debugger's too), and when it may be read, read as zeros. NULL
 * when it is not one, or the access is not allowed, or RAM is full (the
 * kernel's copy fails with -EFAULT then, as Linux's does when out of
 * memory). */
static uint8_t *untouched_page(const struct guest_memory *memory, uint64_t gva,
                               enum guest_access access, bool writing, struct guest_walk *walk)
{
    struct guest_memory *mutable = (struct guest_memory *)memory;
    if (!writing)
        return untouched_readable(memory, gva, access != GUEST_ACCESS_DEBUG) ? (uint8_t *)zero_page
                                                                             : NULL;
    MEMORY_LOCKED(mutable);
    if (touch_locked(mutable, gva, access == GUEST_ACCESS_USER_WRITE, false) !=
            GUEST_TOUCH_MAPPED ||
        !guest_walk(memory, memory->pml4, gva, walk))
        return NULL;
    return memory->ram + walk->gpa;
}

/*
 * Host address of gva for access, and how many bytes of its 4 KiB page
 * follow it; NULL when the page is not mapped, not allowed, or not RAM.
 * writing: the caller writes there (an untouched page is backed first).
 */
static uint8_t *translate(const struct guest_memory *memory, uint64_t gva, enum guest_access access,
                          bool writing, uint64_t *in_page)
{
    struct guest_walk walk;

    *in_page = GUEST_PAGE_SIZE - (gva % GUEST_PAGE_SIZE);
    if (!guest_walk(memory, memory->pml4, gva, &walk) && walk.status == GUEST_WALK_NOT_PRESENT &&
        (walk.levels < 4 || walk.entries[3] == 0)) {
        uint8_t *page = untouched_page(memory, gva, access, writing, &walk);
        if (!page || page == zero_page)
            return page ? page + gva % GUEST_PAGE_SIZE : NULL;
    }
    if (walk.status != GUEST_WALK_OK || !access_allowed(&walk, access)) {
        /* A debug trap narrows only what the program sees. The monitor's
         * intermediate entries are always P|W|U, so the leaf decides. */
        uint64_t *slot;
        if (page_table_slot((struct guest_memory *)memory, gva, false, &slot) < 0 ||
            !(*slot & (PTE_TRAPPED_WRITE | PTE_TRAPPED_ACCESS)))
            return NULL;
        uint64_t pte = pte_without_trap(*slot);
        walk.user = (pte & PTE_USER) != 0;
        walk.writable = (pte & PTE_WRITE) != 0;
        walk.gpa = (pte & PTE_ADDRESS_MASK) + (gva & (GUEST_PAGE_SIZE - 1));
        if (!access_allowed(&walk, access) ||
            !guest_phys_to_host(memory, walk.gpa & GUEST_PAGE_MASK, GUEST_PAGE_SIZE))
            return NULL;
    }
    if (writing && walk.executable && memory->code_write_hook)
        memory->code_write_hook(memory->code_write_hook_opaque, walk.gpa & GUEST_PAGE_MASK);
    return memory->ram + walk.gpa;
}

/* Whether host (a page of RAM) is a file's page: the file may have been
 * cut short under it, so it is copied through the kernel (file_copy_*). */
static bool is_file_page(const struct guest_memory *memory, const uint8_t *host)
{
    if (host < memory->ram || host >= memory->ram + memory->ram_size)
        return false; /* the zero page */
    return frame_is_file(memory, (uint64_t)(host - memory->ram) / GUEST_PAGE_SIZE);
}

/* memcpy from a guest page; false when the file no longer has it. */
static bool copy_from_page(const struct guest_memory *memory, void *to, const uint8_t *host,
                           size_t len)
{
    if (is_file_page(memory, host))
        return file_copy(to, host, len);
    memcpy(to, host, len);
    return true;
}

static bool copy_to_page(const struct guest_memory *memory, uint8_t *host, const void *from,
                         size_t len)
{
    if (is_file_page(memory, host))
        return file_copy(host, from, len);
    memcpy(host, from, len);
    return true;
}

/* The range must not wrap around the address space. */
static bool range_is_sane(uint64_t gva, uint64_t len)
{
    return len <= UINT64_MAX - gva;
}

int guest_read(const struct guest_memory *memory, uint64_t gva, void *buf, size_t len,
               enum guest_access access)
{
    uint8_t *out = buf;

    if (len == 0)
        return 0;
    if (!range_is_sane(gva, len))
        return -EFAULT;
    while (len > 0) {
        uint64_t in_page;
        const uint8_t *host = translate(memory, gva, access, false, &in_page);
        if (!host)
            return -EFAULT;
        size_t chunk = len < in_page ? len : in_page;
        if (!copy_from_page(memory, out, host, chunk))
            return -EFAULT;
        out += chunk;
        gva += chunk;
        len -= chunk;
    }
    return 0;
}

int guest_write(struct guest_memory *memory, uint64_t gva, const void *buf, size_t len,
                enum guest_access access)
{
    const uint8_t *in = buf;

    if (len == 0)
        return 0;
    if (!range_is_sane(gva, len))
        return -EFAULT;

    /* Check every page first: a failed write must have written nothing. */
    uint64_t page = gva & GUEST_PAGE_MASK;
    uint64_t last_page = (gva + len - 1) & GUEST_PAGE_MASK;
    for (;;) {
        uint64_t in_page;
        const uint8_t *host = translate(memory, page, access, true, &in_page);
        char byte;
        if (!host || !copy_from_page(memory, &byte, host, 1))
            return -EFAULT;
        if (page == last_page)
            break;
        page += GUEST_PAGE_SIZE;
    }

    while (len > 0) {
        uint64_t in_page;
        uint8_t *host = translate(memory, gva, access, true, &in_page);
        if (!host) /* cannot happen: the tables did not change in between */
            return -EFAULT;
        size_t chunk = len < in_page ? len : in_page;
        if (!copy_to_page(memory, host, in, chunk))
            return -EFAULT; /* the file was cut short just now */
        in += chunk;
        gva += chunk;
        len -= chunk;
    }
    return 0;
}

long guest_read_string(const struct guest_memory *memory, uint64_t gva, char *buf, size_t size,
                       enum guest_access access)
{
    size_t copied = 0;

    if (size == 0)
        return -ENAMETOOLONG;
    /* The string fits when its NUL is among the first size bytes. Only pages
     * up to the NUL are touched: a string may end just before an unmapped
     * page. */
    while (copied < size) {
        if (gva == 0 && copied > 0) /* wrapped around the address space */
            return -EFAULT;
        uint64_t in_page;
        const uint8_t *host = translate(memory, gva, access, false, &in_page);
        if (!host)
            return -EFAULT;
        size_t chunk = size - copied;
        if (chunk > in_page)
            chunk = in_page;
        if (!copy_from_page(memory, buf + copied, host, chunk))
            return -EFAULT;
        const char *nul = memchr(buf + copied, 0, chunk);
        if (nul)
            return (long)(nul - buf);
        copied += chunk;
        gva += chunk;
    }
    buf[size - 1] = '\0';
    return -ENAMETOOLONG;
}

int guest_iovec(const struct guest_memory *memory, uint64_t gva, size_t len,
                enum guest_access access, struct iovec *iov, int max_iov)
{
    int used = 0;
    bool too_many = false;

    if (len == 0)
        return 0;
    if (!range_is_sane(gva, len))
        return -EFAULT;
    while (len > 0) {
        uint64_t in_page;
        /* Host I/O may write through a debugger's or a user write's iovec. */
        uint8_t *host = translate(memory, gva, access, access != GUEST_ACCESS_USER_READ, &in_page);
        if (!host)
            return -EFAULT;
        size_t chunk = len < in_page ? len : in_page;
        if (used > 0 && !too_many &&
            (uint8_t *)iov[used - 1].iov_base + iov[used - 1].iov_len == host) {
            iov[used - 1].iov_len += chunk;
        } else if (used < max_iov && !too_many) {
            iov[used].iov_base = host;
            iov[used].iov_len = chunk;
            used++;
        } else {
            /* Keep checking the rest: -EFAULT wins over -E2BIG. */
            too_many = true;
        }
        gva += chunk;
        len -= chunk;
    }
    return too_many ? -E2BIG : used;
}

int guest_set_trap(struct guest_memory *memory, uint64_t gva, enum guest_trap trap)
{
    MEMORY_LOCKED(memory);
    uint64_t *slot;
    if (!address_is_canonical(gva) || page_table_slot(memory, gva, false, &slot) < 0)
        return -EFAULT;
    uint64_t pte = pte_without_trap(*slot);
    if (!(pte & PTE_PRESENT))
        return -EFAULT;
    enum guest_trap before = guest_get_trap(memory, gva);
    if (trap == GUEST_TRAP_WRITE && (pte & PTE_WRITE))
        pte = (pte & ~PTE_WRITE) | PTE_TRAPPED_WRITE;
    else if (trap == GUEST_TRAP_ACCESS)
        pte = (pte & ~PTE_PRESENT) | PTE_TRAPPED_ACCESS;
    pte_store(slot, pte);
    if (trap > before)
        note_narrowing(memory, false);
    return 0;
}

enum guest_trap guest_get_trap(const struct guest_memory *memory, uint64_t gva)
{
    uint64_t *slot;
    if (!address_is_canonical(gva) ||
        page_table_slot((struct guest_memory *)memory, gva, false, &slot) < 0)
        return GUEST_TRAP_NONE;
    if (*slot & PTE_TRAPPED_ACCESS)
        return GUEST_TRAP_ACCESS;
    if (*slot & PTE_TRAPPED_WRITE)
        return GUEST_TRAP_WRITE;
    return GUEST_TRAP_NONE;
}
