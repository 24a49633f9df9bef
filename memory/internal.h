/*
 * memory/internal.h — what the files of memory/ share and nobody else sees.
 */
#ifndef HERMITUX_MEMORY_INTERNAL_H
#define HERMITUX_MEMORY_INTERNAL_H

#include "memory/memory.h"

#include <glib.h>

/*
 * Bit 9 of a leaf entry is ignored by the CPU and left to software: set, it
 * says the mapping owns the frame (anonymous and identity mappings), so
 * unmapping the page gives the frame back to the allocator. Frames of
 * guest_map_physical mappings never carry it.
 */
#define PTE_OWNED_FRAME (1ULL << 9)

/* Bits 10 and 11, also left to software, mark a debug trap (guest_set_trap):
 * W or P was cleared by the debugger and belongs back. */
#define PTE_TRAPPED_WRITE  (1ULL << 10)
#define PTE_TRAPPED_ACCESS (1ULL << 11)

/* Bit 52, ignored by the CPU (as every bit of a non-present entry), marks a
 * page of a file mapping that holds no byte of its file: it lies wholly past
 * the end of the file (at mmap time, or since a truncation). Such an entry
 * is never present, so every access of the program faults, and Linux's
 * answer to that fault is SIGBUS; it keeps its frame (anonymous memory),
 * the other bits of its protection and PTE_OWNED_FRAME. */
#define PTE_PAST_EOF (1ULL << 52)

/* The entry as the map says it, without any debug trap. */
static inline uint64_t pte_without_trap(uint64_t pte)
{
    if (pte & PTE_TRAPPED_WRITE)
        pte = (pte & ~PTE_TRAPPED_WRITE) | PTE_WRITE;
    if (pte & PTE_TRAPPED_ACCESS)
        pte = (pte & ~PTE_TRAPPED_ACCESS) | PTE_PRESENT;
    return pte;
}

#define ENTRIES_PER_TABLE 512
#define HUGE_PAGE_SIZE    (1ULL << 21)
#define FRAMES_PER_HUGE   512

/* How a region's pages get their frames. */
enum region_backing {
    BACKING_RESERVED,  /* guest_reserve_range: nothing mapped */
    BACKING_IDENTITY,  /* guest_map_identity: frame == page, owned */
    BACKING_ANONYMOUS, /* guest_map_anonymous: allocated frames, owned */
    BACKING_PHYSICAL,  /* guest_map_physical: given frames, not owned */
};

/* The file behind a guest_map_file region, so that a truncation of the
 * file finds the pages it cuts off. ino 0: not a file mapping. */
struct region_file {
    uint64_t dev, ino; /* the host's st_dev and st_ino */
    uint64_t offset;   /* the file offset of region.start */
    int map_flags;     /* how the host maps it: MAP_SHARED or MAP_PRIVATE */
};

struct region_entry {
    /* First member, so that a pointer to it is a pointer to the entry and
     * guest_region_lookup can hand it out. */
    struct guest_region region;
    enum region_backing backing;
    uint64_t phys_start; /* BACKING_PHYSICAL: guest-physical address of region.start */
    struct region_file file;
    /* The file a copy of whose bytes the region holds (a loaded ELF
     * segment), for /proc/PID/maps only: ino 0 when none, map_flags unused. */
    struct region_file shown;
};

struct guest_memory {
    /* Held by every change of the map, the tables or the frames. The
     * callers serialize their changes already (linux/'s mm_lock); this one
     * is for the pages backed at first touch, which the monitor's checked
     * accesses do from any thread without that lock. Recursive: a change
     * may call another public one. */
    GRecMutex lock;
    uint8_t *ram;
    uint64_t ram_size;
    uint64_t frame_count;
    uint64_t *frame_used;  /* bitmap: reserved, allocated, or a page table */
    uint64_t *frame_table; /* bitmap: holds one of the monitor's page tables */
    uint64_t *frame_file;  /* bitmap: its host page is a file's (guest_map_file) */
    uint64_t chunk_count;
    uint64_t *chunk_used; /* bitmap over GUEST_RAM_CHUNK_SIZE chunks */
    guest_chunk_hook chunk_hook;
    void *chunk_hook_opaque;
    guest_code_write_hook code_write_hook; /* see memory.h */
    void *code_write_hook_opaque;
    uint64_t frames_free;
    uint64_t alloc_limit; /* every frame at or above this index is used */
    uint64_t pml4;        /* guest-physical */
    uint64_t generation;
    /* Set when a change escaped the host's MMU notifiers: a frame zeroed by
     * memset instead of MADV_DONTNEED, or a page table freed (a shadowing
     * accelerator keeps shadow tables keyed by its frame). Either way only
     * a generation bump makes accelerators drop what they cached. */
    bool change_unseen;
    uint64_t unseen_generation; /* guest_memory_unseen_generation */
    /* The region map (regions.c): a search tree of non-overlapping
     * regions, also linked in address order. */
    struct region_node *region_root;
    struct region_node *region_first, *region_last;
    size_t region_count;
    size_t map_count;         /* regions the program counts as its mappings */
    size_t map_limit;         /* Linux's vm.max_map_count */
    uint32_t region_seed;     /* the treap's priorities */
    uint64_t heap_frame_hint; /* where a growing heap looks for frames first */
    /* 2 MiB pages (page_tables.c): for each of the monitor's huge entries,
     * by its 2 MiB-aligned address, the page table kept aside to split it
     * into 4 KiB entries, so that splitting never needs a frame. */
    GHashTable *split_tables;
    /* file_map.c: one fd per file that mappings were made of (struct
     * file_fd), to map more of it later (mremap growth); closed once no
     * region maps the file. */
    GArray *file_fds;
    guint file_fds_collect_at; /* the next collection, by table length */
};

