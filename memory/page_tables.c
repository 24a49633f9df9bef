/*
 * memory/page_tables.c — building and editing the monitor's 4-level tables.
 *
 * The tables live in guest RAM, in frames marked as page tables so that no
 * mapping ever hands them to the guest. Leaves are 4 KiB entries, and 2 MiB
 * entries for whole aligned chunks of anonymous memory (page_tables_map_huge:
 * a first touch then costs a shadow-paging KVM one fault per 2 MiB instead of
 * 512), split back into 4 KiB entries before anything edits part of them.
 * Intermediate entries are P|W|U (plus A, so the CPU has no reason to write
 * to them) and permissions are enforced at the leaf.
 */
#include "memory/internal.h"

#include <errno.h>

#define INTERMEDIATE_FLAGS (PTE_PRESENT | PTE_WRITE | PTE_USER | PTE_ACCESSED)

static unsigned level_shift(int level)
{
    return 12 + 9 * (unsigned)(level - 1);
}

static unsigned table_index(uint64_t gva, int level)
{
    return (gva >> level_shift(level)) & (ENTRIES_PER_TABLE - 1);
}

uint64_t *page_table_at(const struct guest_memory *memory, uint64_t gpa)
{
    if (gpa % GUEST_PAGE_SIZE != 0 || gpa >= memory->ram_size ||
        memory->ram_size - gpa < GUEST_PAGE_SIZE)
        return NULL;
    return (uint64_t *)(memory->ram + gpa);
}

uint64_t pte_flags_for_prot(int prot)
{
    /* x86 cannot express write-only or execute-only pages: any access
     * right makes the page present (and so readable). A and D are set in
     * advance so the CPU never writes to the tables. */
    if (!(prot & (GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_EXEC)))
        return 0;
    uint64_t flags = PTE_PRESENT | PTE_ACCESSED | PTE_DIRTY;
    if (prot & GUEST_PROT_WRITE)
        flags |= PTE_WRITE;
    if (prot & GUEST_PROT_USER)
        flags |= PTE_USER;
    if (!(prot & GUEST_PROT_EXEC))
        flags |= PTE_NX;
    return flags;
}

/* Whether entry (at level 2, for the 2 MiB chunk at base) is one of the
 * monitor's own 2 MiB entries, which it can split. */
static bool is_own_huge(const struct guest_memory *memory, uint64_t entry, uint64_t base)
{
    return (entry & PTE_HUGE) && (entry & PTE_OWNED_FRAME) && memory->split_tables &&
           g_hash_table_contains(memory->split_tables, GSIZE_TO_POINTER(base));
}

/* Replaces the 2 MiB entry for base with its table of 512 4 KiB entries
 * (same frames, same rights, same debug traps). */
static void split_huge(struct guest_memory *memory, uint64_t *entry, uint64_t base)
{
    uint64_t table_gpa =
        GPOINTER_TO_SIZE(g_hash_table_lookup(memory->split_tables, GSIZE_TO_POINTER(base)));
    g_hash_table_remove(memory->split_tables, GSIZE_TO_POINTER(base));
    uint64_t *table = page_table_at(memory, table_gpa);
    uint64_t frame = *entry & PTE_ADDRESS_MASK & ~(HUGE_PAGE_SIZE - 1);
    uint64_t flags = *entry & ~PTE_ADDRESS_MASK & ~PTE_HUGE;
    for (int i = 0; i < ENTRIES_PER_TABLE; i++)
        pte_store(&table[i], (frame + (uint64_t)i * GUEST_PAGE_SIZE) | flags);
    pte_store(entry, table_gpa | INTERMEDIATE_FLAGS);
}

bool page_tables_map_huge(struct guest_memory *memory, uint64_t gva, uint64_t frame, uint64_t flags)
{
    uint64_t *table = page_table_at(memory, memory->pml4);
    for (int level = 4; level > 2 && table; level--) {
        uint64_t entry = table[table_index(gva, level)];
        if (!(entry & PTE_PRESENT) || (entry & PTE_HUGE))
            return false;
        table = page_table_at(memory, entry & PTE_ADDRESS_MASK);
    }
    if (!table)
        return false;
    uint64_t *entry = &table[table_index(gva, 2)];
    uint64_t leaf_gpa = *entry & PTE_ADDRESS_MASK;
    const uint64_t *leaf = page_table_at(memory, leaf_gpa);
    if (!(*entry & PTE_PRESENT) || (*entry & PTE_HUGE) || !leaf ||
        !frame_is_table(memory, leaf_gpa / GUEST_PAGE_SIZE))
        return false;
    for (int i = 0; i < ENTRIES_PER_TABLE; i++)
        if (leaf[i] != 0)
            return false;
    if (!memory->split_tables)
        memory->split_tables = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_hash_table_insert(memory->split_tables, GSIZE_TO_POINTER(gva), GSIZE_TO_POINTER(leaf_gpa));
    pte_store(entry, (frame * GUEST_PAGE_SIZE) | flags | PTE_HUGE | PTE_OWNED_FRAME);
    return true;
}

