/*
 * memory/frames.c — the guest-physical frame allocator.
 *
 * A bitmap over RAM's 4 KiB frames. Allocation goes top-down, from the end of
 * RAM: the static region (boot info, kernel, program) sits at fixed low
 * addresses and is mapped after the PML4 exists, so keeping page tables and
 * dynamic frames high keeps those addresses free.
 *
 * Invariant: a free frame reads as zero. Fresh anonymous host memory is zero
 * already (and is never touched here, so it stays unpopulated); a frame that
 * is given back is zeroed then, with madvise(MADV_DONTNEED) per contiguous run
 * so the host also gets the memory back.
 */
#include "memory/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <glib.h>

#define BITS_PER_WORD 64

static bool bit_test(const uint64_t *bitmap, uint64_t index)
{
    return (bitmap[index / BITS_PER_WORD] >> (index % BITS_PER_WORD)) & 1;
}

static void bit_set(uint64_t *bitmap, uint64_t index)
{
    bitmap[index / BITS_PER_WORD] |= 1ULL << (index % BITS_PER_WORD);
}

static void bit_clear(uint64_t *bitmap, uint64_t index)
{
    bitmap[index / BITS_PER_WORD] &= ~(1ULL << (index % BITS_PER_WORD));
}

bool frames_init(struct guest_memory *memory, char **error)
{
    uint64_t words = (memory->frame_count + BITS_PER_WORD - 1) / BITS_PER_WORD;

    memory->frame_used = g_try_new0(uint64_t, words);
    memory->frame_table = g_try_new0(uint64_t, words);
    memory->frame_file = g_try_new0(uint64_t, words);
    memory->chunk_count = (memory->ram_size + GUEST_RAM_CHUNK_SIZE - 1) / GUEST_RAM_CHUNK_SIZE;
    memory->chunk_used =
        g_try_new0(uint64_t, (memory->chunk_count + BITS_PER_WORD - 1) / BITS_PER_WORD);
    if (!memory->frame_used || !memory->frame_table || !memory->frame_file || !memory->chunk_used) {
        frames_fini(memory);
        if (error)
            *error =
                g_strdup_printf("cannot allocate the frame bitmap for %" G_GUINT64_FORMAT " frames",
                                memory->frame_count);
        return false;
    }
    memory->frames_free = memory->frame_count;
    memory->alloc_limit = memory->frame_count;
    return true;
}

void frames_fini(struct guest_memory *memory)
{
    g_free(memory->frame_used);
    g_free(memory->chunk_used);
    memory->chunk_used = NULL;
    g_free(memory->frame_table);
    g_free(memory->frame_file);
    memory->frame_used = memory->frame_table = memory->frame_file = NULL;
}

bool frame_is_used(const struct guest_memory *memory, uint64_t frame)
{
    return frame < memory->frame_count && bit_test(memory->frame_used, frame);
}

bool frame_is_table(const struct guest_memory *memory, uint64_t frame)
{
    return frame < memory->frame_count && bit_test(memory->frame_table, frame);
}

bool frame_is_file(const struct guest_memory *memory, uint64_t frame)
{
    return frame < memory->frame_count && bit_test(memory->frame_file, frame);
}

void frames_mark_file(struct guest_memory *memory, uint64_t first, uint64_t count)
{
    for (uint64_t frame = first; frame < first + count && frame < memory->frame_count; frame++)
        bit_set(memory->frame_file, frame);
}

/* In runs; false if the host refused (the frames must not be reused then:
 * they would still show the file). */