/* Holds memory->lock until the end of the enclosing block. */
#define MEMORY_LOCKED(memory)                                                                      \
    g_autoptr(GRecMutexLocker) memory_locker G_GNUC_UNUSED =                                       \
        g_rec_mutex_locker_new(&((struct guest_memory *)(memory))->lock)

/* A region in the map's tree. */
struct region_node {
    struct region_entry entry;        /* first, so &node->entry.region is the node */
    struct region_node *left, *right; /* the tree, by start */
    struct region_node *prev, *next;  /* address order */
    uint32_t priority;
    /* The subtree's lowest start, highest end and widest gap between two of
     * its regions, for free-range searches. */
    uint64_t min_start, max_end, max_gap;
};

static inline bool address_is_canonical(uint64_t address)
{
    /* Bits 63..47 all equal: the arithmetic shift reproduces bit 47. */
    return (uint64_t)((int64_t)(address << 16) >> 16) == address;
}

/* Counts a removal or narrowing of mappings; notifiers_saw_it says whether
 * the host's MMU notifiers already told KVM (frames given back with
 * MADV_DONTNEED). */
static inline void note_narrowing(struct guest_memory *memory, bool notifiers_saw_it)
{
    /* Atomic: other vCPU threads read both without the mm lock. */
    __atomic_fetch_add(&memory->generation, 1, __ATOMIC_RELEASE);
    if (!notifiers_saw_it)
        __atomic_fetch_add(&memory->unseen_generation, 1, __ATOMIC_RELEASE);
}

/* Every page-table entry the monitor writes is one whole store: other vCPU
 * threads walk the tables without the mm lock (guest_walk reads each entry
 * once, atomically), and the CPU itself sets A/D bits in them. */
static inline void pte_store(uint64_t *entry, uint64_t value)
{
    __atomic_store_n(entry, value, __ATOMIC_RELEASE);
}

/* ---- memory.c ---- */

/* Backs the untouched page at gva (first touch), under memory->lock: as
 * guest_fault_first_touch. */
enum guest_touch touch_locked(struct guest_memory *memory, uint64_t gva, bool write, bool fetch);
/* Whether gva is an untouched page of a mapping backed at first touch
 * whose protection allows reading (it reads as zeros). */
bool untouched_readable(const struct guest_memory *memory, uint64_t gva, bool user);

/* guest_map_anonymous, with the region recording file (NULL: none). */
int map_fresh_frames(struct guest_memory *memory, uint64_t start, uint64_t len, int prot,
                     enum guest_region_kind kind, const char *name, const struct region_file *file);

/* ---- regions.c ---- */

/* The first region whose end is above address (the one containing it, or the
 * next one), or NULL. */
struct region_node *regions_first_ending_after(const struct guest_memory *memory, uint64_t address);
/* Whether regions of this kind are the program's mappings (Linux's VMAs). */
bool region_kind_is_program(enum guest_region_kind kind);
/* Adds a copy of entry, which must not overlap any region. */
struct region_node *regions_insert(struct guest_memory *memory, const struct region_entry *entry);
void regions_delete(struct guest_memory *memory, struct region_node *node);
/* To call after a node's start or end moved without passing a neighbour. */
void regions_changed(struct guest_memory *memory, struct region_node *node);
void regions_clear(struct guest_memory *memory);
/* Free range search, as guest_find_free within one window. */
bool regions_find_gap(const struct guest_memory *memory, uint64_t len, uint64_t low, uint64_t high,
                      bool top_down, uint64_t *start);