int page_table_slot(struct guest_memory *memory, uint64_t gva, bool create, uint64_t **slot)
{
    uint64_t *table = page_table_at(memory, memory->pml4);

    if (!table)
        return -EFAULT;
    for (int level = 4; level > 1; level--) {
        uint64_t *entry = &table[table_index(gva, level)];
        if (!(*entry & PTE_PRESENT)) {
            if (!create)
                return -ENOENT;
            uint64_t gpa;
            if (!frames_alloc_table(memory, &gpa))
                return -ENOMEM;
            pte_store(entry, gpa | INTERMEDIATE_FLAGS);
        } else if (level == 2 && is_own_huge(memory, *entry, gva & ~(HUGE_PAGE_SIZE - 1))) {
            split_huge(memory, entry, gva & ~(HUGE_PAGE_SIZE - 1));
        } else if (*entry & PTE_HUGE) {
            return -EEXIST;
        }
        table = page_table_at(memory, *entry & PTE_ADDRESS_MASK);
        if (!table)
            return -EFAULT;
    }
    *slot = &table[table_index(gva, 1)];
    return 0;
}

int page_tables_ensure(struct guest_memory *memory, uint64_t start, uint64_t end)
{
    /* One leaf table covers 2 MiB: touch each 2 MiB chunk once. */
    const uint64_t chunk = 1ULL << level_shift(2);
    uint64_t gva = start;

    while (gva < end) {
        uint64_t *slot;
        int ret = page_table_slot(memory, gva, true, &slot);
        if (ret != 0) {
            page_tables_prune(memory, start, end);
            return ret == -ENOMEM ? -ENOMEM : ret;
        }
        uint64_t next = (gva & ~(chunk - 1)) + chunk;
        if (next <= gva) /* wrapped at the top of the address space */
            break;
        gva = next;
    }
    return 0;
}

static bool table_is_empty(const uint64_t *table)
{
    for (int i = 0; i < ENTRIES_PER_TABLE; i++)
        if (table[i] != 0)
            return false;
    return true;
}

/*
 * Visits [first, last] (inclusive, so the top of the address space needs no
 * special case) in the table at table_gpa of the given level, whose entry 0
 * maps table_base. With prune, child tables left empty are freed.
 */
static void visit_table(struct guest_memory *memory, uint64_t table_gpa, int level,
                        uint64_t table_base, uint64_t first, uint64_t last, pte_visitor visit,
                        void *opaque, bool prune)
{
    uint64_t *table = page_table_at(memory, table_gpa);
    if (!table)
        return;
    const uint64_t span = 1ULL << level_shift(level);
    unsigned first_index = table_index(first, level);
    unsigned last_index = table_index(last, level);

    for (unsigned i = first_index; i <= last_index; i++) {
        uint64_t entry_base = table_base + (uint64_t)i * span;
        if (level == 1) {
            if (visit)
                visit(memory, entry_base, &table[i], opaque);
            continue;
        }
        if (level == 2 && is_own_huge(memory, table[i], entry_base))
            split_huge(memory, &table[i], entry_base);
        uint64_t entry = table[i];
        if (!(entry & PTE_PRESENT) || (entry & PTE_HUGE))
            continue;
        uint64_t child_first = first > entry_base ? first : entry_base;
        uint64_t child_last = entry_base + (span - 1);
        if (last < child_last)
            child_last = last;
        uint64_t child_gpa = entry & PTE_ADDRESS_MASK;
        visit_table(memory, child_gpa, level - 1, entry_base, child_first, child_last, visit,
                    opaque, prune);
        if (prune) {
            uint64_t *child = page_table_at(memory, child_gpa);
            if (child && table_is_empty(child) &&
                frame_is_table(memory, child_gpa / GUEST_PAGE_SIZE)) {
                pte_store(&table[i], 0);
                frames_release(memory, child_gpa / GUEST_PAGE_SIZE, 1);
                memory->change_unseen = true;
            }
        }
    }
}

static void visit_range(struct guest_memory *memory, uint64_t start, uint64_t end,
                        pte_visitor visit, void *opaque, bool prune)
{
    if (end <= start)
        return;
    /* The PML4's entry 0 maps 0 in the lower half; in the upper half the
     * index arithmetic works from the sign-extension base. */
    uint64_t base = (start & (1ULL << 47)) ? 0xffff000000000000ULL : 0;
    visit_table(memory, memory->pml4, 4, base, start, end - 1, visit, opaque, prune);
}

void page_tables_visit(struct guest_memory *memory, uint64_t start, uint64_t end, pte_visitor visit,
                       void *opaque)
{
    visit_range(memory, start, end, visit, opaque, false);
}

void page_tables_prune(struct guest_memory *memory, uint64_t start, uint64_t end)
{
    visit_range(memory, start, end, NULL, NULL, true);
}
