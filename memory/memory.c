/*
 * memory/memory.c — guest RAM, the region map, and the mapping operations
 * that keep the map and the monitor's page tables in step.
 *
 * Every mapping operation validates everything and makes sure every
 * resource it needs exists (tables, frames) before it changes a page-table
 * entry or the region list, so that a failed call leaves the map unchanged.
 */
#include "memory/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <glib.h>

/* RAM above this would not fit the frame bitmaps' purpose here and exceeds
 * any sensible VM of this monitor (and every host's physical-address width
 * is at least this). */
#define MAX_RAM_SIZE (1ULL << 46)

/* The address after which nothing can be mapped: canonical addresses of the
 * lower half end here. */
#define LOWER_HALF_END     (1ULL << 47)
#define UPPER_HALF_START   0xffff800000000000ULL
#define VALID_PROT_BITS    (GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_EXEC | GUEST_PROT_USER)
#define PHYS_ADDRESS_LIMIT (PTE_ADDRESS_MASK + GUEST_PAGE_SIZE)

/* Linux's default vm.max_map_count, used when the host's cannot be read. */
#define DEFAULT_MAP_LIMIT 65530

/* ---- RAM ---------------------------------------------------------------- */

/* Guest RAM, 2 MiB-aligned in the host so that the host's huge pages line up
 * with the guest's 2 MiB pages (KVM maps a guest huge page with a huge
 * translation only then). Host huge pages only where the guest has one
 * (frames_alloc_huge asks for them): elsewhere the first touch of a 4 KiB
 * frame would clear 2 MiB, and a small program touches a dozen such blocks
 * (kernel, image, stack, page tables), 1.7 ms of a 12 ms start-up. */
static void *map_ram(uint64_t ram_size)
{
    uint64_t slack = HUGE_PAGE_SIZE;
    uint8_t *mapping = mmap(NULL, ram_size + slack, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED)
        return MAP_FAILED;
    uint64_t head = (HUGE_PAGE_SIZE - (uintptr_t)mapping % HUGE_PAGE_SIZE) % HUGE_PAGE_SIZE;
    if (head)
        munmap(mapping, head);
    if (slack - head)
        munmap(mapping + head + ram_size, slack - head);
    /* Where the host gives them unasked (THP "always"). */
    madvise(mapping + head, ram_size, MADV_NOHUGEPAGE);
    return mapping + head;
}

/* The host's vm.max_map_count, so that a program meets the limit it would
 * meet natively; read once (the monitor may be sandboxed later). */
static size_t host_map_limit(void)
{
    static size_t limit;
    if (limit == 0) {
        gchar *text = NULL;
        guint64 value = 0;
        if (g_file_get_contents("/proc/sys/vm/max_map_count", &text, NULL, NULL))
            value = g_ascii_strtoull(text, NULL, 10);
        g_free(text);
        limit = value > 0 && value < G_MAXINT ? (size_t)value : DEFAULT_MAP_LIMIT;
    }
    return limit;
}