/* ---- frames.c ---- */

bool frames_init(struct guest_memory *memory, char **error);
void frames_fini(struct guest_memory *memory);
bool frame_is_used(const struct guest_memory *memory, uint64_t frame);
bool frame_is_table(const struct guest_memory *memory, uint64_t frame);
bool frame_is_file(const struct guest_memory *memory, uint64_t frame);

/* file_map.c: closes the fds kept for file mappings (guest_memory_destroy). */
void file_fds_close(struct guest_memory *memory);

/* file_map.c: memcpy to or from the host page of a file frame; false
 * (instead of the host's SIGBUS) where the file no longer has the page. */
bool file_copy(void *to, const void *from, size_t len);
/* Marks frames [first, first + count) as backed by a file mapping of the
 * host: releasing them puts anonymous memory back behind them. */
void frames_mark_file(struct guest_memory *memory, uint64_t first, uint64_t count);
/* Puts fresh anonymous memory back behind the file-backed frames among
 * [first, first + count); false if the host refused. */
bool frames_unmap_file(struct guest_memory *memory, uint64_t first, uint64_t count);
/* Takes exactly frames [first, first + count) if they are all free. */
bool frames_alloc_at(struct guest_memory *memory, uint64_t first, uint64_t count);
/* Takes the lowest run of count free frames at or above from (the allocator
 * otherwise works top-down), for memory that grows upwards. */
bool frames_alloc_low(struct guest_memory *memory, uint64_t count, uint64_t from, uint64_t *first);
/* Takes the highest 2 MiB-aligned run of 512 free frames. */
bool frames_alloc_huge(struct guest_memory *memory, uint64_t *first);
/* Allocates one frame for a page table (zeroed). */
bool frames_alloc_table(struct guest_memory *memory, uint64_t *gpa);
/* Gives back used frames [first, first + count) unconditionally, zeroing
 * them and clearing their page-table mark. */
void frames_release(struct guest_memory *memory, uint64_t first, uint64_t count);
/* Batches frame releases into contiguous runs (one madvise per run). */
struct frame_release_batch {
    uint64_t first;
    uint64_t count;
};
void frame_batch_add(struct guest_memory *memory, struct frame_release_batch *batch,
                     uint64_t frame);
void frame_batch_flush(struct guest_memory *memory, struct frame_release_batch *batch);

/* ---- page_tables.c ---- */

/* Host pointer to the 512-entry table at guest-physical gpa, or NULL when it
 * does not lie wholly in RAM. */
uint64_t *page_table_at(const struct guest_memory *memory, uint64_t gpa);

/* Leaf flags (without the frame address) for enum guest_prot bits. */
uint64_t pte_flags_for_prot(int prot);

/*
 * The leaf entry slot for gva in the monitor's tables. With create, missing
 * tables are allocated. 0, -ENOMEM (no frame for a table), -ENOENT (a table
 * is missing and create is false), -EEXIST (a huge page is in the way) or
 * -EFAULT (an entry points outside RAM).
 */
int page_table_slot(struct guest_memory *memory, uint64_t gva, bool create, uint64_t **slot);

/* Makes sure every table down to the leaf level exists for [start, end).
 * On failure, tables it allocated are freed again; returns 0 or -ENOMEM. */
int page_tables_ensure(struct guest_memory *memory, uint64_t start, uint64_t end);

/* Calls visit on every leaf slot of an existing last-level table in
 * [start, end) (absent tables are skipped whole, so huge ranges are cheap). */
typedef void (*pte_visitor)(struct guest_memory *memory, uint64_t gva, uint64_t *pte, void *opaque);
void page_tables_visit(struct guest_memory *memory, uint64_t start, uint64_t end, pte_visitor visit,
                       void *opaque);

/* Frees the tables below the PML4 that became empty in [start, end). */
void page_tables_prune(struct guest_memory *memory, uint64_t start, uint64_t end);

/*
 * Maps the 2 MiB-aligned gva with one 2 MiB entry onto the 512 frames from
 * frame (2 MiB-aligned, owned), when its leaf table exists and is empty (the
 * table is kept aside to split the entry later). False otherwise.
 * Everything that works on 4 KiB entries (page_table_slot, the visits)
 * splits such an entry first, so the rest of memory/ never sees one; the
 * translations stay the same, so a split owes no flush.
 */
bool page_tables_map_huge(struct guest_memory *memory, uint64_t gva, uint64_t frame,
                          uint64_t flags);

#endif