bool frames_unmap_file(struct guest_memory *memory, uint64_t first, uint64_t count)
{
    bool ok = true;
    for (uint64_t frame = first; frame < first + count;) {
        if (!bit_test(memory->frame_file, frame)) {
            frame++;
            continue;
        }
        uint64_t run = 0;
        while (frame + run < first + count && bit_test(memory->frame_file, frame + run)) {
            bit_clear(memory->frame_file, frame + run);
            run++;
        }
        void *host = memory->ram + frame * GUEST_PAGE_SIZE;
        if (mmap(host, run * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
            ok = false;
        frame += run;
    }
    return ok;
}

uint64_t guest_memory_chunk_count(const struct guest_memory *memory)
{
    return memory->chunk_count;
}

bool guest_memory_chunk_used(const struct guest_memory *memory, uint64_t index)
{
    return index < memory->chunk_count && bit_test(memory->chunk_used, index);
}

void guest_memory_set_code_write_hook(struct guest_memory *memory, guest_code_write_hook hook,
                                      void *opaque)
{
    memory->code_write_hook = hook;
    memory->code_write_hook_opaque = opaque;
}

void guest_memory_clear_code_write_hook(struct guest_memory *memory, void *opaque)
{
    if (memory->code_write_hook_opaque == opaque)
        guest_memory_set_code_write_hook(memory, NULL, NULL);
}

void guest_memory_set_chunk_hook(struct guest_memory *memory, guest_chunk_hook hook, void *opaque)
{
    memory->chunk_hook = hook;
    memory->chunk_hook_opaque = opaque;
}

/* Announces the chunks of [first, first + count) that were never in use. */
static void note_chunks(struct guest_memory *memory, uint64_t first, uint64_t count)
{
    const uint64_t frames_per_chunk = GUEST_RAM_CHUNK_SIZE / GUEST_PAGE_SIZE;
    for (uint64_t chunk = first / frames_per_chunk; chunk <= (first + count - 1) / frames_per_chunk;
         chunk++) {
        if (bit_test(memory->chunk_used, chunk))
            continue;
        bit_set(memory->chunk_used, chunk);
        uint64_t gpa = chunk * GUEST_RAM_CHUNK_SIZE;
        uint64_t len = MIN(GUEST_RAM_CHUNK_SIZE, memory->ram_size - gpa);
        if (memory->chunk_hook)
            memory->chunk_hook(memory->chunk_hook_opaque, gpa, len);
    }
}

static void mark_used(struct guest_memory *memory, uint64_t first, uint64_t count)
{
    if (count > 0)
        note_chunks(memory, first, count);
    for (uint64_t frame = first; frame < first + count; frame++)
        bit_set(memory->frame_used, frame);
    memory->frames_free -= count;
}

/*
 * Finds the highest run of count free frames below alloc_limit, scanning
 * downwards and skipping fully used bitmap words whole.
 */
static bool find_free_run(const struct guest_memory *memory, uint64_t count, uint64_t *first)
{
    uint64_t run_end = memory->alloc_limit; /* exclusive end of the current free run */
    uint64_t frame = memory->alloc_limit;

    while (frame > 0) {
        uint64_t word = memory->frame_used[(frame - 1) / BITS_PER_WORD];
        if (frame % BITS_PER_WORD == 0 && word == ~0ULL) {
            frame -= BITS_PER_WORD;
            run_end = frame;
            continue;
        }
        frame--;
        if (bit_test(memory->frame_used, frame)) {
            run_end = frame;
        } else if (run_end - frame == count) {
            *first = frame;
            return true;
        }
    }
    return false;
}

bool guest_frames_alloc(struct guest_memory *memory, uint64_t count, uint64_t *gpa)
{
    MEMORY_LOCKED(memory);
    uint64_t first;

    if (count == 0 || count > memory->frames_free)
        return false;
    if (!find_free_run(memory, count, &first))
        return false;
    mark_used(memory, first, count);
    if (first + count == memory->alloc_limit)
        memory->alloc_limit = first;
    *gpa = first * GUEST_PAGE_SIZE;
    return true;
}

bool frames_alloc_at(struct guest_memory *memory, uint64_t first, uint64_t count)
{
    if (count == 0 || first >= memory->frame_count || count > memory->frame_count - first)
        return false;
    for (uint64_t frame = first; frame < first + count; frame++)
        if (bit_test(memory->frame_used, frame))
            return false;
    mark_used(memory, first, count);
    if (first + count == memory->alloc_limit)
        memory->alloc_limit = first;
    return true;
}

bool frames_alloc_low(struct guest_memory *memory, uint64_t count, uint64_t from, uint64_t *first)
{
    uint64_t run_start = from;

    if (count == 0 || count > memory->frames_free)
        return false;
    for (uint64_t frame = from; frame < memory->alloc_limit;) {
        /* Whole used words are skipped at once. */
        if (frame % BITS_PER_WORD == 0 && memory->frame_used[frame / BITS_PER_WORD] == ~0ULL) {
            frame += BITS_PER_WORD;
            run_start = frame;
            continue;
        }
        if (bit_test(memory->frame_used, frame)) {
            run_start = ++frame;
            continue;
        }
        if (++frame - run_start == count) {
            mark_used(memory, run_start, count);
            *first = run_start;
            return true;
        }
    }
    return false;
}

bool frames_alloc_huge(struct guest_memory *memory, uint64_t *first)
{
    const uint64_t words = FRAMES_PER_HUGE / BITS_PER_WORD;
    for (uint64_t block = memory->alloc_limit / FRAMES_PER_HUGE; block-- > 0;) {
        const uint64_t *word = &memory->frame_used[block * words];
        bool free_block = true;
        for (uint64_t i = 0; i < words && free_block; i++)
            free_block = word[i] == 0;
        if (free_block) {
            *first = block * FRAMES_PER_HUGE;
            mark_used(memory, *first, FRAMES_PER_HUGE);
            /* A huge page in the host too (memory.c's map_ram says why only
             * here), where the host has them: a hint, no error if not. */
            madvise(memory->ram + *first * GUEST_PAGE_SIZE, HUGE_PAGE_SIZE, MADV_HUGEPAGE);
            if (*first + FRAMES_PER_HUGE == memory->alloc_limit)
                memory->alloc_limit = *first;
            return true;
        }
    }
    return false;
}

bool frames_alloc_table(struct guest_memory *memory, uint64_t *gpa)
{
    if (!guest_frames_alloc(memory, 1, gpa))
        return false;
    bit_set(memory->frame_table, *gpa / GUEST_PAGE_SIZE);
    return true;
}

bool guest_frames_reserve(struct guest_memory *memory, uint64_t gpa, uint64_t len)
{
    MEMORY_LOCKED(memory);
    if (len == 0)
        return true;
    if (gpa >= memory->ram_size || len > memory->ram_size - gpa)
        return false;
    uint64_t first = gpa / GUEST_PAGE_SIZE;
    uint64_t end = (gpa + len + GUEST_PAGE_SIZE - 1) / GUEST_PAGE_SIZE;
    for (uint64_t frame = first; frame < end; frame++)
        if (bit_test(memory->frame_used, frame))
            return false;
    mark_used(memory, first, end - first);
    return true;
}

void frames_release(struct guest_memory *memory, uint64_t first, uint64_t count)
{
    if (count == 0)
        return;
    /* A file's pages go back to the host first; should that fail, the
     * frames stay used (lost to the guest, never showing file bytes as
     * fresh memory). */
    if (!frames_unmap_file(memory, first, count))
        return;
    for (uint64_t frame = first; frame < first + count; frame++) {
        bit_clear(memory->frame_used, frame);
        bit_clear(memory->frame_table, frame);
    }
    memory->frames_free += count;
    if (first + count > memory->alloc_limit)
        memory->alloc_limit = first + count;

    /* Zero for the next owner. On a private anonymous mapping MADV_DONTNEED
     * drops the pages, which then read as zero; memset is the fallback. */
    uint8_t *host = memory->ram + first * GUEST_PAGE_SIZE;
    if (madvise(host, count * GUEST_PAGE_SIZE, MADV_DONTNEED) != 0) {
        memset(host, 0, count * GUEST_PAGE_SIZE);
        memory->change_unseen = true;
    }
}

void guest_frames_free(struct guest_memory *memory, uint64_t gpa, uint64_t count)
{
    MEMORY_LOCKED(memory);
    /* Only frames that are in RAM, used and not one of the monitor's page
     * tables are given back: a stray call must not free a live table. */
    struct frame_release_batch batch = {0, 0};
    uint64_t first = gpa / GUEST_PAGE_SIZE;

    if (gpa % GUEST_PAGE_SIZE != 0 || first >= memory->frame_count)
        return;
    if (count > memory->frame_count - first)
        count = memory->frame_count - first;
    for (uint64_t frame = first; frame < first + count; frame++)
        if (bit_test(memory->frame_used, frame) && !bit_test(memory->frame_table, frame))
            frame_batch_add(memory, &batch, frame);
    frame_batch_flush(memory, &batch);
}

uint64_t guest_frames_free_count(const struct guest_memory *memory)
{
    return memory->frames_free;
}

void frame_batch_add(struct guest_memory *memory, struct frame_release_batch *batch, uint64_t frame)
{
    if (batch->count > 0 && batch->first + batch->count == frame) {
        batch->count++;
        return;
    }
    frame_batch_flush(memory, batch);
    batch->first = frame;
    batch->count = 1;
}

void frame_batch_flush(struct guest_memory *memory, struct frame_release_batch *batch)
{
    frames_release(memory, batch->first, batch->count);
    batch->count = 0;
}