struct guest_memory *guest_memory_create(uint64_t ram_size, char **error)
{
    if (ram_size == 0 || ram_size > MAX_RAM_SIZE) {
        if (error)
            *error = g_strdup_printf("guest RAM size %" G_GUINT64_FORMAT
                                     " is out of range (1 byte to %llu GiB)",
                                     ram_size, MAX_RAM_SIZE >> 30);
        return NULL;
    }
    ram_size = (ram_size + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;

    struct guest_memory *memory = g_new0(struct guest_memory, 1);
    g_rec_mutex_init(&memory->lock);
    memory->ram_size = ram_size;
    memory->frame_count = ram_size / GUEST_PAGE_SIZE;
    memory->map_limit = host_map_limit();
    /* NORESERVE: the guest rarely touches all of its RAM; pages are
     * populated on first touch. */
    void *ram = map_ram(ram_size);
    if (ram == MAP_FAILED) {
        if (error)
            *error = g_strdup_printf("cannot map %" G_GUINT64_FORMAT " bytes of guest RAM: %s",
                                     ram_size, g_strerror(errno));
        g_rec_mutex_clear(&memory->lock);
        g_free(memory);
        return NULL;
    }
    memory->ram = ram;
    if (!frames_init(memory, error)) {
        munmap(memory->ram, ram_size);
        g_rec_mutex_clear(&memory->lock);
        g_free(memory);
        return NULL;
    }
    if (!frames_alloc_table(memory, &memory->pml4)) {
        if (error)
            *error = g_strdup("no frame left for the PML4");
        guest_memory_destroy(memory);
        return NULL;
    }
    return memory;
}

void guest_memory_destroy(struct guest_memory *memory)
{
    if (!memory)
        return;
    if (memory->ram)
        munmap(memory->ram, memory->ram_size);
    frames_fini(memory);
    regions_clear(memory);
    if (memory->split_tables)
        g_hash_table_destroy(memory->split_tables);
    file_fds_close(memory);
    g_rec_mutex_clear(&memory->lock);
    g_free(memory);
}

void *guest_memory_host_base(const struct guest_memory *memory)
{
    return memory->ram;
}

uint64_t guest_memory_ram_size(const struct guest_memory *memory)
{
    return memory->ram_size;
}

uint64_t guest_memory_cr3(const struct guest_memory *memory)
{
    return memory->pml4;
}

void *guest_phys_to_host(const struct guest_memory *memory, uint64_t gpa, uint64_t len)
{
    if (gpa > memory->ram_size || len > memory->ram_size - gpa)
        return NULL;
    return memory->ram + gpa;
}

uint64_t guest_memory_generation(const struct guest_memory *memory)
{
    return __atomic_load_n(&memory->generation, __ATOMIC_ACQUIRE);
}

uint64_t guest_memory_unseen_generation(const struct guest_memory *memory)
{
    return __atomic_load_n(&memory->unseen_generation, __ATOMIC_ACQUIRE);
}

/* ---- the region list ---------------------------------------------------- */

static bool range_is_free(const struct guest_memory *memory, uint64_t start, uint64_t end)
{
    const struct region_node *node = regions_first_ending_after(memory, start);
    return !node || node->entry.region.start >= end;
}

/* Whether address lies strictly inside a region (a change there splits it). */
static bool splits_region(const struct guest_memory *memory, uint64_t address)
{
    const struct region_node *node = regions_first_ending_after(memory, address);
    return node && node->entry.region.start < address;
}

/* Splits the region containing address in two at address (if it is inside). */
static void region_split(struct guest_memory *memory, uint64_t address)
{
    struct region_node *node = regions_first_ending_after(memory, address);
    if (!node || node->entry.region.start >= address)
        return;
    struct region_entry upper = node->entry;
    upper.region.start = address;
    if (upper.backing == BACKING_PHYSICAL)
        upper.phys_start += address - node->entry.region.start;
    if (upper.file.ino)
        upper.file.offset += address - node->entry.region.start;
    if (upper.shown.ino)
        upper.shown.offset += address - node->entry.region.start;
    node->entry.region.end = address;
    regions_changed(memory, node);
    regions_insert(memory, &upper);
}

static bool regions_can_merge(const struct region_entry *a, const struct region_entry *b)
{
    return a->region.end == b->region.start && a->region.prot == b->region.prot &&
           a->region.kind == b->region.kind && a->backing == b->backing &&
           strcmp(a->region.name, b->region.name) == 0 && a->file.dev == b->file.dev &&
           a->file.ino == b->file.ino && a->file.map_flags == b->file.map_flags &&
           (!a->file.ino || a->file.offset + (a->region.end - a->region.start) == b->file.offset) &&
           a->shown.dev == b->shown.dev && a->shown.ino == b->shown.ino &&
           (!a->shown.ino ||
            a->shown.offset + (a->region.end - a->region.start) == b->shown.offset) &&
           (a->backing != BACKING_PHYSICAL ||
            a->phys_start + (a->region.end - a->region.start) == b->phys_start);
}

/* Joins the neighbours that differ in nothing among the regions touching
 * [start, end], so repeated mprotect or brk calls do not grow the map
 * without bound. Costs O(log n) per region there, never a walk of the map. */
static void regions_merge_around(struct guest_memory *memory, uint64_t start, uint64_t end)
{
    struct region_node *node = regions_first_ending_after(memory, start);
    node = !node ? memory->region_last : node->prev ? node->prev : node;
    while (node && node->next && node->next->entry.region.start <= end) {
        if (!regions_can_merge(&node->entry, &node->next->entry)) {
            node = node->next;
            continue;
        }
        uint64_t joined_end = node->next->entry.region.end;
        regions_delete(memory, node->next);
        node->entry.region.end = joined_end;
        regions_changed(memory, node);
    }
}

/* The regions of [start, end) after splitting at both ends. */
static struct region_node *region_first_in(const struct guest_memory *memory, uint64_t start,
                                           uint64_t end)
{
    struct region_node *node = regions_first_ending_after(memory, start);
    return node && node->entry.region.start < end ? node : NULL;
}

static struct region_entry make_region(uint64_t start, uint64_t end, int prot,
                                       enum guest_region_kind kind, const char *name,
                                       enum region_backing backing, uint64_t phys_start)
{
    struct region_entry entry;

