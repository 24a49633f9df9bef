/*
 * memory/page_walk.c — the software page walker.
 *
 * Reads tables as the CPU would, but from the host's view of guest RAM and
 * with every table address bounds-checked: entries are data the guest could
 * have written, so they are never trusted to point inside RAM.
 */
#include "memory/internal.h"

#include <string.h>

const char *guest_walk_status_string(enum guest_walk_status status)
{
    switch (status) {
    case GUEST_WALK_OK:
        return "mapped";
    case GUEST_WALK_NON_CANONICAL:
        return "non-canonical address";
    case GUEST_WALK_NOT_PRESENT:
        return "not present";
    case GUEST_WALK_RESERVED_BIT:
        return "reserved bit set in a page-table entry";
    case GUEST_WALK_TABLE_OUTSIDE:
        return "page table or frame outside RAM";
    }
    return "unknown walk status";
}

static bool finish(struct guest_walk *walk, enum guest_walk_status status)
{
    walk->status = status;
    return status == GUEST_WALK_OK;
}

bool guest_walk(const struct guest_memory *memory, uint64_t cr3, uint64_t gva,
                struct guest_walk *walk)
{
    memset(walk, 0, sizeof(*walk));
    walk->writable = walk->user = walk->executable = true;
    if (!address_is_canonical(gva))
        return finish(walk, GUEST_WALK_NON_CANONICAL);

    /* CR3's low bits are PCD/PWT or a PCID, not part of the address. */
    uint64_t table_gpa = cr3 & PTE_ADDRESS_MASK;
    for (int level = 4; level >= 1; level--) {
        const uint64_t *table = page_table_at(memory, table_gpa);
        if (!table)
            return finish(walk, GUEST_WALK_TABLE_OUTSIDE);
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        /* A vCPU may set A/D bits concurrently: read the entry once, whole. */
        uint64_t entry = __atomic_load_n(&table[(gva >> shift) & 511], __ATOMIC_RELAXED);
        walk->entries[walk->levels++] = entry;
        if (!(entry & PTE_PRESENT))
            return finish(walk, GUEST_WALK_NOT_PRESENT);
        walk->writable = walk->writable && (entry & PTE_WRITE);
        walk->user = walk->user && (entry & PTE_USER);
        walk->executable = walk->executable && !(entry & PTE_NX);

        /* Bit 7 is PS in a PDPTE or PDE, PAT in a PTE, reserved in a PML4E. */
        bool huge = level > 1 && (entry & PTE_HUGE);
        if (level == 4 && (entry & PTE_HUGE))
            return finish(walk, GUEST_WALK_RESERVED_BIT);
        if (level == 1 || huge) {
            uint64_t page_size = 1ULL << shift;
            uint64_t frame = entry & PTE_ADDRESS_MASK;
            if (huge) {
                /* Bit 12 is the large page's PAT bit; the bits between it and
                 * the page size are reserved. */
                uint64_t reserved = (page_size - 1) & ~((1ULL << 13) - 1);
                if (frame & reserved)
                    return finish(walk, GUEST_WALK_RESERVED_BIT);
                frame &= ~(page_size - 1);
            }
            walk->page_size = page_size;
            walk->gpa = frame | (gva & (page_size - 1));
            uint64_t page = walk->gpa & GUEST_PAGE_MASK;
            if (page >= memory->ram_size || memory->ram_size - page < GUEST_PAGE_SIZE)
                return finish(walk, GUEST_WALK_TABLE_OUTSIDE);
            return finish(walk, GUEST_WALK_OK);
        }
        table_gpa = entry & PTE_ADDRESS_MASK;
    }
    return finish(walk, GUEST_WALK_NOT_PRESENT); /* not reached: level 1 always ends */
}

bool guest_fault_resolved(const struct guest_memory *memory, uint64_t gva, bool write, bool fetch)
{
    struct guest_walk walk;
    return guest_walk(memory, memory->pml4, gva, &walk) && walk.user && (walk.writable || !write) &&
           (walk.executable || !fetch);
}
