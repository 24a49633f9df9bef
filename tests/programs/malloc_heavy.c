/* malloc_heavy: many malloc/calloc/realloc/free calls of sizes from 1 byte to 4 MiB (the
 * large ones come from mmap, the small ones from brk or mmap'd arenas), each block filled
 * with a pattern that is checked before it is freed or after it is moved by realloc.
 *   malloc_heavy [OPERATIONS]   (default 100000)
 * Prints counts and a checksum of everything checked; exits 1 on any corruption. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024

static uint64_t state = 0x243f6a8885a308d3ULL;

static uint64_t next_random(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

struct slot {
    unsigned char *data;
    size_t size;
    size_t step; /* bytes i with i % step == 0 hold the pattern; only ever grows */
    unsigned char seed;
};

/* Blocks above 16 KiB keep the pattern in every 61st byte (still every page), to keep
 * the run short under a software CPU. */
#define SPARSE_FROM 16384
#define SPARSE_STEP 61

static struct slot slots[SLOTS];
static uint64_t checksum;
static long corruptions;
static long big_blocks;

static size_t random_size(void)
{
    uint64_t r = next_random();
    if (r % 256 == 0 && ++big_blocks)
        return 1024 * 1024 + (r >> 8) % (3 * 1024 * 1024); /* 1 MiB .. 4 MiB */
    if (r % 8 == 1)
        return 4096 + (r >> 8) % (256 * 1024); /* 4 KiB .. 260 KiB */
    return 1 + (r >> 8) % 512;
}

static void fill(struct slot *slot, size_t from)
{
    for (size_t i = (from + slot->step - 1) / slot->step * slot->step; i < slot->size;
         i += slot->step)
        slot->data[i] = (unsigned char)(slot->seed + i * 7);
}

static void verify(const struct slot *slot, size_t size)
{
    for (size_t i = 0; i < size; i += slot->step) {
        unsigned char expected = (unsigned char)(slot->seed + i * 7);
        if (slot->data[i] != expected) {
            corruptions++;
            return;
        }
        checksum = checksum * 31 + expected;
    }
}

int main(int argc, char **argv)
{
    long operations = argc > 1 ? strtol(argv[1], NULL, 0) : 100000;
    long mallocs = 0, reallocs = 0, frees = 0, callocs = 0, failures = 0;
    size_t peak = 0, live = 0;
    for (long op = 0; op < operations; op++) {
        struct slot *slot = &slots[next_random() % SLOTS];
        uint64_t choice = next_random() % 8;
        if (slot->data && choice < 3) {
            verify(slot, slot->size);
            free(slot->data);
            live -= slot->size;
            slot->data = NULL;
            frees++;
        } else if (slot->data) {
            size_t size = random_size();
            unsigned char *moved = realloc(slot->data, size);
            if (!moved) {
                failures++;
                continue;
            }
            slot->data = moved;
            verify(slot, size < slot->size ? size : slot->size);
            size_t old = slot->size;
            live = live - old + size;
            slot->size = size;
            if (size > SPARSE_FROM)
                slot->step = SPARSE_STEP;
            if (size > old)
                fill(slot, old);
            reallocs++;
        } else if (choice == 7) {
            size_t size = random_size();
            slot->data = calloc(1, size);
            if (!slot->data) {
                failures++;
                continue;
            }
            for (size_t i = 0; i < size; i++)
                if (slot->data[i]) {
                    corruptions++;
                    break;
                }
            slot->size = size;
            slot->step = size > SPARSE_FROM ? SPARSE_STEP : 1;
            slot->seed = (unsigned char)next_random();
            fill(slot, 0);
            live += size;
            callocs++;
        } else {
            size_t size = random_size();
            slot->data = malloc(size);
            if (!slot->data) {
                failures++;
                continue;
            }
            slot->size = size;
            slot->step = size > SPARSE_FROM ? SPARSE_STEP : 1;
            slot->seed = (unsigned char)next_random();
            fill(slot, 0);
            live += size;
            mallocs++;
        }
        if (live > peak)
            peak = live;
    }
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].data) {
            verify(&slots[i], slots[i].size);
            free(slots[i].data);
            frees++;
        }
    printf("operations: %ld\nmalloc: %ld\ncalloc: %ld\nrealloc: %ld\nfree: %ld\n", operations,
           mallocs, callocs, reallocs, frees);
    printf("blocks of 1 MiB or more: %ld\n", big_blocks);
    printf("peak live bytes: %zu\nallocation failures: %ld\ncorruptions: %ld\n", peak, failures,
           corruptions);
    printf("checksum: %016llx\n", (unsigned long long)checksum);
    return failures != 0 || corruptions != 0;
}