    memset(&entry, 0, sizeof(entry));
    entry.region.start = start;
    entry.region.end = end;
    entry.region.prot = prot;
    entry.region.kind = kind;
    g_strlcpy(entry.region.name, name ? name : "", sizeof(entry.region.name));
    entry.backing = backing;
    entry.phys_start = phys_start;
    return entry;
}

static void region_add(struct guest_memory *memory, const struct region_entry *entry)
{
    regions_insert(memory, entry);
    regions_merge_around(memory, entry->region.start, entry->region.end);
}

/* Linux refuses a new mapping once the process has more than
 * vm.max_map_count of them (mmap, brk: "map_count > max"). */
static bool map_limit_reached(const struct guest_memory *memory, enum guest_region_kind kind)
{
    bool counted = kind == GUEST_REGION_PROGRAM || kind == GUEST_REGION_HEAP ||
                   kind == GUEST_REGION_MMAP || kind == GUEST_REGION_STACK;
    return counted && memory->map_limit && memory->map_count > memory->map_limit;
}

/* And a change that must split `splits` mappings needs that many below the
 * limit (each split: "map_count >= max" fails). */
static bool splits_exceed_limit(const struct guest_memory *memory, size_t splits)
{
    return splits > 0 && memory->map_limit && memory->map_count + splits > memory->map_limit;
}

const struct guest_region *guest_region_lookup(const struct guest_memory *memory, uint64_t address)
{
    const struct region_node *node = regions_first_ending_after(memory, address);
    if (!node || node->entry.region.start > address)
        return NULL;
    return &node->entry.region;
}

bool guest_fault_in_mapping(const struct guest_memory *memory, uint64_t address)
{
    const struct guest_region *region = guest_region_lookup(memory, address);
    return region && region_kind_is_program(region->kind);
}

void guest_region_foreach(const struct guest_memory *memory,
                          bool (*visit)(const struct guest_region *region, void *opaque),
                          void *opaque)
{
    for (const struct region_node *node = memory->region_first; node; node = node->next)
        if (!visit(&node->entry.region, opaque))
            return;
}

void guest_region_foreach_from(const struct guest_memory *memory, uint64_t address,
                               bool (*visit)(const struct guest_region *region, void *opaque),
                               void *opaque)
{
    for (const struct region_node *node = regions_first_ending_after(memory, address); node;
         node = node->next)
        if (!visit(&node->entry.region, opaque))
            return;
}

size_t guest_memory_map_count(const struct guest_memory *memory)
{
    return memory->map_count;
}

void guest_memory_set_map_limit(struct guest_memory *memory, size_t limit)
{
    memory->map_limit = limit;
}

/* ---- argument checks ---------------------------------------------------- */

/* Page aligned, non-zero, not wrapping, and wholly canonical (so within one
 * half of the address space). */
static int check_range(uint64_t start, uint64_t len)
{
    if (len == 0 || start % GUEST_PAGE_SIZE != 0 || len % GUEST_PAGE_SIZE != 0)
        return -EINVAL;
    if (len > UINT64_MAX - start)
        return -EINVAL;
    uint64_t last = start + len - 1;
    if (!address_is_canonical(start) || !address_is_canonical(last) || (start ^ last) >> 63)
        return -EINVAL;
    return 0;
}

static bool prot_is_valid(int prot)
{
    return (prot & ~VALID_PROT_BITS) == 0;
}

/* ---- filling page-table entries ---------------------------------------- */

/* Points [start, start + count pages) at frame..frame + count - 1. The
 * tables must exist already. */
static void set_leaves(struct guest_memory *memory, uint64_t start, uint64_t frame_gpa,
                       uint64_t count, uint64_t flags)
{
    for (uint64_t i = 0; i < count; i++) {
        uint64_t *slot;
        if (page_table_slot(memory, start + i * GUEST_PAGE_SIZE, false, &slot) != 0)
            g_error("memory: page table vanished while mapping"); /* a bug here */
        pte_store(slot, (frame_gpa + i * GUEST_PAGE_SIZE) | flags);
    }
}

/* The frame of the page at gva when a mapping owns one there (read with a
 * walk: page_table_slot would split a 2 MiB page to answer). */
static bool owned_frame_at(struct guest_memory *memory, uint64_t gva, uint64_t *frame)
{
    struct guest_walk walk;
    if (!guest_walk(memory, memory->pml4, gva, &walk) ||
        !(walk.entries[walk.levels - 1] & PTE_OWNED_FRAME))
        return false;
    *frame = walk.gpa / GUEST_PAGE_SIZE;
    return true;
}

/*
 * Picks frames for [start, start + pages) that continue the frames of the
 * neighbouring pages, so that a mapping which grows page by page (brk) or a
 * run of mmaps placed one below the other stays one range of contiguous
 * frames: an accelerator that maps host memory by range (tcg's Unicorn)
 * then needs one range for it, not one per page. A heap grows upwards and
 * the allocator works top-down, so heap frames come from the bottom of
 * free memory, where the frames above them stay free for the next step.
 */
static bool alloc_next_to_neighbours(struct guest_memory *memory, uint64_t start, uint64_t pages,
                                     enum guest_region_kind kind, uint64_t *first)
{
    uint64_t below, above;
    if (start >= GUEST_PAGE_SIZE && owned_frame_at(memory, start - GUEST_PAGE_SIZE, &below) &&
        frames_alloc_at(memory, below + 1, pages)) {
        *first = below + 1;
        return true;
    }
    if (owned_frame_at(memory, start + pages * GUEST_PAGE_SIZE, &above) && above >= pages &&
        frames_alloc_at(memory, above - pages, pages)) {
        *first = above - pages;
        return true;
    }
    if (kind == GUEST_REGION_HEAP &&
        frames_alloc_low(memory, pages, memory->heap_frame_hint, first)) {
        memory->heap_frame_hint = *first + pages;
        return true;
    }
    return false;
}

/*
 * Gives [start, start + pages) fresh zeroed frames, in runs as long as the
 * allocator has them. The tables must exist and frames_free >= pages.
 */
static void populate_small(struct guest_memory *memory, uint64_t start, uint64_t pages,
                           uint64_t flags, enum guest_region_kind kind)
{
    uint64_t run = pages, first;

    if (alloc_next_to_neighbours(memory, start, pages, kind, &first)) {
        set_leaves(memory, start, first * GUEST_PAGE_SIZE, pages, flags | PTE_OWNED_FRAME);
        return;
    }
    while (pages > 0) {
        uint64_t frame_gpa;
        if (run > pages)
            run = pages;
        if (!guest_frames_alloc(memory, run, &frame_gpa)) {
            /* No run that long: halve. Runs of 1 always succeed here. */
            run = run > 1 ? run / 2 : 1;
            continue;
        }
        set_leaves(memory, start, frame_gpa, run, flags | PTE_OWNED_FRAME);
        start += run * GUEST_PAGE_SIZE;
        pages -= run;
    }
}

/* Anonymous memory a program maps itself (not the kernel's, the program's
 * image or a device) may use 2 MiB pages. */
static bool may_be_huge(enum guest_region_kind kind)
{
    return kind == GUEST_REGION_MMAP || kind == GUEST_REGION_HEAP || kind == GUEST_REGION_STACK;
}

/* populate_small, but every whole 2 MiB-aligned chunk gets a 2 MiB page where
 * 512 aligned free frames exist: a shadow-paging KVM then takes one fault per
 * 2 MiB at first touch, not 512 (the host backs guest RAM with huge pages). */
static void populate(struct guest_memory *memory, uint64_t start, uint64_t pages, uint64_t flags,
                     enum guest_region_kind kind)
{
    uint64_t end = start + pages * GUEST_PAGE_SIZE;
    uint64_t chunk = (start + HUGE_PAGE_SIZE - 1) & ~(HUGE_PAGE_SIZE - 1);
    if (!may_be_huge(kind) || chunk < start || chunk >= end || end - chunk < HUGE_PAGE_SIZE) {
        populate_small(memory, start, pages, flags, kind);
        return;
    }
    if (chunk > start)
        populate_small(memory, start, (chunk - start) / GUEST_PAGE_SIZE, flags, kind);
    for (; end - chunk >= HUGE_PAGE_SIZE; chunk += HUGE_PAGE_SIZE) {
        uint64_t first;
        if (memory->frames_free < pages || !frames_alloc_huge(memory, &first)) {
            populate_small(memory, chunk, FRAMES_PER_HUGE, flags, kind);
            continue;
        }
        if (!page_tables_map_huge(memory, chunk, first, flags)) {
            guest_frames_free(memory, first * GUEST_PAGE_SIZE, FRAMES_PER_HUGE);
            populate_small(memory, chunk, FRAMES_PER_HUGE, flags, kind);
        }
    }
    if (chunk < end)
        populate_small(memory, chunk, (end - chunk) / GUEST_PAGE_SIZE, flags, kind);
}

struct protect_state {
    uint64_t flags;
    uint64_t nonzero; /* leaves that hold something */
    bool narrowed;
};

static void count_leaf(struct guest_memory *memory, uint64_t gva, uint64_t *pte, void *opaque)
{
    struct protect_state *state = opaque;
    (void)memory;
    (void)gva;
    if (*pte != 0)
        state->nonzero++;
}

/*
 * Gives every empty leaf of [start, end) a fresh frame, one populate() call
 * per run of them, so runs get contiguous frames where possible; 2 MiB
 * pages only when huge. The tables must exist and enough frames be free.
 */
static void fill_empty_leaves(struct guest_memory *memory, uint64_t start, uint64_t end,
                              uint64_t flags, enum guest_region_kind kind, bool huge)
{
    uint64_t run_start = 0, run_pages = 0;
    for (uint64_t gva = start;; gva += GUEST_PAGE_SIZE) {
        uint64_t *slot = NULL;
        if (gva < end && page_table_slot(memory, gva, false, &slot) != 0)
            g_error("memory: page table vanished while populating"); /* a bug here */
        if (gva < end && *slot == 0) {
            if (run_pages == 0)
                run_start = gva;
            run_pages++;
            continue;
        }
        if (run_pages > 0 && huge)
            populate(memory, run_start, run_pages, flags, kind);
        else if (run_pages > 0)
            populate_small(memory, run_start, run_pages, flags, kind);
        run_pages = 0;
        if (gva >= end)
            return;
    }
}

/* Calls fn on the part of every region overlapping [start, end). */
static void for_each_region_part(struct guest_memory *memory, uint64_t start, uint64_t end,
                                 void (*fn)(struct guest_memory *memory,
                                            const struct region_entry *entry, uint64_t start,
                                            uint64_t end, void *opaque),
                                 void *opaque)
{
    for (const struct region_node *node = region_first_in(memory, start, end);
         node && node->entry.region.start < end; node = node->next) {
        const struct region_entry *entry = &node->entry;
        uint64_t part_start = entry->region.start > start ? entry->region.start : start;
        uint64_t part_end = entry->region.end < end ? entry->region.end : end;
        fn(memory, entry, part_start, part_end, opaque);
    }
}

/* ---- first touch ----------------------------------------------------------- */

/* The program's own anonymous mappings (heap, stack, mmap areas, not file
 * mappings) get their frames when a page is first touched, as Linux's do:
 * mapping them costs no frame and no page table, so address space can be
 * reserved far beyond RAM. An empty leaf in one is an untouched page. */
static bool region_is_lazy(const struct region_entry *entry)
{
    return entry->backing == BACKING_ANONYMOUS && entry->file.ino == 0 &&
           may_be_huge(entry->region.kind);
}

/* The lazy region holding gva whose page there is untouched, or NULL. */
static const struct region_entry *untouched_region(const struct guest_memory *memory, uint64_t gva)
{
    if (!address_is_canonical(gva))
        return NULL;
    const struct region_node *node = regions_first_ending_after(memory, gva);
    if (!node || node->entry.region.start > gva || !region_is_lazy(&node->entry))
        return NULL;
    /* A walk, not page_table_slot: it must not split a 2 MiB page. */
    struct guest_walk walk;
    guest_walk(memory, memory->pml4, gva, &walk);
    bool empty = walk.status == GUEST_WALK_NOT_PRESENT && (walk.levels < 4 || walk.entries[3] == 0);
    return empty ? &node->entry : NULL;
}

bool untouched_readable(const struct guest_memory *memory, uint64_t gva, bool user)
{
    MEMORY_LOCKED(memory);
    const struct region_entry *entry = untouched_region(memory, gva);
    int prot = entry ? entry->region.prot : 0;
    return (prot & (GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_EXEC)) &&
           (!user || (prot & GUEST_PROT_USER));
}

/* Whether a leaf table covers gva's 2 MiB: the guest may have walked it, so
 * it is not swapped for a 2 MiB page without a flush. */
static bool leaf_table_exists(struct guest_memory *memory, uint64_t gva)
{
    struct guest_walk walk;
    guest_walk(memory, memory->pml4, gva, &walk);
    return walk.levels == 4;
}

/* Backs the untouched pages of [start, end), inside one 2 MiB block of
 * one lazy region, with their tables; -ENOMEM (nothing changed) when RAM
 * is short. */
static int back_block(struct guest_memory *memory, const struct region_entry *entry, uint64_t start,
                      uint64_t end)
{
    /* A 2 MiB page backs it all (and the visit below would split it). */
    struct guest_walk walk;
    if (guest_walk(memory, memory->pml4, start, &walk) && walk.page_size == HUGE_PAGE_SIZE)
        return 0;
    struct protect_state state = {0, 0, false};
    page_tables_visit(memory, start, end, count_leaf, &state);
    uint64_t missing = (end - start) / GUEST_PAGE_SIZE - state.nonzero;
    if (missing == 0)
        return 0;
    if (missing > memory->frames_free)
        return -ENOMEM;
    bool huge = !leaf_table_exists(memory, start);
    int ret = page_tables_ensure(memory, start, end);
    if (ret == 0 && missing > memory->frames_free)
        ret = -ENOMEM;
    if (ret != 0) {
        memory->change_unseen = false;
        page_tables_prune(memory, start, end);
        if (memory->change_unseen)
            note_narrowing(memory, false);
        return ret;
    }
    fill_empty_leaves(memory, start, end, pte_flags_for_prot(entry->region.prot),
                      entry->region.kind, huge);
    return 0;
}

/* back_block over [start, end) inside one lazy region, block by block;
 * what was backed before a failure stays so. */
static int back_untouched(struct guest_memory *memory, const struct region_entry *entry,
                          uint64_t start, uint64_t end)
{
    while (start < end) {
        uint64_t block_end = (start | (HUGE_PAGE_SIZE - 1)) + 1;
        if (block_end > end || block_end <= start)
            block_end = end;
        int ret = back_block(memory, entry, start, block_end);
        if (ret != 0)
            return ret;
        start = block_end;
    }
    return 0;
}

static void populate_part(struct guest_memory *memory, const struct region_entry *entry,
                          uint64_t start, uint64_t end, void *opaque)
{
    int *ret = opaque;
    if (*ret == 0 && region_is_lazy(entry) && pte_flags_for_prot(entry->region.prot) != 0)
        *ret = back_untouched(memory, entry, start, end);
}

int guest_populate(struct guest_memory *memory, uint64_t start, uint64_t len)
{
    MEMORY_LOCKED(memory);
    int ret = check_range(start, len);
    if (ret == 0)
        for_each_region_part(memory, start, start + len, populate_part, &ret);
    return ret;
}

/* Below this share of RAM free, a first touch takes one page, not 2 MiB:
 * a program touching a sparse reservation here and there then still gets
 * the last frames one page at a time. */
#define TOUCH_SMALL_BELOW_FRACTION 16

/* Backed ahead of a first touch whose page below is backed: a program
 * filling memory upwards then takes one fault per 2 MiB + this, not per
 * 2 MiB (each fault is a VM exit under kvm, an emulation stop under tcg),
 * and leaves at most this much backed but untouched. */
#define TOUCH_AHEAD (14ULL << 20)

/* Whether the page below address is backed (present or not). */
static bool touched_below(const struct guest_memory *memory, uint64_t address)
{
    struct guest_walk walk;
    guest_walk(memory, memory->pml4, address - GUEST_PAGE_SIZE, &walk);
    return walk.status == GUEST_WALK_OK || (walk.levels == 4 && walk.entries[3] != 0);
}

enum guest_touch touch_locked(struct guest_memory *memory, uint64_t gva, bool write, bool fetch)
{
    if (!address_is_canonical(gva))
        return GUEST_TOUCH_NOT_LAZY;
    gva &= GUEST_PAGE_MASK;
    /* Another thread backed it meanwhile. */
    if (guest_fault_resolved(memory, gva, write, fetch))
        return GUEST_TOUCH_MAPPED;
    const struct region_entry *entry = untouched_region(memory, gva);
    int needed = write   ? GUEST_PROT_WRITE
                 : fetch ? GUEST_PROT_EXEC
                         : GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_EXEC;
    if (!entry || !(entry->region.prot & needed))
        return GUEST_TOUCH_NOT_LAZY;
    /* The whole 2 MiB around it (inside the mapping), so that touching
     * memory in order costs one fault per 2 MiB, and a 2 MiB page where
     * the mapping covers all of it; more ahead when the page below it is
     * backed already (memory touched upwards, as a heap fills). */
    uint64_t start = gva & ~(HUGE_PAGE_SIZE - 1), end = start + HUGE_PAGE_SIZE;
    if (start > entry->region.start && touched_below(memory, start))
        end += TOUCH_AHEAD;
    start = MAX(start, entry->region.start);
    end = MIN(end, entry->region.end);
    if (memory->frames_free >= memory->frame_count / TOUCH_SMALL_BELOW_FRACTION &&
        (end - start) / GUEST_PAGE_SIZE <= memory->frames_free / 2 &&
        back_untouched(memory, entry, start, end) == 0)
        return GUEST_TOUCH_MAPPED;
    end = MIN((gva & ~(HUGE_PAGE_SIZE - 1)) + HUGE_PAGE_SIZE, entry->region.end);
    if (memory->frames_free >= memory->frame_count / TOUCH_SMALL_BELOW_FRACTION &&
        back_untouched(memory, entry, start, end) == 0)
        return GUEST_TOUCH_MAPPED;
    if (back_untouched(memory, entry, gva, gva + GUEST_PAGE_SIZE) == 0)
        return GUEST_TOUCH_MAPPED;
    return GUEST_TOUCH_NO_MEMORY;
}

enum guest_touch guest_fault_first_touch(struct guest_memory *memory, uint64_t gva, bool write,
                                         bool fetch)
{
    MEMORY_LOCKED(memory);
    return touch_locked(memory, gva, write, fetch);
}

void guest_memory_lock(struct guest_memory *memory)
{
    g_rec_mutex_lock(&memory->lock);
}

void guest_memory_unlock(struct guest_memory *memory, bool forked)
{
    /* A recursive mutex knows its owner by thread id, which a fork's child
     * does not share: it could not unlock it. The old one is left as is. */
    if (forked)
        g_rec_mutex_init(&memory->lock);
    else
        g_rec_mutex_unlock(&memory->lock);
}

/* ---- mapping operations -------------------------------------------------- */

int guest_map_identity(struct guest_memory *memory, uint64_t start, uint64_t len, int prot,
                       enum guest_region_kind kind, const char *name)
{
    MEMORY_LOCKED(memory);
    int ret = check_range(start, len);
    if (ret != 0)
        return ret;
    if (!prot_is_valid(prot) || start >= memory->ram_size || len > memory->ram_size - start)
        return -EINVAL;
    if (!range_is_free(memory, start, start + len))
        return -EEXIST;
    if (!guest_frames_reserve(memory, start, len))
        return -EEXIST;
    ret = page_tables_ensure(memory, start, start + len);
    if (ret != 0) {
        frames_release(memory, start / GUEST_PAGE_SIZE, len / GUEST_PAGE_SIZE);
        return ret;
    }
    /* A PROT_NONE page keeps its frame in a non-present entry, so a later
     * guest_protect can bring it back. */
    set_leaves(memory, start, start, len / GUEST_PAGE_SIZE,
               pte_flags_for_prot(prot) | PTE_OWNED_FRAME);
    struct region_entry entry =
        make_region(start, start + len, prot, kind, name, BACKING_IDENTITY, start);
    region_add(memory, &entry);
    return 0;
}

int guest_map_anonymous(struct guest_memory *memory, uint64_t start, uint64_t len, int prot,
                        enum guest_region_kind kind, const char *name)
{
    return map_fresh_frames(memory, start, len, prot, kind, name, NULL);
}

/* The program's anonymous mappings up to this size get their frames at
 * mmap while more than 1/EAGER_RAM_LEFT_FRACTION of RAM would stay free. */
#define EAGER_MAX_PAGES         ((8ULL << 20) / GUEST_PAGE_SIZE)
#define EAGER_RAM_LEFT_FRACTION 4

int map_fresh_frames(struct guest_memory *memory, uint64_t start, uint64_t len, int prot,
                     enum guest_region_kind kind, const char *name, const struct region_file *file)
{
    MEMORY_LOCKED(memory);
    int ret = check_range(start, len);
    if (ret != 0)
        return ret;
    if (!prot_is_valid(prot))
        return -EINVAL;
    if (!range_is_free(memory, start, start + len))
        return -EEXIST;
    if (map_limit_reached(memory, kind))
        return -ENOMEM;
    uint64_t flags = pte_flags_for_prot(prot);
    uint64_t pages = len / GUEST_PAGE_SIZE;
    /* The program's own anonymous memory gets frames at its first touch
     * (guest_fault_first_touch), unless it is small and RAM plentiful: then
     * now, as the rest, since a first touch costs an exit (under tcg, an
     * emulation stop: musl's malloc_heavy, which maps and touches a block
     * of up to 4 MiB at a time, took 3 times as long under tcg with every
     * mapping backed at first touch). An inaccessible mapping gets its
     * frames only when guest_protect opens it. Either way large
     * reservations cost neither frames nor page tables. */
    bool at_first_touch =
        file == NULL && may_be_huge(kind) &&
        (pages > EAGER_MAX_PAGES ||
         pages + memory->frame_count / EAGER_RAM_LEFT_FRACTION > memory->frames_free);
    if (flags != 0 && !at_first_touch) {
        if (pages > memory->frames_free)
            return -ENOMEM;
        ret = page_tables_ensure(memory, start, start + len);
        if (ret != 0)
            return ret;
        if (pages > memory->frames_free) {
            page_tables_prune(memory, start, start + len);
            return -ENOMEM;
        }
        populate(memory, start, pages, flags, kind);
    }
    struct region_entry entry =
        make_region(start, start + len, prot, kind, name, BACKING_ANONYMOUS, 0);
    if (file)
        entry.file = *file;
    region_add(memory, &entry);
    return 0;
}

int guest_map_physical(struct guest_memory *memory, uint64_t start, uint64_t gpa, uint64_t len,
                       int prot, enum guest_region_kind kind, const char *name)
{
    MEMORY_LOCKED(memory);
    int ret = check_range(start, len);
    if (ret != 0)
        return ret;
    if (!prot_is_valid(prot) || gpa % GUEST_PAGE_SIZE != 0 || gpa >= PHYS_ADDRESS_LIMIT ||
        len > PHYS_ADDRESS_LIMIT - gpa)
        return -EINVAL;
    /* Inside RAM, only frames someone owns may be mapped, and never a page
     * table: a free frame could later become a page table the guest could
     * then write. */
    for (uint64_t frame = gpa / GUEST_PAGE_SIZE;
         frame < (gpa + len) / GUEST_PAGE_SIZE && frame < memory->frame_count; frame++)
        if (!frame_is_used(memory, frame) || frame_is_table(memory, frame))
            return -EINVAL;
    if (!range_is_free(memory, start, start + len))
        return -EEXIST;
    if (map_limit_reached(memory, kind))
        return -ENOMEM;
    ret = page_tables_ensure(memory, start, start + len);
    if (ret != 0)
        return ret;
    set_leaves(memory, start, gpa, len / GUEST_PAGE_SIZE, pte_flags_for_prot(prot));
    struct region_entry entry =
        make_region(start, start + len, prot, kind, name, BACKING_PHYSICAL, gpa);
    region_add(memory, &entry);
    return 0;
}

int guest_reserve_range(struct guest_memory *memory, uint64_t start, uint64_t len,
                        enum guest_region_kind kind, const char *name)
{
    MEMORY_LOCKED(memory);
    int ret = check_range(start, len);
    if (ret != 0)
        return ret;
    if (!range_is_free(memory, start, start + len))
        return -EEXIST;
    struct region_entry entry =
        make_region(start, start + len, GUEST_PROT_NONE, kind, name, BACKING_RESERVED, 0);
    region_add(memory, &entry);
    return 0;
}

struct unmap_state {
    struct frame_release_batch batch;
    bool frame_kept; /* a cleared entry's frame stays in use (not given back) */
};

static void clear_leaf(struct guest_memory *memory, uint64_t gva, uint64_t *pte, void *opaque)
{
    struct unmap_state *state = opaque;
    (void)gva;
    if (*pte == 0)
        return;
    uint64_t frame = (*pte & PTE_ADDRESS_MASK) / GUEST_PAGE_SIZE;
    if ((*pte & PTE_OWNED_FRAME) && frame_is_used(memory, frame) && !frame_is_table(memory, frame))
        frame_batch_add(memory, &state->batch, frame);
    else if (*pte & (PTE_PRESENT | PTE_TRAPPED_ACCESS))
        state->frame_kept = true;
    pte_store(pte, 0);
}

int guest_unmap(struct guest_memory *memory, uint64_t start, uint64_t len)
{
    MEMORY_LOCKED(memory);
    int ret = check_range(start, len);
    if (ret != 0)
        return ret;
    uint64_t end = start + len;
    struct region_node *first = region_first_in(memory, start, end);
    if (!first)
        return 0; /* nothing there */
    /* A hole inside one mapping makes two of it (Linux: -ENOMEM at the
     * limit); removing the end of one or spanning several does not add any. */
    if (first->entry.region.start < start && first->entry.region.end > end &&
        splits_exceed_limit(memory, 1))
        return -ENOMEM;

    struct unmap_state state = {{0, 0}, false};
    memory->change_unseen = false;
    page_tables_visit(memory, start, end, clear_leaf, &state);
    frame_batch_flush(memory, &state.batch);
    page_tables_prune(memory, start, end);

    region_split(memory, start);
    region_split(memory, end);
    for (struct region_node *node = region_first_in(memory, start, end); node;) {
        struct region_node *next = node->next;
        regions_delete(memory, node);
        node = next && next->entry.region.start < end ? next : NULL;
    }
    /* Frames given back went through MADV_DONTNEED, whose MMU notifier has
     * already made KVM drop every translation to them, shadow pages
     * included: unmapping them owes no flush. A frame that stays mapped
     * elsewhere (a device page), one zeroed by memset, or a freed page
     * table does. */
    note_narrowing(memory, !state.frame_kept && !memory->change_unseen);
    return 0;
}

/* ---- guest_protect ------------------------------------------------------ */

static void reprotect_leaf(struct guest_memory *memory, uint64_t gva, uint64_t *pte, void *opaque)
{
    struct protect_state *state = opaque;
    (void)memory;
    (void)gva;
    uint64_t old = *pte;
    if (old == 0)
        return;
    uint64_t new = (old & (PTE_ADDRESS_MASK | PTE_OWNED_FRAME | PTE_PAST_EOF)) | state->flags;
    if (new &PTE_PAST_EOF)
        new &= ~PTE_PRESENT; /* no protection makes the file longer */
    if ((old & PTE_PRESENT) &&
        (!(new &PTE_PRESENT) || ((old & PTE_WRITE) && !(new &PTE_WRITE)) ||
         ((old & PTE_USER) && !(new &PTE_USER)) || (!(old & PTE_NX) && (new &PTE_NX))))
        state->narrowed = true;
    pte_store(pte, new);
}

struct populate_plan {
    uint64_t flags;
    uint64_t missing; /* pages of anonymous parts without a frame */
    int error;
};

/* Regions whose missing pages guest_protect backs: those backed at first
 * touch are left to it. */
static bool backed_when_opened(const struct region_entry *entry)
{
    return entry->backing == BACKING_ANONYMOUS && !region_is_lazy(entry);
}

static void count_missing(struct guest_memory *memory, const struct region_entry *entry,
                          uint64_t start, uint64_t end, void *opaque)
{
    struct populate_plan *plan = opaque;
    if (!backed_when_opened(entry))
        return;
    struct protect_state state = {0, 0, false};
    page_tables_visit(memory, start, end, count_leaf, &state);
    plan->missing += (end - start) / GUEST_PAGE_SIZE - state.nonzero;
}

static void ensure_missing_tables(struct guest_memory *memory, const struct region_entry *entry,
                                  uint64_t start, uint64_t end, void *opaque)
{
    struct populate_plan *plan = opaque;
    if (!backed_when_opened(entry) || plan->error != 0)
        return;
    plan->error = page_tables_ensure(memory, start, end);
}

static void populate_missing(struct guest_memory *memory, const struct region_entry *entry,
                             uint64_t start, uint64_t end, void *opaque)
{
    struct populate_plan *plan = opaque;
    if (!backed_when_opened(entry))
        return;
    fill_empty_leaves(memory, start, end, plan->flags, entry->region.kind, true);
}

int guest_protect(struct guest_memory *memory, uint64_t start, uint64_t len, int prot)
{
    MEMORY_LOCKED(memory);
    int ret = check_range(start, len);
    if (ret != 0)
        return ret;
    if (!prot_is_valid(prot))
        return -EINVAL;
    uint64_t end = start + len;

    /* Every page must be mapped (reserved ranges are not). */
    uint64_t covered = start;
    for (const struct region_node *node = region_first_in(memory, start, end);
         node && node->entry.region.start < end; node = node->next) {
        const struct region_entry *entry = &node->entry;
        if (entry->region.start > covered || entry->backing == BACKING_RESERVED)
            return -ENOMEM;
        covered = entry->region.end;
    }
    if (covered < end)
        return -ENOMEM;
    if (splits_exceed_limit(memory,
                            (size_t)splits_region(memory, start) + splits_region(memory, end)))
        return -ENOMEM;

    /* Anonymous pages that never had a frame (mapped PROT_NONE) get one
     * now; make sure frames and tables are there before changing anything. */
    struct populate_plan plan = {pte_flags_for_prot(prot), 0, 0};
    if (plan.flags != 0) {
        for_each_region_part(memory, start, end, count_missing, &plan);
        if (plan.missing > memory->frames_free)
            return -ENOMEM;
        if (plan.missing > 0) {
            for_each_region_part(memory, start, end, ensure_missing_tables, &plan);
            if (plan.error != 0 || plan.missing > memory->frames_free) {
                page_tables_prune(memory, start, end);
                return plan.error != 0 ? plan.error : -ENOMEM;
            }
        }
    }

    struct protect_state state = {plan.flags, 0, false};
    page_tables_visit(memory, start, end, reprotect_leaf, &state);
    if (plan.missing > 0)
        for_each_region_part(memory, start, end, populate_missing, &plan);

    region_split(memory, start);
    region_split(memory, end);
    bool narrowed = state.narrowed;
    for (struct region_node *node = region_first_in(memory, start, end);
         node && node->entry.region.start < end; node = node->next) {
        if (node->entry.region.prot & ~prot)
            narrowed = true;
        node->entry.region.prot = prot;
    }
    regions_merge_around(memory, start, end);
    if (narrowed)
        note_narrowing(memory, false);
    return 0;
}

/* ---- guest_move ---------------------------------------------------------- */

struct move_state {
    uint64_t delta; /* new address - old address (mod 2^64) */
    int error;
};

/* Makes the destination tables for one leaf that holds something: a large
 * lazily-backed PROT_NONE region needs no tables at its new place. */
static void prepare_move_leaf(struct guest_memory *memory, uint64_t gva, uint64_t *pte,
                              void *opaque)
{
    struct move_state *state = opaque;
    uint64_t *slot;
    if (*pte == 0 || state->error != 0)
        return;
    state->error = page_table_slot(memory, gva + state->delta, true, &slot);
}

static void move_leaf(struct guest_memory *memory, uint64_t gva, uint64_t *pte, void *opaque)
{
    struct move_state *state = opaque;
    if (*pte == 0)
        return;
    uint64_t *slot;
    if (page_table_slot(memory, gva + state->delta, false, &slot) != 0)
        g_error("memory: page table vanished while moving"); /* a bug here */
    pte_store(slot, *pte);
    pte_store(pte, 0);
}

int guest_move(struct guest_memory *memory, uint64_t old_start, uint64_t len, uint64_t new_start)
{
    MEMORY_LOCKED(memory);
    int ret = check_range(old_start, len);
    if (ret == 0)
        ret = check_range(new_start, len);
    if (ret != 0)
        return ret;
    uint64_t old_end = old_start + len, new_end = new_start + len;
    if (old_start < new_end && new_start < old_end)
        return -EINVAL; /* overlapping */

    uint64_t covered = old_start;
    for (const struct region_node *node = region_first_in(memory, old_start, old_end);
         node && node->entry.region.start < old_end; node = node->next) {
        if (node->entry.region.start > covered)
            return -EFAULT;
        covered = node->entry.region.end;
    }
    if (covered < old_end)
        return -EFAULT;
    if (!range_is_free(memory, new_start, new_end))
        return -EEXIST;
    /* Linux's mremap refuses a move unless the process is 3 mappings below
     * the limit ("map_count >= max - 3"). */
    if (splits_exceed_limit(memory, 4))
        return -ENOMEM;
    struct move_state state = {new_start - old_start, 0};
    page_tables_visit(memory, old_start, old_end, prepare_move_leaf, &state);
    if (state.error != 0) {
        page_tables_prune(memory, new_start, new_end);
        return state.error == -ENOMEM ? -ENOMEM : state.error;
    }

    page_tables_visit(memory, old_start, old_end, move_leaf, &state);
    page_tables_prune(memory, old_start, old_end);

    region_split(memory, old_start);
    region_split(memory, old_end);
    GArray *moved = g_array_new(false, false, sizeof(struct region_entry));
    for (struct region_node *node = region_first_in(memory, old_start, old_end); node;) {
        struct region_node *next = node->next;
        struct region_entry entry = node->entry;
        entry.region.start += state.delta;
        entry.region.end += state.delta;
        g_array_append_val(moved, entry);
        regions_delete(memory, node);
        node = next && next->entry.region.start < old_end ? next : NULL;
    }
    for (guint i = 0; i < moved->len; i++)
        regions_insert(memory, &g_array_index(moved, struct region_entry, i));
    g_array_free(moved, true);
    regions_merge_around(memory, old_start, old_end);
    regions_merge_around(memory, new_start, new_end);
    note_narrowing(memory, false);
    return 0;
}

/* ---- guest_find_free ----------------------------------------------------- */

bool guest_find_free(const struct guest_memory *memory, uint64_t len, uint64_t low, uint64_t high,
                     bool top_down, uint64_t *start)
{
    if (len == 0 || len % GUEST_PAGE_SIZE != 0)
        return false;
    if (low > UINT64_MAX - (GUEST_PAGE_SIZE - 1))
        return false;
    low = (low + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
    high &= GUEST_PAGE_MASK;

    /* Search each canonical half separately; the hole between them is never
     * free. The topmost page stays out: a range must not wrap. */
    struct {
        uint64_t low, high;
    } halves[2] = {{0, LOWER_HALF_END}, {UPPER_HALF_START, UINT64_MAX & GUEST_PAGE_MASK}};
    for (int n = 0; n < 2; n++) {
        int h = top_down ? 1 - n : n;
        uint64_t window_low = low > halves[h].low ? low : halves[h].low;
        uint64_t window_high = high < halves[h].high ? high : halves[h].high;
        if (regions_find_gap(memory, len, window_low, window_high, top_down, start))
            return true;
    }
    return false;
}

/* ---- what /proc/PID/maps shows ---------------------------------------------- */

int guest_region_describe(struct guest_memory *memory, uint64_t start, uint64_t len,
                          const char *name, uint64_t dev, uint64_t ino, uint64_t offset)
{
    uint64_t end = start + len;
    if (len == 0 || end < start)
        return -EINVAL;
    g_rec_mutex_lock(&memory->lock);
    region_split(memory, start);
    region_split(memory, end);
    for (struct region_node *node = regions_first_ending_after(memory, start);
         node && node->entry.region.start < end; node = node->next) {
        g_strlcpy(node->entry.region.name, name, sizeof(node->entry.region.name));
        node->entry.shown =
            (struct region_file){.dev = dev,
                                 .ino = ino,
                                 .offset = ino ? offset + (node->entry.region.start - start) : 0};
    }
    regions_merge_around(memory, start, end);
    g_rec_mutex_unlock(&memory->lock);
    return 0;
}

bool guest_region_file(const struct guest_region *region, uint64_t *dev, uint64_t *ino,
                       uint64_t *offset, bool *shared)
{
    const struct region_entry *entry = (const struct region_entry *)region;
    const struct region_file *file = entry->file.ino ? &entry->file : &entry->shown;
    if (!file->ino)
        return false;
    *dev = file->dev, *ino = file->ino, *offset = file->offset;
    *shared = file == &entry->file && entry->file.map_flags == MAP_SHARED;
    return true;
}
