// Module tests for memory/: the walker on hand-built tables, checked access,
// the frame allocator and the mapping operations.
#include <gtest/gtest.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include <string>
#include <vector>

#include "memory/memory.h"

namespace
{

constexpr uint64_t kPage = GUEST_PAGE_SIZE;
constexpr uint64_t kRamSize = 16ULL << 20;
constexpr int kUserRW = GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_USER;
constexpr int kUserR = GUEST_PROT_READ | GUEST_PROT_USER;
constexpr uint64_t kTableFlags = PTE_PRESENT | PTE_WRITE | PTE_USER;

class MemoryTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        char *error = nullptr;
        memory_ = guest_memory_create(kRamSize, &error);
        ASSERT_NE(memory_, nullptr) << (error ? error : "");
    }
    void TearDown() override
    {
        guest_memory_destroy(memory_);
    }

    uint64_t *Table(uint64_t gpa)
    {
        return static_cast<uint64_t *>(guest_phys_to_host(memory_, gpa, kPage));
    }
    uint64_t AllocFrame()
    {
        uint64_t gpa = 0;
        EXPECT_TRUE(guest_frames_alloc(memory_, 1, &gpa));
        return gpa;
    }
    uint8_t *Host(uint64_t gpa, uint64_t len = 1)
    {
        return static_cast<uint8_t *>(guest_phys_to_host(memory_, gpa, len));
    }
    // The leaf entry of gva in the monitor's tables (walk must reach it).
    uint64_t Leaf(uint64_t gva)
    {
        struct guest_walk walk;
        guest_walk(memory_, guest_memory_cr3(memory_), gva, &walk);
        return walk.levels == 4 ? walk.entries[3] : 0;
    }
    uint64_t Translate(uint64_t gva)
    {
        struct guest_walk walk;
        EXPECT_TRUE(guest_walk(memory_, guest_memory_cr3(memory_), gva, &walk))
            << std::hex << gva << " " << guest_walk_status_string(walk.status);
        return walk.gpa;
    }
    // An anonymous mapping whose pages are backed at once (the program's
    // kinds are otherwise backed at first touch).
    int MapBacked(uint64_t start, uint64_t len, int prot, enum guest_region_kind kind,
                  const char *name)
    {
        int result = guest_map_anonymous(memory_, start, len, prot, kind, name);
        if (result == 0 && prot != GUEST_PROT_NONE)
            result = guest_populate(memory_, start, len);
        return result;
    }
    size_t RegionCount()
    {
        size_t count = 0;
        guest_region_foreach(
            memory_,
            [](const struct guest_region *, void *opaque) {
                ++*static_cast<size_t *>(opaque);
                return true;
            },
            &count);
        return count;
    }

    struct guest_memory *memory_ = nullptr;
};

// ---- creation ---------------------------------------------------------------

TEST(MemoryCreate, RejectsZeroAndAbsurdSizes)
{
    char *error = nullptr;
    EXPECT_EQ(guest_memory_create(0, &error), nullptr);
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(strchr(error, '\n'), nullptr);
    g_free(error);
    error = nullptr;
    EXPECT_EQ(guest_memory_create(UINT64_MAX, &error), nullptr);
    EXPECT_NE(error, nullptr);
    g_free(error);
    guest_memory_destroy(nullptr);
}

TEST(MemoryCreate, RoundsUpAndPlacesPml4InRam)
{
    char *error = nullptr;
    struct guest_memory *memory = guest_memory_create(kPage * 10 + 1, &error);
    ASSERT_NE(memory, nullptr);
    EXPECT_EQ(guest_memory_ram_size(memory), kPage * 11);
    EXPECT_NE(guest_memory_host_base(memory), nullptr);
    EXPECT_EQ(guest_memory_cr3(memory) % kPage, 0u);
    EXPECT_LT(guest_memory_cr3(memory), guest_memory_ram_size(memory));
    EXPECT_EQ(guest_frames_free_count(memory), 10u); // the PML4 took one
    EXPECT_EQ(guest_memory_generation(memory), 0u);
    guest_memory_destroy(memory);
}

TEST_F(MemoryTest, PhysToHostChecksBoundsWithoutOverflow)
{
    uint8_t *base = static_cast<uint8_t *>(guest_memory_host_base(memory_));
    EXPECT_EQ(guest_phys_to_host(memory_, 0, kRamSize), base);
    EXPECT_EQ(guest_phys_to_host(memory_, 0x1234, 10), base + 0x1234);
    EXPECT_EQ(guest_phys_to_host(memory_, kRamSize - 1, 1), base + kRamSize - 1);
    EXPECT_EQ(guest_phys_to_host(memory_, kRamSize - 1, 2), nullptr);
    EXPECT_EQ(guest_phys_to_host(memory_, kRamSize, 1), nullptr);
    EXPECT_EQ(guest_phys_to_host(memory_, 0, kRamSize + 1), nullptr);
    EXPECT_EQ(guest_phys_to_host(memory_, kPage, UINT64_MAX), nullptr);
    EXPECT_EQ(guest_phys_to_host(memory_, UINT64_MAX, 2), nullptr);
}

// ---- the walker on hand-built tables --------------------------------------

// Builds PML4 -> PDPT -> PD -> PT for one address in frames of its own.
class WalkTest : public MemoryTest
{
  protected:
    static constexpr uint64_t kGva = 0x00007f1234567abcULL;
    void SetUp() override
    {
        MemoryTest::SetUp();
        pml4_ = AllocFrame();
        pdpt_ = AllocFrame();
        pd_ = AllocFrame();
        pt_ = AllocFrame();
        frame_ = AllocFrame();
        Table(pml4_)[Index(kGva, 4)] = pdpt_ | kTableFlags;
        Table(pdpt_)[Index(kGva, 3)] = pd_ | kTableFlags;
        Table(pd_)[Index(kGva, 2)] = pt_ | kTableFlags;
        Table(pt_)[Index(kGva, 1)] = frame_ | PTE_PRESENT | PTE_WRITE | PTE_USER;
    }
    static unsigned Index(uint64_t gva, int level)
    {
        return (gva >> (12 + 9 * (level - 1))) & 511;
    }
    uint64_t pml4_, pdpt_, pd_, pt_, frame_;
};

TEST_F(WalkTest, FourKilobytePage)
{
    struct guest_walk walk;
    ASSERT_TRUE(guest_walk(memory_, pml4_, kGva, &walk));
    EXPECT_EQ(walk.status, GUEST_WALK_OK);
    EXPECT_EQ(walk.levels, 4);
    EXPECT_EQ(walk.gpa, frame_ + 0xabc);
    EXPECT_EQ(walk.page_size, 4096u);
    EXPECT_EQ(walk.entries[0], pdpt_ | kTableFlags);
    EXPECT_EQ(walk.entries[3], frame_ | PTE_PRESENT | PTE_WRITE | PTE_USER);
    EXPECT_TRUE(walk.writable);
    EXPECT_TRUE(walk.user);
    EXPECT_TRUE(walk.executable);
    // CR3's low bits (PCID, PWT/PCD) are not part of the address.
    EXPECT_TRUE(guest_walk(memory_, pml4_ | 0x18, kGva, &walk));
    EXPECT_EQ(walk.gpa, frame_ + 0xabc);
}

TEST_F(WalkTest, PatBitInPteIsNotAHugePage)
{
    Table(pt_)[Index(kGva, 1)] |= PTE_HUGE; // PAT at level 1
    struct guest_walk walk;
    ASSERT_TRUE(guest_walk(memory_, pml4_, kGva, &walk));
    EXPECT_EQ(walk.page_size, 4096u);
    EXPECT_EQ(walk.gpa, frame_ + 0xabc);
}

TEST_F(WalkTest, PermissionsAccumulateOverLevels)
{
    struct guest_walk walk;
    Table(pdpt_)[Index(kGva, 3)] &= ~PTE_USER;
    Table(pd_)[Index(kGva, 2)] |= PTE_NX;
    Table(pml4_)[Index(kGva, 4)] &= ~PTE_WRITE;
    ASSERT_TRUE(guest_walk(memory_, pml4_, kGva, &walk));
    EXPECT_FALSE(walk.user);
    EXPECT_FALSE(walk.executable);
    EXPECT_FALSE(walk.writable);
}

TEST_F(WalkTest, TwoMegabytePage)
{
    const uint64_t base = 0x400000; // 2 MiB aligned, inside 16 MiB of RAM
    Table(pd_)[Index(kGva, 2)] = base | PTE_PRESENT | PTE_HUGE | PTE_USER;
    struct guest_walk walk;
    ASSERT_TRUE(guest_walk(memory_, pml4_, kGva, &walk));
    EXPECT_EQ(walk.levels, 3);
    EXPECT_EQ(walk.page_size, 2u << 20);
    EXPECT_EQ(walk.gpa, base + (kGva & ((2u << 20) - 1)));
    EXPECT_FALSE(walk.writable);
    // Bits between the large-page PAT bit (12) and bit 21 are reserved.
    Table(pd_)[Index(kGva, 2)] |= 1ULL << 13;
    EXPECT_FALSE(guest_walk(memory_, pml4_, kGva, &walk));
    EXPECT_EQ(walk.status, GUEST_WALK_RESERVED_BIT);
    // The PAT bit itself is allowed.
    Table(pd_)[Index(kGva, 2)] = base | PTE_PRESENT | PTE_HUGE | (1ULL << 12);
    EXPECT_TRUE(guest_walk(memory_, pml4_, kGva, &walk));
    EXPECT_EQ(walk.gpa, base + (kGva & ((2u << 20) - 1)));
}

TEST_F(WalkTest, OneGigabytePage)
{
    // A 1 GiB page at physical 0: only its first 16 MiB are RAM.
    Table(pdpt_)[Index(kGva, 3)] = 0 | PTE_PRESENT | PTE_HUGE | PTE_WRITE | PTE_USER;
    const uint64_t inside = (kGva & ~((1ULL << 30) - 1)) + 0x123456;
    struct guest_walk walk;
    ASSERT_TRUE(guest_walk(memory_, pml4_, inside, &walk));
    EXPECT_EQ(walk.levels, 2);
    EXPECT_EQ(walk.page_size, 1ULL << 30);
    EXPECT_EQ(walk.gpa, 0x123456u);
    // Past RAM the frame is outside: the walk says so but still translates.
    const uint64_t outside = (kGva & ~((1ULL << 30) - 1)) + kRamSize + 0x10;
    EXPECT_FALSE(guest_walk(memory_, pml4_, outside, &walk));
    EXPECT_EQ(walk.status, GUEST_WALK_TABLE_OUTSIDE);
    EXPECT_EQ(walk.gpa, kRamSize + 0x10);
    // A 1 GiB frame address that is not 1 GiB aligned sets reserved bits.
    Table(pdpt_)[Index(kGva, 3)] = (2ULL << 20) | PTE_PRESENT | PTE_HUGE;
    EXPECT_FALSE(guest_walk(memory_, pml4_, inside, &walk));
    EXPECT_EQ(walk.status, GUEST_WALK_RESERVED_BIT);
}

TEST_F(WalkTest, HugeBitInPml4eIsReserved)
{
    Table(pml4_)[Index(kGva, 4)] |= PTE_HUGE;
    struct guest_walk walk;
    EXPECT_FALSE(guest_walk(memory_, pml4_, kGva, &walk));
    EXPECT_EQ(walk.status, GUEST_WALK_RESERVED_BIT);
    EXPECT_EQ(walk.levels, 1);
}

TEST_F(WalkTest, NotPresentAtEachLevel)
{
    uint64_t *entries[4] = {&Table(pml4_)[Index(kGva, 4)], &Table(pdpt_)[Index(kGva, 3)],
                            &Table(pd_)[Index(kGva, 2)], &Table(pt_)[Index(kGva, 1)]};
    for (int level = 0; level < 4; level++) {
        uint64_t saved = *entries[level];
        *entries[level] &= ~PTE_PRESENT;
        struct guest_walk walk;
        EXPECT_FALSE(guest_walk(memory_, pml4_, kGva, &walk));
        EXPECT_EQ(walk.status, GUEST_WALK_NOT_PRESENT) << "level " << level;
        EXPECT_EQ(walk.levels, level + 1);
        EXPECT_EQ(walk.entries[level], saved & ~PTE_PRESENT);
        *entries[level] = saved;
    }
}

TEST_F(WalkTest, NonCanonicalAddresses)
{
    struct guest_walk walk;
    for (uint64_t gva : {0x0000800000000000ULL, 0xffff7fffffffffffULL, 0x8000000000000000ULL,
                         0x0001000000000000ULL}) {
        EXPECT_FALSE(guest_walk(memory_, pml4_, gva, &walk)) << std::hex << gva;
        EXPECT_EQ(walk.status, GUEST_WALK_NON_CANONICAL);
        EXPECT_EQ(walk.levels, 0);
    }
    // The first upper-half address is canonical (just not mapped).
    EXPECT_FALSE(guest_walk(memory_, pml4_, 0xffff800000000000ULL, &walk));
    EXPECT_EQ(walk.status, GUEST_WALK_NOT_PRESENT);
}

TEST_F(WalkTest, TablesOutsideRamAreNeverRead)
{
    struct guest_walk walk;
    // CR3 itself outside RAM.
    EXPECT_FALSE(guest_walk(memory_, kRamSize, kGva, &walk));
    EXPECT_EQ(walk.status, GUEST_WALK_TABLE_OUTSIDE);
    EXPECT_EQ(walk.levels, 0);
    EXPECT_FALSE(guest_walk(memory_, 0x000ffffffffff000ULL, kGva, &walk));
    EXPECT_EQ(walk.status, GUEST_WALK_TABLE_OUTSIDE);
    // An entry at each level pointing past RAM (or at the very top of the
    // physical address space).
    uint64_t *entries[3] = {&Table(pml4_)[Index(kGva, 4)], &Table(pdpt_)[Index(kGva, 3)],
                            &Table(pd_)[Index(kGva, 2)]};
    for (int level = 0; level < 3; level++) {
        uint64_t saved = *entries[level];
        for (uint64_t bad : {kRamSize, uint64_t{PTE_ADDRESS_MASK}}) {
            *entries[level] = bad | kTableFlags;
            EXPECT_FALSE(guest_walk(memory_, pml4_, kGva, &walk));
            EXPECT_EQ(walk.status, GUEST_WALK_TABLE_OUTSIDE) << "level " << level;
            EXPECT_EQ(walk.levels, level + 1);
        }
        *entries[level] = saved;
    }
    // The final frame outside RAM.
    Table(pt_)[Index(kGva, 1)] = kRamSize | PTE_PRESENT;
    EXPECT_FALSE(guest_walk(memory_, pml4_, kGva, &walk));
    EXPECT_EQ(walk.status, GUEST_WALK_TABLE_OUTSIDE);
    EXPECT_EQ(walk.levels, 4);
    EXPECT_EQ(walk.gpa, kRamSize + (kGva & 0xfff));
}

TEST(MemoryWalk, StatusStringsAreDistinct)
{
    std::vector<std::string> seen;
    for (auto status : {GUEST_WALK_OK, GUEST_WALK_NON_CANONICAL, GUEST_WALK_NOT_PRESENT,
                        GUEST_WALK_RESERVED_BIT, GUEST_WALK_TABLE_OUTSIDE}) {
        std::string text = guest_walk_status_string(status);
        EXPECT_FALSE(text.empty());
        for (const auto &other : seen)
            EXPECT_NE(text, other);
        seen.push_back(text);
    }
    EXPECT_STREQ(guest_walk_status_string(GUEST_WALK_NOT_PRESENT), "not present");
}

// ---- the monitor's own tables ---------------------------------------------

TEST_F(MemoryTest, LeafAndIntermediateBits)
{
    const uint64_t data = 0x10000000, text = 0x20000000, kernel = 0x30000000;
    ASSERT_EQ(MapBacked(data, kPage, kUserRW, GUEST_REGION_MMAP, "d"), 0);
    ASSERT_EQ(MapBacked(text, kPage, kUserR | GUEST_PROT_EXEC, GUEST_REGION_MMAP, "t"), 0);
    ASSERT_EQ(
        MapBacked(kernel, kPage, GUEST_PROT_READ | GUEST_PROT_WRITE, GUEST_REGION_KERNEL, "k"), 0);
    uint64_t leaf = Leaf(data);
    EXPECT_TRUE(leaf & PTE_PRESENT);
    EXPECT_TRUE(leaf & PTE_WRITE);
    EXPECT_TRUE(leaf & PTE_USER);
    EXPECT_TRUE(leaf & PTE_NX);
    leaf = Leaf(text);
    EXPECT_FALSE(leaf & PTE_WRITE);
    EXPECT_TRUE(leaf & PTE_USER);
    EXPECT_FALSE(leaf & PTE_NX);
    leaf = Leaf(kernel);
    EXPECT_FALSE(leaf & PTE_USER);
    EXPECT_TRUE(leaf & PTE_NX);

    struct guest_walk walk;
    ASSERT_TRUE(guest_walk(memory_, guest_memory_cr3(memory_), data, &walk));
    for (int level = 0; level < 3; level++) {
        EXPECT_EQ(walk.entries[level] & kTableFlags, kTableFlags);
        EXPECT_FALSE(walk.entries[level] & PTE_NX);
        EXPECT_FALSE(walk.entries[level] & PTE_HUGE);
    }
}

// ---- frames -----------------------------------------------------------------

TEST_F(MemoryTest, FramesAreContiguousAndCounted)
{
    uint64_t before = guest_frames_free_count(memory_);
    uint64_t a, b;
    ASSERT_TRUE(guest_frames_alloc(memory_, 8, &a));
    ASSERT_TRUE(guest_frames_alloc(memory_, 3, &b));
    EXPECT_EQ(a % kPage, 0u);
    EXPECT_EQ(guest_frames_free_count(memory_), before - 11);
    // The runs do not overlap and lie in RAM.
    EXPECT_TRUE(b + 3 * kPage <= a || a + 8 * kPage <= b);
    EXPECT_NE(Host(a, 8 * kPage), nullptr);
    EXPECT_NE(Host(b, 3 * kPage), nullptr);
    // Neither overlaps the PML4.
    uint64_t cr3 = guest_memory_cr3(memory_);
    EXPECT_TRUE(cr3 < a || cr3 >= a + 8 * kPage);
    EXPECT_FALSE(guest_frames_alloc(memory_, 0, &a));
}

TEST_F(MemoryTest, FramesExhaustAndComeBack)
{
    uint64_t all = guest_frames_free_count(memory_), gpa, one;
    EXPECT_FALSE(guest_frames_alloc(memory_, all + 1, &gpa));
    ASSERT_TRUE(guest_frames_alloc(memory_, all, &gpa));
    EXPECT_EQ(guest_frames_free_count(memory_), 0u);
    EXPECT_FALSE(guest_frames_alloc(memory_, 1, &one));
    guest_frames_free(memory_, gpa + 5 * kPage, 1);
    EXPECT_EQ(guest_frames_free_count(memory_), 1u);
    ASSERT_TRUE(guest_frames_alloc(memory_, 1, &one));
    EXPECT_EQ(one, gpa + 5 * kPage);
    EXPECT_FALSE(guest_frames_alloc(memory_, UINT64_MAX, &one));
}

TEST_F(MemoryTest, FragmentedFramesHaveNoLongRun)
{
    uint64_t all = guest_frames_free_count(memory_), gpa, run;
    ASSERT_TRUE(guest_frames_alloc(memory_, all, &gpa));
    for (uint64_t i = 0; i < 16; i += 2)
        guest_frames_free(memory_, gpa + i * kPage, 1);
    EXPECT_EQ(guest_frames_free_count(memory_), 8u);
    EXPECT_FALSE(guest_frames_alloc(memory_, 2, &run));
    guest_frames_free(memory_, gpa + 1 * kPage, 1); // joins frames 0..2
    ASSERT_TRUE(guest_frames_alloc(memory_, 3, &run));
    EXPECT_EQ(run, gpa);
}

TEST_F(MemoryTest, FreedFramesReadAsZero)
{
    uint64_t gpa, again;
    ASSERT_TRUE(guest_frames_alloc(memory_, 4, &gpa));
    for (uint64_t i = 0; i < 4 * kPage; i++)
        EXPECT_EQ(Host(gpa)[i], 0) << i;
    memset(Host(gpa, 4 * kPage), 0xa5, 4 * kPage);
    guest_frames_free(memory_, gpa, 4);
    ASSERT_TRUE(guest_frames_alloc(memory_, 4, &again));
    ASSERT_EQ(again, gpa); // top-down: the same frames come back
    for (uint64_t i = 0; i < 4 * kPage; i++)
        ASSERT_EQ(Host(again)[i], 0) << i;
}

TEST_F(MemoryTest, ReserveConflicts)
{
    uint64_t before = guest_frames_free_count(memory_);
    EXPECT_TRUE(guest_frames_reserve(memory_, 0x100000, 0x10000));
    EXPECT_EQ(guest_frames_free_count(memory_), before - 16);
    EXPECT_FALSE(guest_frames_reserve(memory_, 0x10f000, kPage));
    EXPECT_FALSE(guest_frames_reserve(memory_, 0xff000, 2 * kPage)); // overlaps the start
    EXPECT_EQ(guest_frames_free_count(memory_), before - 16);        // nothing half-done
    // Unaligned ranges cover every frame they touch.
    EXPECT_TRUE(guest_frames_reserve(memory_, 0x200ffe, 4));
    EXPECT_FALSE(guest_frames_reserve(memory_, 0x201000, 1));
    EXPECT_FALSE(guest_frames_reserve(memory_, 0x200000, 1));
    // Outside RAM, overflowing, or the PML4.
    EXPECT_FALSE(guest_frames_reserve(memory_, kRamSize, kPage));
    EXPECT_FALSE(guest_frames_reserve(memory_, kRamSize - kPage, 2 * kPage));
    EXPECT_FALSE(guest_frames_reserve(memory_, UINT64_MAX - 1, 4));
    EXPECT_FALSE(guest_frames_reserve(memory_, kPage, UINT64_MAX));
    EXPECT_FALSE(guest_frames_reserve(memory_, guest_memory_cr3(memory_), kPage));
    // An allocated frame cannot be reserved.
    uint64_t gpa;
    ASSERT_TRUE(guest_frames_alloc(memory_, 1, &gpa));
    EXPECT_FALSE(guest_frames_reserve(memory_, gpa, kPage));
}

TEST_F(MemoryTest, AllocatorNeverHandsOutReservedFrames)
{
    ASSERT_TRUE(guest_frames_reserve(memory_, 0, kRamSize - 2 * kPage)); // all but the top 2
    uint64_t gpa;
    ASSERT_EQ(guest_frames_free_count(memory_), 1u); // the PML4 holds the last
    ASSERT_TRUE(guest_frames_alloc(memory_, 1, &gpa));
    EXPECT_EQ(gpa, kRamSize - 2 * kPage);
    EXPECT_FALSE(guest_frames_alloc(memory_, 1, &gpa));
}

TEST_F(MemoryTest, FreeingAPageTableIsIgnored)
{
    ASSERT_EQ(MapBacked(0x10000000, kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    uint64_t before = guest_frames_free_count(memory_);
    guest_frames_free(memory_, guest_memory_cr3(memory_), 1);
    struct guest_walk walk;
    ASSERT_TRUE(guest_walk(memory_, guest_memory_cr3(memory_), 0x10000000, &walk));
    for (int level = 0; level < 3; level++)
        guest_frames_free(memory_, walk.entries[level] & PTE_ADDRESS_MASK, 1);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
    EXPECT_TRUE(guest_walk(memory_, guest_memory_cr3(memory_), 0x10000000, &walk));
    // Out of range and free frames are ignored too.
    guest_frames_free(memory_, kRamSize, 1);
    guest_frames_free(memory_, UINT64_MAX & GUEST_PAGE_MASK, UINT64_MAX);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
}

// ---- identity, anonymous and physical mappings -----------------------------

TEST_F(MemoryTest, IdentityMapping)
{
    const uint64_t start = 0x400000, len = 5 * kPage;
    ASSERT_EQ(guest_map_identity(memory_, start, len, kUserR | GUEST_PROT_EXEC,
                                 GUEST_REGION_PROGRAM, "hello"),
              0);
    for (uint64_t page = start; page < start + len; page += kPage)
        EXPECT_EQ(Translate(page + 7), page + 7);
    EXPECT_FALSE(guest_frames_reserve(memory_, start + kPage, kPage)); // reserved
    const struct guest_region *region = guest_region_lookup(memory_, start + len - 1);
    ASSERT_NE(region, nullptr);
    EXPECT_EQ(region->start, start);
    EXPECT_EQ(region->end, start + len);
    EXPECT_EQ(region->kind, GUEST_REGION_PROGRAM);
    EXPECT_STREQ(region->name, "hello");
    EXPECT_EQ(guest_region_lookup(memory_, start + len), nullptr);
    EXPECT_EQ(guest_region_lookup(memory_, start - 1), nullptr);

    // Overlaps in the map, frames already used, or outside RAM.
    EXPECT_EQ(guest_map_identity(memory_, start + len - kPage, 2 * kPage, kUserR,
                                 GUEST_REGION_PROGRAM, ""),
              -EEXIST);
    EXPECT_EQ(guest_map_identity(memory_, guest_memory_cr3(memory_), kPage, kUserR,
                                 GUEST_REGION_PROGRAM, ""),
              -EEXIST); // a page table is never handed to the guest
    EXPECT_EQ(guest_map_identity(memory_, kRamSize, kPage, kUserR, GUEST_REGION_PROGRAM, ""),
              -EINVAL);
    EXPECT_EQ(
        guest_map_identity(memory_, kRamSize - kPage, 2 * kPage, kUserR, GUEST_REGION_PROGRAM, ""),
        -EINVAL);
    EXPECT_EQ(RegionCount(), 1u);
}

TEST_F(MemoryTest, IdentityFramesConflictWithReservedFrames)
{
    ASSERT_TRUE(guest_frames_reserve(memory_, 0x102000, kPage));
    uint64_t before = guest_frames_free_count(memory_);
    EXPECT_EQ(
        guest_map_identity(memory_, 0x100000, 4 * kPage, GUEST_PROT_READ, GUEST_REGION_KERNEL, "k"),
        -EEXIST);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
    EXPECT_EQ(RegionCount(), 0u);
    EXPECT_TRUE(guest_frames_reserve(memory_, 0x100000, kPage)); // left free
}

TEST_F(MemoryTest, BadArgumentsAreRejected)
{
    const uint64_t ok = 0x10000000;
    auto map = [&](uint64_t start, uint64_t len, int prot = kUserRW) {
        return guest_map_anonymous(memory_, start, len, prot, GUEST_REGION_MMAP, "");
    };
    EXPECT_EQ(map(ok, 0), -EINVAL);
    EXPECT_EQ(map(ok + 1, kPage), -EINVAL);
    EXPECT_EQ(map(ok, kPage + 1), -EINVAL);
    EXPECT_EQ(map(ok, kPage, 0x100), -EINVAL);
    // Wrapping and non-canonical ranges.
    EXPECT_EQ(map(0xfffffffffffff000ULL, kPage * 2), -EINVAL);
    EXPECT_EQ(map(ok, UINT64_MAX & GUEST_PAGE_MASK), -EINVAL);
    EXPECT_EQ(map(0x00007ffffffff000ULL, 2 * kPage), -EINVAL); // runs into the hole
    EXPECT_EQ(map(0x0000800000000000ULL, kPage), -EINVAL);
    EXPECT_EQ(map(0x00007ffffffff000ULL, 0xffff800000000000ULL - 0x00007ffffffff000ULL + kPage),
              -EINVAL); // spans both halves
    EXPECT_EQ(guest_unmap(memory_, ok, 0), -EINVAL);
    EXPECT_EQ(guest_unmap(memory_, 0x0000800000000000ULL, kPage), -EINVAL);
    EXPECT_EQ(guest_protect(memory_, ok + 5, kPage, kUserR), -EINVAL);
    EXPECT_EQ(
        guest_reserve_range(memory_, ok, UINT64_MAX & GUEST_PAGE_MASK, GUEST_REGION_GUARD, ""),
        -EINVAL);
    EXPECT_EQ(guest_map_physical(memory_, ok, 0x123, kPage, kUserRW, GUEST_REGION_DEVICE, ""),
              -EINVAL);
    EXPECT_EQ(guest_map_physical(memory_, ok, 1ULL << 52, kPage, kUserRW, GUEST_REGION_DEVICE, ""),
              -EINVAL);
    EXPECT_EQ(RegionCount(), 0u);
    // The upper half works.
    EXPECT_EQ(MapBacked(0xffff800000000000ULL, kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    EXPECT_EQ(MapBacked(0xffffffff80000000ULL, kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    EXPECT_EQ(Leaf(0xffffffff80000000ULL) & PTE_PRESENT, PTE_PRESENT);
}

TEST_F(MemoryTest, AnonymousMappingIsZeroedAndContiguous)
{
    const uint64_t start = 0x7f0000000000ULL, pages = 64;
    uint64_t before = guest_frames_free_count(memory_);
    ASSERT_EQ(MapBacked(start, pages * kPage, kUserRW, GUEST_REGION_MMAP, "m"), 0);
    uint64_t first = Translate(start);
    for (uint64_t i = 0; i < pages; i++) {
        EXPECT_EQ(Translate(start + i * kPage), first + i * kPage);
        EXPECT_FALSE(guest_frames_reserve(memory_, first + i * kPage, kPage));
    }
    std::vector<uint8_t> buf(pages * kPage, 0xff);
    ASSERT_EQ(guest_read(memory_, start, buf.data(), buf.size(), GUEST_ACCESS_USER_READ), 0);
    for (uint8_t byte : buf)
        ASSERT_EQ(byte, 0);
    // 64 frames plus PDPT, PD and PT.
    EXPECT_EQ(guest_frames_free_count(memory_), before - pages - 3);
}

TEST_F(MemoryTest, AnonymousMappingFallsBackToShorterRuns)
{
    // Leave only scattered pairs of free frames.
    uint64_t all = guest_frames_free_count(memory_), gpa;
    ASSERT_TRUE(guest_frames_alloc(memory_, all, &gpa));
    for (uint64_t i = 0; i < 40; i += 4)
        guest_frames_free(memory_, gpa + i * kPage, 2);
    // 10 pairs = 20 frames; 3 go to tables, 16 to the mapping.
    ASSERT_EQ(
        guest_map_anonymous(memory_, 0x10000000, 16 * kPage, kUserRW, GUEST_REGION_HEAP, "[heap]"),
        0);
    std::vector<uint8_t> data(16 * kPage);
    for (size_t i = 0; i < data.size(); i++)
        data[i] = static_cast<uint8_t>(i * 7 + i / kPage);
    ASSERT_EQ(guest_write(memory_, 0x10000000, data.data(), data.size(), GUEST_ACCESS_USER_WRITE),
              0);
    std::vector<uint8_t> back(data.size());
    ASSERT_EQ(guest_read(memory_, 0x10000000, back.data(), back.size(), GUEST_ACCESS_USER_READ), 0);
    EXPECT_EQ(back, data);
    EXPECT_EQ(guest_frames_free_count(memory_), 1u);
}

// Overcommit, as Linux's: mapping takes no frame, so mappings may add up to
// more than RAM; a first touch that finds no frame says so, and changes
// nothing.
TEST_F(MemoryTest, AnonymousMappingsOvercommitAndRunOutAtTouch)
{
    const uint64_t start = 0x10000000;
    uint64_t before = guest_frames_free_count(memory_);
    ASSERT_EQ(guest_map_anonymous(memory_, start, 4 * kRamSize, kUserRW, GUEST_REGION_MMAP, ""), 0);
    ASSERT_EQ(guest_map_anonymous(memory_, start + 4 * kRamSize, 4 * kRamSize, kUserRW,
                                  GUEST_REGION_HEAP, ""),
              0);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
    struct guest_walk walk;
    EXPECT_FALSE(guest_walk(memory_, guest_memory_cr3(memory_), start, &walk));
    EXPECT_EQ(walk.levels, 1) << "no table written at mmap";
    // Backing it all runs out (2 MiB at a time); what was backed stays.
    EXPECT_EQ(guest_populate(memory_, start, 4 * kRamSize), -ENOMEM);
    EXPECT_LT(guest_frames_free_count(memory_), 512u + 1);
    // Touches take what is left, one page each once RAM is short.
    const uint64_t far = start + 6 * kRamSize;
    uint64_t touched = 0;
    while (touched < 600 && guest_fault_first_touch(memory_, far + touched * kPage, true, false) ==
                                GUEST_TOUCH_MAPPED)
        touched++;
    EXPECT_LT(touched, 600u);
    uint64_t left = guest_frames_free_count(memory_);
    EXPECT_EQ(guest_fault_first_touch(memory_, far + touched * kPage, true, false),
              GUEST_TOUCH_NO_MEMORY);
    EXPECT_EQ(guest_write(memory_, far + touched * kPage, "x", 1, GUEST_ACCESS_USER_WRITE),
              -EFAULT);
    EXPECT_EQ(guest_frames_free_count(memory_), left);
    // Unmapping gives every frame back, tables included.
    ASSERT_EQ(guest_unmap(memory_, start, 8 * kRamSize), 0);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
    EXPECT_EQ(guest_fault_first_touch(memory_, far, true, false), GUEST_TOUCH_NOT_LAZY);
}

// The program's anonymous memory: frames at the first touch, for the 2 MiB
// around it (one 2 MiB page where the mapping covers it), nothing for reads
// by the monitor, and never for an access the protection refuses.
TEST_F(MemoryTest, FirstTouchBacksTheBlockAround)
{
    const uint64_t start = 0x40000000; // 2 MiB aligned
    uint64_t before = guest_frames_free_count(memory_);
    // Small mappings are backed at mmap while RAM is plentiful: use up most
    // of it first (what is left stays above the 1/16 of single pages).
    uint64_t all = guest_frames_free_count(memory_), gpa;
    ASSERT_TRUE(guest_frames_alloc(memory_, all - 1000, &gpa));
    before = guest_frames_free_count(memory_);
    ASSERT_EQ(guest_map_anonymous(memory_, start, 4 << 20, kUserRW, GUEST_REGION_MMAP, "rw"), 0);
    ASSERT_EQ(
        guest_map_anonymous(memory_, start + (4 << 20), kPage, kUserR, GUEST_REGION_MMAP, "ro"), 0);
    ASSERT_EQ(guest_map_anonymous(memory_, start + (4 << 20) + kPage, 3 * kPage, kUserRW,
                                  GUEST_REGION_STACK, "small"),
              0);
    // The monitor's reads see zeros and back nothing.
    std::vector<uint8_t> buf(3 * kPage, 0xff);
    ASSERT_EQ(guest_read(memory_, start + 100, buf.data(), buf.size(), GUEST_ACCESS_USER_READ), 0);
    for (uint8_t byte : buf)
        ASSERT_EQ(byte, 0);
    char text[8] = "x";
    EXPECT_EQ(guest_read_string(memory_, start, text, sizeof(text), GUEST_ACCESS_USER_READ), 0);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
    // A write, a read-only page, a page outside every mapping.
    EXPECT_EQ(guest_fault_first_touch(memory_, start + (4 << 20), true, false),
              GUEST_TOUCH_NOT_LAZY);
    EXPECT_EQ(guest_fault_first_touch(memory_, start + (4 << 20), false, true),
              GUEST_TOUCH_NOT_LAZY);
    EXPECT_EQ(guest_fault_first_touch(memory_, start - kPage, false, false), GUEST_TOUCH_NOT_LAZY);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
    EXPECT_EQ(guest_fault_first_touch(memory_, start + (3 << 20) + 5, true, false),
              GUEST_TOUCH_MAPPED);
    struct guest_walk walk;
    ASSERT_TRUE(guest_walk(memory_, guest_memory_cr3(memory_), start + (3 << 20), &walk));
    EXPECT_EQ(walk.page_size, 2ULL << 20);
    EXPECT_TRUE(walk.writable && walk.user);
    // 512 frames, a PD and a PDPT (the 2 MiB page keeps its table aside).
    EXPECT_EQ(guest_frames_free_count(memory_), before - 512 - 3);
    EXPECT_FALSE(guest_walk(memory_, guest_memory_cr3(memory_), start, &walk));
    // Backed meanwhile by another thread: retried.
    EXPECT_EQ(guest_fault_first_touch(memory_, start + (3 << 20), true, false), GUEST_TOUCH_MAPPED);
    // A read touch of the read-only page backs it (and only it: the block
    // around it is other mappings); the small stack's write backs its 3.
    uint64_t now = guest_frames_free_count(memory_);
    EXPECT_EQ(guest_fault_first_touch(memory_, start + (4 << 20), false, false),
              GUEST_TOUCH_MAPPED);
    EXPECT_EQ(guest_write(memory_, start + (4 << 20) + 2 * kPage, "hi", 3, GUEST_ACCESS_USER_WRITE),
              0);
    EXPECT_EQ(guest_frames_free_count(memory_), now - 1 - 3 - 1);
    EXPECT_EQ(guest_read_string(memory_, start + (4 << 20) + 2 * kPage, text, sizeof(text),
                                GUEST_ACCESS_USER_READ),
              2);
    EXPECT_STREQ(text, "hi");
    ASSERT_EQ(guest_unmap(memory_, start, (4 << 20) + 4 * kPage), 0);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
}

// Memory filled upwards: a touch whose page below is backed backs 14 MiB
// more ahead, so a heap filling up takes a fault per 16 MiB.
TEST(MemoryFirstTouch, BacksAheadWhenFillingUpwards)
{
    char *error = nullptr;
    struct guest_memory *memory = guest_memory_create(64ULL << 20, &error);
    ASSERT_NE(memory, nullptr) << (error ? error : "");
    const uint64_t start = 0x40000000, mib = 1 << 20;
    ASSERT_EQ(guest_map_anonymous(memory, start, 32 * mib, kUserRW, GUEST_REGION_MMAP, ""), 0);
    struct guest_walk walk;
    auto backed = [&](uint64_t address) {
        return guest_walk(memory, guest_memory_cr3(memory), address, &walk);
    };
    EXPECT_EQ(guest_fault_first_touch(memory, start, true, false), GUEST_TOUCH_MAPPED);
    EXPECT_TRUE(backed(start + 2 * mib - 1));
    EXPECT_FALSE(backed(start + 2 * mib)) << "nothing below the first: its 2 MiB alone";
    EXPECT_EQ(guest_fault_first_touch(memory, start + 2 * mib, true, false), GUEST_TOUCH_MAPPED);
    EXPECT_TRUE(backed(start + 18 * mib - 1));
    EXPECT_FALSE(backed(start + 18 * mib));
    // At the end of the mapping, no further than it.
    EXPECT_EQ(guest_fault_first_touch(memory, start + 18 * mib, true, false), GUEST_TOUCH_MAPPED);
    EXPECT_TRUE(backed(start + 32 * mib - 1));
    guest_memory_destroy(memory);
}

// With little RAM left, a first touch takes one page, not its 2 MiB.
TEST_F(MemoryTest, FirstTouchTakesOnePageWhenRamIsShort)
{
    const uint64_t start = 0x40000000;
    uint64_t all = guest_frames_free_count(memory_), gpa;
    ASSERT_TRUE(guest_frames_alloc(memory_, all - 64, &gpa));
    ASSERT_EQ(guest_map_anonymous(memory_, start, 2 << 20, kUserRW, GUEST_REGION_MMAP, ""), 0);
    EXPECT_EQ(guest_fault_first_touch(memory_, start + kPage, false, false), GUEST_TOUCH_MAPPED);
    EXPECT_EQ(guest_frames_free_count(memory_), 64u - 1 - 3);
    EXPECT_EQ(Leaf(start) & PTE_PRESENT, 0u);
    EXPECT_NE(Leaf(start + kPage) & PTE_PRESENT, 0u);
}

TEST_F(MemoryTest, PhysicalMapping)
{
    // A device page outside RAM: translates, but is not readable.
    const uint64_t doorbell = 0x1ff000, device_gpa = 1ULL << 40;
    ASSERT_EQ(guest_map_physical(memory_, doorbell, device_gpa, kPage, kUserRW, GUEST_REGION_DEVICE,
                                 "doorbell"),
              0);
    struct guest_walk walk;
    EXPECT_FALSE(guest_walk(memory_, guest_memory_cr3(memory_), doorbell + 8, &walk));
    EXPECT_EQ(walk.status, GUEST_WALK_TABLE_OUTSIDE);
    EXPECT_EQ(walk.gpa, device_gpa + 8);
    EXPECT_TRUE(walk.user && walk.writable);
    uint64_t value = 0;
    EXPECT_EQ(guest_read(memory_, doorbell, &value, 8, GUEST_ACCESS_DEBUG), -EFAULT);
    EXPECT_EQ(guest_write(memory_, doorbell, &value, 8, GUEST_ACCESS_DEBUG), -EFAULT);

    // Inside RAM only used frames that are not page tables.
    EXPECT_EQ(
        guest_map_physical(memory_, 0x10000000, 0x800000, kPage, kUserRW, GUEST_REGION_MMAP, ""),
        -EINVAL);
    EXPECT_EQ(guest_map_physical(memory_, 0x10000000, guest_memory_cr3(memory_), kPage, kUserRW,
                                 GUEST_REGION_MMAP, ""),
              -EINVAL);
    ASSERT_TRUE(guest_frames_reserve(memory_, 0x800000, 2 * kPage));
    const uint64_t alias = 0x7f0000000000ULL; // tables of its own
    ASSERT_EQ(guest_map_physical(memory_, alias, 0x800000, 2 * kPage, kUserRW, GUEST_REGION_MMAP,
                                 "alias"),
              0);
    EXPECT_EQ(Translate(alias + 0x1010), 0x801010u);
    // Unmapping does not free frames it does not own.
    uint64_t before = guest_frames_free_count(memory_);
    ASSERT_EQ(guest_unmap(memory_, alias, 2 * kPage), 0);
    EXPECT_FALSE(guest_frames_reserve(memory_, 0x800000, kPage));
    EXPECT_EQ(guest_frames_free_count(memory_), before + 3); // only the tables
}

// ---- checked access ---------------------------------------------------------

// Two virtual pages on frames in reverse physical order, so that a copy
// that assumed contiguity would go to the wrong place.
class AccessTest : public MemoryTest
{
  protected:
    static constexpr uint64_t kStart = 0x7f0000000000ULL;
    void SetUp() override
    {
        MemoryTest::SetUp();
        ASSERT_TRUE(guest_frames_reserve(memory_, kLow, kPage));
        ASSERT_TRUE(guest_frames_reserve(memory_, kHigh, kPage));
        ASSERT_EQ(
            guest_map_physical(memory_, kStart, kHigh, kPage, kUserRW, GUEST_REGION_MMAP, "a"), 0);
        ASSERT_EQ(guest_map_physical(memory_, kStart + kPage, kLow, kPage, kUserRW,
                                     GUEST_REGION_MMAP, "b"),
                  0);
    }
    static constexpr uint64_t kLow = 0x200000, kHigh = 0x300000;
};

TEST_F(AccessTest, CopiesSpanPagesWithDifferentFrames)
{
    char message[200];
    for (size_t i = 0; i < sizeof(message); i++)
        message[i] = static_cast<char>('A' + i % 26);
    const uint64_t gva = kStart + kPage - 100;
    ASSERT_EQ(guest_write(memory_, gva, message, sizeof(message), GUEST_ACCESS_USER_WRITE), 0);
    EXPECT_EQ(memcmp(Host(kHigh + kPage - 100, 100), message, 100), 0);
    EXPECT_EQ(memcmp(Host(kLow, 100), message + 100, 100), 0);
    EXPECT_EQ(Host(kLow)[100], 0);
    EXPECT_EQ(Host(kHigh)[kPage - 101], 0);
    char back[200] = {};
    ASSERT_EQ(guest_read(memory_, gva, back, sizeof(back), GUEST_ACCESS_USER_READ), 0);
    EXPECT_EQ(memcmp(back, message, sizeof(back)), 0);
}

TEST_F(AccessTest, IovecsFollowHostContiguity)
{
    struct iovec iov[4];
    // Across the two pages: two pieces, each pointing at its frame.
    ASSERT_EQ(guest_iovec(memory_, kStart + 10, 2 * kPage - 20, GUEST_ACCESS_USER_WRITE, iov, 4),
              2);
    EXPECT_EQ(iov[0].iov_base, Host(kHigh + 10));
    EXPECT_EQ(iov[0].iov_len, kPage - 10);
    EXPECT_EQ(iov[1].iov_base, Host(kLow));
    EXPECT_EQ(iov[1].iov_len, kPage - 10);
    EXPECT_EQ(guest_iovec(memory_, kStart + 10, 2 * kPage - 20, GUEST_ACCESS_USER_WRITE, iov, 1),
              -E2BIG);
    EXPECT_EQ(guest_iovec(memory_, kStart, 0, GUEST_ACCESS_USER_WRITE, iov, 0), 0);
    // A fault is reported even when the iovecs ran out first.
    EXPECT_EQ(guest_iovec(memory_, kStart, 3 * kPage, GUEST_ACCESS_USER_WRITE, iov, 1), -EFAULT);
    EXPECT_EQ(guest_iovec(memory_, UINT64_MAX - 10, 100, GUEST_ACCESS_DEBUG, iov, 4), -EFAULT);

    // Contiguous frames merge into one iovec.
    const uint64_t anon = 0x10000000;
    ASSERT_EQ(MapBacked(anon, 8 * kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    ASSERT_EQ(guest_iovec(memory_, anon + 1, 8 * kPage - 1, GUEST_ACCESS_USER_READ, iov, 4), 1);
    EXPECT_EQ(iov[0].iov_base, Host(Translate(anon + 1)));
    EXPECT_EQ(iov[0].iov_len, 8 * kPage - 1);
}

TEST_F(MemoryTest, PermissionsPerAccessKind)
{
    const uint64_t kernel = 0x100000, user_ro = 0x10000000, none = 0x20000000;
    ASSERT_EQ(guest_map_identity(memory_, kernel, kPage, GUEST_PROT_READ | GUEST_PROT_WRITE,
                                 GUEST_REGION_KERNEL, "k"),
              0);
    ASSERT_EQ(guest_map_anonymous(memory_, user_ro, kPage, kUserR, GUEST_REGION_MMAP, ""), 0);
    ASSERT_EQ(guest_map_anonymous(memory_, none, kPage, GUEST_PROT_NONE | GUEST_PROT_USER,
                                  GUEST_REGION_MMAP, ""),
              0);
    uint32_t value = 0x12345678, back = 0;
    // Supervisor page: no user access, the debugger may.
    EXPECT_EQ(guest_read(memory_, kernel, &back, 4, GUEST_ACCESS_USER_READ), -EFAULT);
    EXPECT_EQ(guest_write(memory_, kernel, &value, 4, GUEST_ACCESS_USER_WRITE), -EFAULT);
    EXPECT_EQ(guest_write(memory_, kernel, &value, 4, GUEST_ACCESS_DEBUG), 0);
    EXPECT_EQ(guest_read(memory_, kernel, &back, 4, GUEST_ACCESS_DEBUG), 0);
    EXPECT_EQ(back, value);
    // Read-only user page.
    EXPECT_EQ(guest_read(memory_, user_ro, &back, 4, GUEST_ACCESS_USER_READ), 0);
    EXPECT_EQ(guest_write(memory_, user_ro, &value, 4, GUEST_ACCESS_USER_WRITE), -EFAULT);
    EXPECT_EQ(guest_write(memory_, user_ro, &value, 4, GUEST_ACCESS_DEBUG), 0); // debugger
    EXPECT_EQ(guest_read(memory_, user_ro, &back, 4, GUEST_ACCESS_USER_READ), 0);
    EXPECT_EQ(back, value);
    // PROT_NONE: not present, even for the debugger.
    EXPECT_EQ(guest_read(memory_, none, &back, 4, GUEST_ACCESS_DEBUG), -EFAULT);
    // Unmapped, non-canonical, wrapping.
    EXPECT_EQ(guest_read(memory_, 0x30000000, &back, 4, GUEST_ACCESS_DEBUG), -EFAULT);
    EXPECT_EQ(guest_read(memory_, 0x0000800000000000ULL, &back, 4, GUEST_ACCESS_DEBUG), -EFAULT);
    EXPECT_EQ(guest_read(memory_, UINT64_MAX - 1, &back, 4, GUEST_ACCESS_DEBUG), -EFAULT);
    // Zero length touches nothing.
    EXPECT_EQ(guest_read(memory_, 0x0000800000000000ULL, nullptr, 0, GUEST_ACCESS_USER_READ), 0);
    EXPECT_EQ(guest_write(memory_, 0, nullptr, 0, GUEST_ACCESS_USER_WRITE), 0);
}

TEST_F(MemoryTest, FailedWriteWritesNothing)
{
    const uint64_t start = 0x10000000;
    ASSERT_EQ(guest_map_anonymous(memory_, start, 2 * kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    ASSERT_EQ(guest_map_anonymous(memory_, start + 2 * kPage, kPage, kUserR, GUEST_REGION_MMAP, ""),
              0);
    std::vector<uint8_t> ones(3 * kPage, 1);
    // Ends in the read-only page.
    EXPECT_EQ(guest_write(memory_, start + 8, ones.data(), 3 * kPage - 8, GUEST_ACCESS_USER_WRITE),
              -EFAULT);
    // Ends in an unmapped page.
    EXPECT_EQ(guest_write(memory_, start + 8, ones.data(), 3 * kPage, GUEST_ACCESS_DEBUG), -EFAULT);
    // Huge lengths fail before the copy.
    EXPECT_EQ(guest_write(memory_, start, ones.data(), SIZE_MAX, GUEST_ACCESS_DEBUG), -EFAULT);
    EXPECT_EQ(guest_write(memory_, start, ones.data(), SIZE_MAX / 2, GUEST_ACCESS_DEBUG), -EFAULT);
    std::vector<uint8_t> back(3 * kPage, 0xff);
    ASSERT_EQ(guest_read(memory_, start, back.data(), back.size(), GUEST_ACCESS_USER_READ), 0);
    for (uint8_t byte : back)
        ASSERT_EQ(byte, 0);
}

TEST_F(MemoryTest, ReadString)
{
    const uint64_t start = 0x10000000;
    ASSERT_EQ(guest_map_anonymous(memory_, start, 2 * kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    const char text[] = "hello, page boundary";
    // Spans the two pages.
    const uint64_t across = start + kPage - 5;
    ASSERT_EQ(guest_write(memory_, across, text, sizeof(text), GUEST_ACCESS_USER_WRITE), 0);
    char buf[64];
    EXPECT_EQ(guest_read_string(memory_, across, buf, sizeof(buf), GUEST_ACCESS_USER_READ),
              (long)strlen(text));
    EXPECT_STREQ(buf, text);
    // Ends right before an unmapped page: nothing past the NUL is read.
    const uint64_t at_end = start + 2 * kPage - 4;
    ASSERT_EQ(guest_write(memory_, at_end, "abc", 4, GUEST_ACCESS_USER_WRITE), 0);
    EXPECT_EQ(guest_read_string(memory_, at_end, buf, sizeof(buf), GUEST_ACCESS_USER_READ), 3);
    EXPECT_STREQ(buf, "abc");
    // Runs into the unmapped page.
    ASSERT_EQ(guest_write(memory_, at_end, "abcd", 4, GUEST_ACCESS_USER_WRITE), 0);
    EXPECT_EQ(guest_read_string(memory_, at_end, buf, sizeof(buf), GUEST_ACCESS_USER_READ),
              -EFAULT);
    // Too long for the buffer: exactly size - 1 characters is too long.
    EXPECT_EQ(guest_read_string(memory_, across, buf, strlen(text), GUEST_ACCESS_USER_READ),
              -ENAMETOOLONG);
    EXPECT_EQ(guest_read_string(memory_, across, buf, strlen(text) + 1, GUEST_ACCESS_USER_READ),
              (long)strlen(text));
    EXPECT_EQ(guest_read_string(memory_, across, buf, 0, GUEST_ACCESS_USER_READ), -ENAMETOOLONG);
    EXPECT_EQ(guest_read_string(memory_, start, buf, 1, GUEST_ACCESS_USER_READ), 0);
    EXPECT_EQ(buf[0], '\0');
    EXPECT_EQ(
        guest_read_string(memory_, 0x0000800000000000ULL, buf, sizeof(buf), GUEST_ACCESS_DEBUG),
        -EFAULT);
}

// ---- unmap, protect, move ---------------------------------------------------

TEST_F(MemoryTest, UnmapSplitsRegionsAndFreesFrames)
{
    const uint64_t start = 0x10000000;
    uint64_t baseline = guest_frames_free_count(memory_);
    ASSERT_EQ(MapBacked(start, 10 * kPage, kUserRW, GUEST_REGION_MMAP, "m"), 0);
    uint64_t mapped = guest_frames_free_count(memory_);
    uint64_t middle_frame = Translate(start + 4 * kPage);
    uint64_t generation = guest_memory_generation(memory_);
    uint64_t unseen = guest_memory_unseen_generation(memory_);

    ASSERT_EQ(guest_unmap(memory_, start + 3 * kPage, 4 * kPage), 0);
    EXPECT_GT(guest_memory_generation(memory_), generation);
    // Its frames went back through MADV_DONTNEED (the MMU notifier tells KVM)
    // and no table was freed: no flush owed to KVM.
    EXPECT_EQ(guest_memory_unseen_generation(memory_), unseen);
    EXPECT_EQ(guest_frames_free_count(memory_), mapped + 4);
    EXPECT_TRUE(guest_frames_reserve(memory_, middle_frame, kPage)); // really free
    guest_frames_free(memory_, middle_frame, 1);
    ASSERT_EQ(RegionCount(), 2u);
    const struct guest_region *low = guest_region_lookup(memory_, start);
    const struct guest_region *high = guest_region_lookup(memory_, start + 9 * kPage);
    ASSERT_NE(low, nullptr);
    EXPECT_EQ(low->end, start + 3 * kPage);
    ASSERT_NE(high, nullptr);
    EXPECT_EQ(high->start, start + 7 * kPage);
    EXPECT_STREQ(high->name, "m");
    EXPECT_EQ(guest_region_lookup(memory_, start + 5 * kPage), nullptr);
    uint8_t byte;
    EXPECT_EQ(guest_read(memory_, start + 5 * kPage, &byte, 1, GUEST_ACCESS_DEBUG), -EFAULT);
    EXPECT_EQ(guest_read(memory_, start + 2 * kPage, &byte, 1, GUEST_ACCESS_DEBUG), 0);

    // Holes are fine, and an unmap of nothing changes nothing.
    generation = guest_memory_generation(memory_);
    EXPECT_EQ(guest_unmap(memory_, 0x40000000, kPage), 0);
    EXPECT_EQ(guest_memory_generation(memory_), generation);
    unseen = guest_memory_unseen_generation(memory_);
    ASSERT_EQ(guest_unmap(memory_, start - kPage, 20 * kPage), 0);
    EXPECT_EQ(RegionCount(), 0u);
    // That emptied and freed the page table: KVM's shadow of it must go.
    EXPECT_GT(guest_memory_unseen_generation(memory_), unseen);
    // Every frame, tables included, came back.
    EXPECT_EQ(guest_frames_free_count(memory_), baseline);
}

TEST_F(MemoryTest, UnmapReturnsIdentityFramesForReuse)
{
    ASSERT_EQ(guest_map_identity(memory_, 0x400000, 2 * kPage, kUserRW, GUEST_REGION_PROGRAM, ""),
              0);
    ASSERT_EQ(guest_write(memory_, 0x400000, "x", 1, GUEST_ACCESS_USER_WRITE), 0);
    ASSERT_EQ(guest_unmap(memory_, 0x400000, 2 * kPage), 0);
    ASSERT_EQ(guest_map_identity(memory_, 0x400000, 2 * kPage, kUserRW, GUEST_REGION_PROGRAM, ""),
              0);
    EXPECT_EQ(Host(0x400000)[0], 0); // zeroed on the way
}

TEST_F(MemoryTest, ProtectSplitsNarrowsAndBumpsGeneration)
{
    const uint64_t start = 0x10000000;
    ASSERT_EQ(MapBacked(start, 6 * kPage, kUserRW, GUEST_REGION_HEAP, "[heap]"), 0);
    uint64_t generation = guest_memory_generation(memory_);
    uint64_t unseen = guest_memory_unseen_generation(memory_);
    ASSERT_EQ(guest_protect(memory_, start + 2 * kPage, 2 * kPage, kUserR), 0);
    EXPECT_GT(guest_memory_generation(memory_), generation);
    EXPECT_GT(guest_memory_unseen_generation(memory_), unseen); // no notifier sees this
    ASSERT_EQ(RegionCount(), 3u);
    const struct guest_region *middle = guest_region_lookup(memory_, start + 3 * kPage);
    ASSERT_NE(middle, nullptr);
    EXPECT_EQ(middle->start, start + 2 * kPage);
    EXPECT_EQ(middle->end, start + 4 * kPage);
    EXPECT_EQ(middle->prot, kUserR);
    EXPECT_STREQ(middle->name, "[heap]");
    EXPECT_FALSE(Leaf(start + 2 * kPage) & PTE_WRITE);
    EXPECT_TRUE(Leaf(start + 4 * kPage) & PTE_WRITE);
    uint8_t byte = 1;
    EXPECT_EQ(guest_write(memory_, start + 2 * kPage, &byte, 1, GUEST_ACCESS_USER_WRITE), -EFAULT);
    EXPECT_EQ(guest_write(memory_, start + kPage, &byte, 1, GUEST_ACCESS_USER_WRITE), 0);

    // Widening back does not bump, and the neighbours merge again.
    generation = guest_memory_generation(memory_);
    ASSERT_EQ(guest_protect(memory_, start + 2 * kPage, 2 * kPage, kUserRW), 0);
    EXPECT_EQ(guest_memory_generation(memory_), generation);
    EXPECT_EQ(RegionCount(), 1u);
    EXPECT_EQ(guest_write(memory_, start + 2 * kPage, &byte, 1, GUEST_ACCESS_USER_WRITE), 0);

    // Taking away exec or user access narrows too.
    ASSERT_EQ(guest_protect(memory_, start, kPage, kUserRW | GUEST_PROT_EXEC), 0);
    EXPECT_FALSE(Leaf(start) & PTE_NX);
    generation = guest_memory_generation(memory_);
    ASSERT_EQ(guest_protect(memory_, start, kPage, kUserRW), 0);
    EXPECT_TRUE(Leaf(start) & PTE_NX);
    EXPECT_GT(guest_memory_generation(memory_), generation);
    generation = guest_memory_generation(memory_);
    ASSERT_EQ(guest_protect(memory_, start, kPage, GUEST_PROT_READ), 0);
    EXPECT_GT(guest_memory_generation(memory_), generation);
    EXPECT_EQ(guest_read(memory_, start, &byte, 1, GUEST_ACCESS_USER_READ), -EFAULT);
}

TEST_F(MemoryTest, ProtectNoneKeepsData)
{
    const uint64_t start = 0x10000000;
    ASSERT_EQ(guest_map_anonymous(memory_, start, kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    ASSERT_EQ(guest_write(memory_, start, "kept", 5, GUEST_ACCESS_USER_WRITE), 0);
    uint64_t frame = Translate(start);
    ASSERT_EQ(guest_protect(memory_, start, kPage, GUEST_PROT_NONE), 0);
    char buf[5];
    EXPECT_EQ(guest_read(memory_, start, buf, 5, GUEST_ACCESS_DEBUG), -EFAULT);
    ASSERT_EQ(guest_protect(memory_, start, kPage, kUserR), 0);
    EXPECT_EQ(Translate(start), frame);
    ASSERT_EQ(guest_read(memory_, start, buf, 5, GUEST_ACCESS_USER_READ), 0);
    EXPECT_STREQ(buf, "kept");
}

TEST_F(MemoryTest, ProtNoneAnonymousGetsFramesOnlyWhenTouched)
{
    const uint64_t start = 0x10000000;
    uint64_t before = guest_frames_free_count(memory_);
    // Far more than RAM: costs nothing while inaccessible, nor once opened.
    ASSERT_EQ(guest_map_anonymous(memory_, start, 1ULL << 32, GUEST_PROT_NONE, GUEST_REGION_MMAP,
                                  "reserve"),
              0);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
    EXPECT_EQ(guest_fault_first_touch(memory_, start + kPage, false, false), GUEST_TOUCH_NOT_LAZY);
    ASSERT_EQ(guest_protect(memory_, start + kPage, 2 * kPage, kUserRW), 0);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
    std::vector<uint8_t> buf(2 * kPage, 0xff);
    ASSERT_EQ(guest_read(memory_, start + kPage, buf.data(), buf.size(), GUEST_ACCESS_USER_READ),
              0);
    for (uint8_t byte : buf)
        ASSERT_EQ(byte, 0);
    EXPECT_EQ(guest_fault_first_touch(memory_, start + 2 * kPage, true, false), GUEST_TOUCH_MAPPED);
    EXPECT_EQ(guest_frames_free_count(memory_), before - 2 - 3);
    EXPECT_EQ(guest_protect(memory_, start, 1ULL << 32, kUserRW), 0);
    EXPECT_EQ(guest_frames_free_count(memory_), before - 5);
    EXPECT_EQ(RegionCount(), 1u);
    ASSERT_EQ(guest_unmap(memory_, start, 1ULL << 32), 0);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
}

TEST_F(MemoryTest, ProtectRefusesHolesAndReservedRanges)
{
    const uint64_t start = 0x10000000;
    ASSERT_EQ(MapBacked(start, kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    ASSERT_EQ(MapBacked(start + 2 * kPage, kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    ASSERT_EQ(guest_reserve_range(memory_, start + 3 * kPage, kPage, GUEST_REGION_GUARD, "guard"),
              0);
    uint64_t generation = guest_memory_generation(memory_);
    EXPECT_EQ(guest_protect(memory_, start, 3 * kPage, kUserR), -ENOMEM);
    EXPECT_EQ(guest_protect(memory_, start + 2 * kPage, 2 * kPage, kUserR), -ENOMEM);
    EXPECT_EQ(guest_protect(memory_, start + 2 * kPage, 2 * kPage, 0x40), -EINVAL);
    EXPECT_EQ(guest_protect(memory_, 0x40000000, kPage, kUserR), -ENOMEM);
    EXPECT_EQ(guest_memory_generation(memory_), generation);
    EXPECT_TRUE(Leaf(start) & PTE_WRITE);
    EXPECT_TRUE(Leaf(start + 2 * kPage) & PTE_WRITE);
    EXPECT_EQ(guest_region_lookup(memory_, start)->prot, kUserRW);
}

TEST_F(MemoryTest, MoveKeepsFramesAndData)
{
    const uint64_t old_start = 0x10000000, new_start = 0x7f0000000000ULL;
    ASSERT_EQ(guest_map_anonymous(memory_, old_start, 3 * kPage, kUserRW, GUEST_REGION_MMAP, "mv"),
              0);
    ASSERT_EQ(guest_write(memory_, old_start + kPage + 3, "moved", 6, GUEST_ACCESS_USER_WRITE), 0);
    uint64_t frame = Translate(old_start + kPage);
    uint64_t baseline = guest_frames_free_count(memory_);
    uint64_t generation = guest_memory_generation(memory_);
    ASSERT_EQ(guest_move(memory_, old_start, 3 * kPage, new_start), 0);
    EXPECT_GT(guest_memory_generation(memory_), generation);
    EXPECT_EQ(Translate(new_start + kPage), frame);
    char buf[6];
    ASSERT_EQ(guest_read(memory_, new_start + kPage + 3, buf, 6, GUEST_ACCESS_USER_READ), 0);
    EXPECT_STREQ(buf, "moved");
    EXPECT_EQ(guest_read(memory_, old_start + kPage, buf, 1, GUEST_ACCESS_DEBUG), -EFAULT);
    EXPECT_EQ(guest_region_lookup(memory_, old_start), nullptr);
    const struct guest_region *region = guest_region_lookup(memory_, new_start);
    ASSERT_NE(region, nullptr);
    EXPECT_EQ(region->end, new_start + 3 * kPage);
    EXPECT_STREQ(region->name, "mv");
    // New tables were made and the old ones freed: same count.
    EXPECT_EQ(guest_frames_free_count(memory_), baseline);
}

TEST_F(MemoryTest, MovePartOfARegion)
{
    const uint64_t start = 0x10000000, target = 0x20000000;
    ASSERT_EQ(MapBacked(start, 4 * kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    uint64_t last_frame = Translate(start + 3 * kPage);
    ASSERT_EQ(guest_move(memory_, start + 2 * kPage, 2 * kPage, target), 0);
    EXPECT_EQ(guest_region_lookup(memory_, start)->end, start + 2 * kPage);
    EXPECT_EQ(guest_region_lookup(memory_, target)->end, target + 2 * kPage);
    EXPECT_EQ(Translate(target + kPage), last_frame);
    EXPECT_EQ(RegionCount(), 2u);
}

TEST_F(MemoryTest, MoveOfLazyRegionNeedsNoFrames)
{
    const uint64_t start = 0x10000000, target = 0x7f0000000000ULL;
    ASSERT_EQ(
        guest_map_anonymous(memory_, start, 1ULL << 34, GUEST_PROT_NONE, GUEST_REGION_MMAP, "lazy"),
        0);
    ASSERT_EQ(guest_protect(memory_, start, kPage, kUserRW), 0);
    ASSERT_EQ(guest_write(memory_, start, "z", 2, GUEST_ACCESS_USER_WRITE), 0);
    uint64_t before = guest_frames_free_count(memory_);
    ASSERT_EQ(guest_move(memory_, start, 1ULL << 34, target), 0);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
    char buf[2];
    ASSERT_EQ(guest_read(memory_, target, buf, 2, GUEST_ACCESS_USER_READ), 0);
    EXPECT_STREQ(buf, "z");
    EXPECT_EQ(RegionCount(), 2u);
    EXPECT_EQ(guest_region_lookup(memory_, target + kPage)->end, target + (1ULL << 34));
}

TEST_F(MemoryTest, MoveOutOfTableFramesLeavesMapUnchanged)
{
    const uint64_t start = 0x10000000, target = 0x7f0000000000ULL;
    ASSERT_EQ(MapBacked(start, 2 * kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    uint64_t all = guest_frames_free_count(memory_), gpa;
    ASSERT_TRUE(guest_frames_alloc(memory_, all - 2, &gpa)); // two left; three needed
    uint64_t generation = guest_memory_generation(memory_);
    EXPECT_EQ(guest_move(memory_, start, 2 * kPage, target), -ENOMEM);
    EXPECT_EQ(guest_frames_free_count(memory_), 2u);
    EXPECT_EQ(guest_memory_generation(memory_), generation);
    EXPECT_TRUE(Leaf(start) & PTE_PRESENT);
    EXPECT_EQ(guest_region_lookup(memory_, target), nullptr);
    struct guest_walk walk;
    EXPECT_FALSE(guest_walk(memory_, guest_memory_cr3(memory_), target, &walk));
    EXPECT_EQ(walk.levels, 1);
}

TEST_F(MemoryTest, MoveRefusals)
{
    const uint64_t start = 0x10000000;
    ASSERT_EQ(MapBacked(start, 2 * kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    ASSERT_EQ(MapBacked(0x20000000, kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    uint64_t generation = guest_memory_generation(memory_);
    EXPECT_EQ(guest_move(memory_, start, 2 * kPage, 0x20000000 - kPage), -EEXIST);
    EXPECT_EQ(guest_move(memory_, start, 3 * kPage, 0x30000000), -EFAULT);    // hole at the end
    EXPECT_EQ(guest_move(memory_, start, 2 * kPage, start + kPage), -EINVAL); // overlap
    EXPECT_EQ(guest_move(memory_, start, 2 * kPage, 0x0000800000000000ULL), -EINVAL);
    EXPECT_EQ(guest_move(memory_, start, 0, 0x30000000), -EINVAL);
    EXPECT_EQ(guest_memory_generation(memory_), generation);
    EXPECT_TRUE(Leaf(start + kPage) & PTE_PRESENT);
    EXPECT_EQ(guest_region_lookup(memory_, start)->end, start + 2 * kPage);
}

// ---- reserve_range, find_free, foreach ------------------------------------

TEST_F(MemoryTest, ReservedRangesAreKeptFree)
{
    const uint64_t guard = 0x7ffffff00000ULL;
    uint64_t before = guest_frames_free_count(memory_);
    ASSERT_EQ(guest_reserve_range(memory_, guard, kPage, GUEST_REGION_GUARD, "[guard]"), 0);
    EXPECT_EQ(guest_frames_free_count(memory_), before);
    const struct guest_region *region = guest_region_lookup(memory_, guard + 100);
    ASSERT_NE(region, nullptr);
    EXPECT_EQ(region->kind, GUEST_REGION_GUARD);
    EXPECT_EQ(region->prot, GUEST_PROT_NONE);
    EXPECT_EQ(guest_map_anonymous(memory_, guard, kPage, kUserRW, GUEST_REGION_MMAP, ""), -EEXIST);
    EXPECT_EQ(guest_reserve_range(memory_, guard, kPage, GUEST_REGION_GUARD, ""), -EEXIST);
    uint8_t byte;
    EXPECT_EQ(guest_read(memory_, guard, &byte, 1, GUEST_ACCESS_DEBUG), -EFAULT);
    uint64_t found;
    ASSERT_TRUE(guest_find_free(memory_, kPage, guard - kPage, guard + 2 * kPage, false, &found));
    EXPECT_EQ(found, guard - kPage);
    ASSERT_TRUE(guest_find_free(memory_, kPage, guard, guard + 2 * kPage, false, &found));
    EXPECT_EQ(found, guard + kPage);
    EXPECT_FALSE(guest_find_free(memory_, kPage, guard, guard + kPage, false, &found));
    ASSERT_EQ(guest_unmap(memory_, guard, kPage), 0);
    EXPECT_EQ(guest_region_lookup(memory_, guard), nullptr);
}

TEST_F(MemoryTest, FindFree)
{
    // [0x10000, 0x12000) and [0x15000, 0x16000) taken in [0x10000, 0x20000).
    ASSERT_EQ(guest_reserve_range(memory_, 0x10000, 2 * kPage, GUEST_REGION_GUARD, "a"), 0);
    ASSERT_EQ(guest_reserve_range(memory_, 0x15000, kPage, GUEST_REGION_GUARD, "b"), 0);
    uint64_t found = 0;
    ASSERT_TRUE(guest_find_free(memory_, kPage, 0x10000, 0x20000, false, &found));
    EXPECT_EQ(found, 0x12000u);
    ASSERT_TRUE(guest_find_free(memory_, 3 * kPage, 0x10000, 0x20000, false, &found));
    EXPECT_EQ(found, 0x12000u);
    ASSERT_TRUE(guest_find_free(memory_, 4 * kPage, 0x10000, 0x20000, false, &found));
    EXPECT_EQ(found, 0x16000u);
    ASSERT_TRUE(guest_find_free(memory_, kPage, 0x10000, 0x20000, true, &found));
    EXPECT_EQ(found, 0x1f000u);
    ASSERT_TRUE(guest_find_free(memory_, 3 * kPage, 0x10000, 0x16000, true, &found));
    EXPECT_EQ(found, 0x12000u);
    EXPECT_FALSE(guest_find_free(memory_, 4 * kPage, 0x10000, 0x16000, true, &found));
    EXPECT_FALSE(guest_find_free(memory_, 4 * kPage, 0x10000, 0x16000, false, &found));
    ASSERT_TRUE(guest_find_free(memory_, kPage, 0x10000, 0x15800, true, &found));
    EXPECT_EQ(found, 0x14000u); // high rounded down to 0x15000
    // A region straddling high: top-down starts below it.
    ASSERT_EQ(guest_reserve_range(memory_, 0x18000, 2 * kPage, GUEST_REGION_GUARD, "c"), 0);
    ASSERT_TRUE(guest_find_free(memory_, kPage, 0x10000, 0x19000, true, &found));
    EXPECT_EQ(found, 0x17000u);
    ASSERT_TRUE(guest_find_free(memory_, 4 * kPage, 0x10000, 0x20000, false, &found));
    EXPECT_EQ(found, 0x1a000u);
    // Unaligned bounds are rounded inwards.
    ASSERT_TRUE(guest_find_free(memory_, kPage, 0x12001, 0x14fff, false, &found));
    EXPECT_EQ(found, 0x13000u);
    ASSERT_TRUE(guest_find_free(memory_, kPage, 0x12001, 0x14fff, true, &found));
    EXPECT_EQ(found, 0x13000u);
    // Bad lengths and bounds.
    EXPECT_FALSE(guest_find_free(memory_, 0, 0, 0x100000, false, &found));
    EXPECT_FALSE(guest_find_free(memory_, 100, 0, 0x100000, false, &found));
    EXPECT_FALSE(guest_find_free(memory_, kPage, 0x20000, 0x10000, false, &found));
    EXPECT_FALSE(
        guest_find_free(memory_, UINT64_MAX & GUEST_PAGE_MASK, 0, UINT64_MAX, false, &found));
    EXPECT_FALSE(guest_find_free(memory_, kPage, UINT64_MAX, UINT64_MAX, false, &found));
    // Never in the non-canonical hole, never wrapping.
    ASSERT_TRUE(guest_find_free(memory_, kPage, 0, UINT64_MAX, false, &found));
    EXPECT_EQ(found, 0u);
    ASSERT_TRUE(guest_find_free(memory_, kPage, 0x1000, GUEST_USER_TOP + 0x100000, true, &found));
    EXPECT_EQ(found, 0x00007ffffffff000ULL);
    ASSERT_TRUE(guest_find_free(memory_, kPage, 0x1000, UINT64_MAX, true, &found));
    EXPECT_EQ(found, 0xffffffffffffe000ULL);
    EXPECT_EQ(guest_map_anonymous(memory_, found, kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    ASSERT_TRUE(
        guest_find_free(memory_, 2 * kPage, 0x00007ffffffff000ULL, UINT64_MAX, false, &found));
    EXPECT_EQ(found, 0xffff800000000000ULL);
    // Half the address space: neither half has that much room left.
    EXPECT_FALSE(guest_find_free(memory_, 1ULL << 47, 0, UINT64_MAX, false, &found));
    ASSERT_TRUE(guest_find_free(memory_, 1ULL << 46, 0, UINT64_MAX, false, &found));
    EXPECT_EQ(found, 0x1a000u);
}

TEST_F(MemoryTest, ForeachVisitsInOrderAndStopsEarly)
{
    ASSERT_EQ(guest_reserve_range(memory_, 0x30000, kPage, GUEST_REGION_GUARD, "c"), 0);
    ASSERT_EQ(guest_reserve_range(memory_, 0x10000, kPage, GUEST_REGION_GUARD, "a"), 0);
    ASSERT_EQ(guest_reserve_range(memory_, 0x20000, kPage, GUEST_REGION_STACK, "b"), 0);
    std::string names;
    guest_region_foreach(
        memory_,
        [](const struct guest_region *region, void *opaque) {
            *static_cast<std::string *>(opaque) += region->name;
            return true;
        },
        &names);
    EXPECT_EQ(names, "abc");
    int visits = 0;
    guest_region_foreach(
        memory_,
        [](const struct guest_region *, void *opaque) { return ++*static_cast<int *>(opaque) < 2; },
        &visits);
    EXPECT_EQ(visits, 2);
}

TEST_F(MemoryTest, RegionsMergeOnlyWhenAlike)
{
    const uint64_t start = 0x10000000;
    ASSERT_EQ(guest_map_anonymous(memory_, start, kPage, kUserRW, GUEST_REGION_MMAP, "x"), 0);
    ASSERT_EQ(guest_map_anonymous(memory_, start + kPage, kPage, kUserRW, GUEST_REGION_MMAP, "x"),
              0);
    EXPECT_EQ(RegionCount(), 1u);
    ASSERT_EQ(
        guest_map_anonymous(memory_, start + 2 * kPage, kPage, kUserRW, GUEST_REGION_MMAP, "y"), 0);
    ASSERT_EQ(
        guest_map_anonymous(memory_, start + 3 * kPage, kPage, kUserRW, GUEST_REGION_HEAP, "y"), 0);
    EXPECT_EQ(RegionCount(), 3u);
    // Long names are cut, not overflowed.
    std::string long_name(100, 'n');
    ASSERT_EQ(
        guest_reserve_range(memory_, 0x20000000, kPage, GUEST_REGION_GUARD, long_name.c_str()), 0);
    EXPECT_EQ(strlen(guest_region_lookup(memory_, 0x20000000)->name), 31u);
    ASSERT_EQ(guest_reserve_range(memory_, 0x30000000, kPage, GUEST_REGION_GUARD, nullptr), 0);
    EXPECT_STREQ(guest_region_lookup(memory_, 0x30000000)->name, "");
}

// A loaded segment's description (guest_region_describe): the file and its
// offsets follow the pages through splits (mprotect of the middle), the parts
// join again when alike, and a zero-filled tail described without a file is
// its own region.
TEST_F(MemoryTest, DescribedRegionsKeepTheirFileOffsets)
{
    const uint64_t start = 0x10000000, dev = 0x801, ino = 4242;
    ASSERT_EQ(guest_map_anonymous(memory_, start, 4 * kPage, kUserRW, GUEST_REGION_PROGRAM, "p"),
              0);
    ASSERT_EQ(guest_region_describe(memory_, start, 3 * kPage, "prog", dev, ino, 0x5000), 0);
    ASSERT_EQ(guest_region_describe(memory_, start + 3 * kPage, kPage, "", 0, 0, 0), 0);
    EXPECT_EQ(RegionCount(), 2u);
    ASSERT_EQ(guest_protect(memory_, start + kPage, kPage, kUserR), 0);
    EXPECT_EQ(RegionCount(), 4u);
    uint64_t got_dev, got_ino, offset;
    bool shared;
    const struct guest_region *middle = guest_region_lookup(memory_, start + kPage);
    ASSERT_TRUE(guest_region_file(middle, &got_dev, &got_ino, &offset, &shared));
    EXPECT_EQ(got_dev, dev);
    EXPECT_EQ(got_ino, ino);
    EXPECT_EQ(offset, 0x5000 + kPage);
    EXPECT_FALSE(shared);
    EXPECT_STREQ(middle->name, "prog");
    const struct guest_region *tail = guest_region_lookup(memory_, start + 3 * kPage);
    EXPECT_FALSE(guest_region_file(tail, &got_dev, &got_ino, &offset, &shared));
    EXPECT_STREQ(tail->name, "");
    ASSERT_EQ(guest_protect(memory_, start + kPage, kPage, kUserRW), 0);
    EXPECT_EQ(RegionCount(), 2u);
    EXPECT_EQ(guest_region_describe(memory_, start, 0, "x", 0, 0, 0), -EINVAL);
}

// 200,000 regions: every operation must stay O(log n) (a list with O(n)
// inserts took minutes here). No time is asserted: a quadratic map would
// make this test run for many minutes and hit the suite's timeout.
TEST_F(MemoryTest, ManyRegionsStayCheap)
{
    const size_t count = 200000;
    guest_memory_set_map_limit(memory_, 0);
    const uint64_t base = 0x100000000ULL, top = base + 2 * count * kPage;
    for (size_t i = 0; i < count; i++) {
        uint64_t found = 0;
        ASSERT_TRUE(guest_find_free(memory_, kPage, base, top, true, &found));
        ASSERT_EQ(found, top - (i + 1) * kPage);
        // PROT_NONE costs no frame; the names keep neighbours apart.
        ASSERT_EQ(guest_map_anonymous(memory_, found, kPage, GUEST_PROT_NONE, GUEST_REGION_MMAP,
                                      i % 2 ? "odd" : "even"),
                  0);
    }
    EXPECT_EQ(guest_memory_map_count(memory_), count);
    // The first free range below them all, bottom-up and top-down.
    uint64_t found = 0;
    ASSERT_TRUE(guest_find_free(memory_, 2 * kPage, base, top, false, &found));
    EXPECT_EQ(found, base);
    ASSERT_TRUE(guest_find_free(memory_, count * kPage, base, top, true, &found));
    EXPECT_EQ(found, base);
    // Open one page in the middle: it gets a frame at its first touch.
    const uint64_t middle = top - 1001 * kPage;
    ASSERT_EQ(guest_protect(memory_, middle, kPage, kUserR), 0);
    EXPECT_EQ(guest_region_lookup(memory_, middle)->prot, kUserR);
    EXPECT_EQ(guest_fault_first_touch(memory_, middle, false, false), GUEST_TOUCH_MAPPED);
    EXPECT_NE(Leaf(middle) & PTE_PRESENT, 0u);
    EXPECT_EQ(guest_memory_map_count(memory_), count);
    // Unmap every other page, then the rest.
    for (size_t i = 0; i < count; i += 2)
        ASSERT_EQ(guest_unmap(memory_, top - (i + 1) * kPage, kPage), 0);
    for (size_t i = 1; i < count; i += 2)
        ASSERT_EQ(guest_unmap(memory_, top - (i + 1) * kPage, kPage), 0);
    EXPECT_EQ(guest_memory_map_count(memory_), 0u);
    EXPECT_EQ(RegionCount(), 0u);
}

// Linux's vm.max_map_count: a new mapping fails once the count is above the
// limit, a split once it would go past it; a failed call changes nothing.
TEST_F(MemoryTest, MapLimitAsLinux)
{
    guest_memory_set_map_limit(memory_, 4);
    const uint64_t base = 0x10000000;
    for (int i = 0; i < 5; i++) // 5 > 4: the fifth is made at count 4
        ASSERT_EQ(guest_map_anonymous(memory_, base + 2 * i * kPage, kPage, kUserR,
                                      GUEST_REGION_MMAP, ""),
                  0);
    EXPECT_EQ(guest_map_anonymous(memory_, base + 20 * kPage, kPage, kUserR, GUEST_REGION_MMAP, ""),
              -ENOMEM);
    // Guard pages and the kernel's ranges are not counted.
    EXPECT_EQ(guest_reserve_range(memory_, base + 40 * kPage, kPage, GUEST_REGION_GUARD, "g"), 0);
    EXPECT_EQ(guest_memory_map_count(memory_), 5u);
    // Merging into a neighbour is still a new mapping for the check.
    EXPECT_EQ(guest_map_anonymous(memory_, base + kPage, kPage, kUserR, GUEST_REGION_MMAP, ""),
              -ENOMEM);
    ASSERT_EQ(guest_unmap(memory_, base, kPage), 0);
    ASSERT_EQ(guest_unmap(memory_, base + 2 * kPage, kPage), 0);
    EXPECT_EQ(guest_memory_map_count(memory_), 3u);
    // A 3-page mapping; a protection change in its middle needs 2 splits.
    ASSERT_EQ(
        guest_map_anonymous(memory_, base + 20 * kPage, 3 * kPage, kUserR, GUEST_REGION_MMAP, ""),
        0);
    EXPECT_EQ(guest_protect(memory_, base + 21 * kPage, kPage, kUserRW), -ENOMEM);
    EXPECT_EQ(guest_memory_map_count(memory_), 4u);
    EXPECT_EQ(guest_region_lookup(memory_, base + 21 * kPage)->prot, kUserR);
    // At its end: one split, to 5 > 4.
    EXPECT_EQ(guest_protect(memory_, base + 22 * kPage, kPage, kUserRW), -ENOMEM);
    guest_memory_set_map_limit(memory_, 5);
    EXPECT_EQ(guest_protect(memory_, base + 22 * kPage, kPage, kUserRW), 0);
    EXPECT_EQ(guest_memory_map_count(memory_), 5u);
    // A hole inside a mapping at the limit.
    EXPECT_EQ(guest_unmap(memory_, base + 20 * kPage + 0, kPage), 0); // its start: no split
    ASSERT_EQ(
        guest_map_anonymous(memory_, base + 30 * kPage, 3 * kPage, kUserR, GUEST_REGION_MMAP, ""),
        0);
    EXPECT_EQ(guest_memory_map_count(memory_), 6u);
    guest_memory_set_map_limit(memory_, 6);
    EXPECT_EQ(guest_unmap(memory_, base + 31 * kPage, kPage), -ENOMEM);
    EXPECT_NE(guest_region_lookup(memory_, base + 31 * kPage), nullptr);
    EXPECT_EQ(guest_unmap(memory_, base + 30 * kPage, 3 * kPage), 0);
}

// A heap that grows page by page, and mmaps placed one below the other, get
// contiguous frames, so an accelerator can map each as one host range.
TEST_F(MemoryTest, GrowingMappingsGetContiguousFrames)
{
    const uint64_t heap = 0x600000;
    for (int i = 0; i < 64; i++)
        ASSERT_EQ(MapBacked(heap + i * kPage, kPage, kUserRW, GUEST_REGION_HEAP, "[heap]"), 0);
    // Something else allocates in between.
    ASSERT_EQ(MapBacked(0x7000000, 4 * kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    for (int i = 64; i < 128; i++)
        ASSERT_EQ(MapBacked(heap + i * kPage, kPage, kUserRW, GUEST_REGION_HEAP, "[heap]"), 0);
    for (int i = 1; i < 128; i++)
        ASSERT_EQ(Translate(heap + i * kPage), Translate(heap) + i * kPage) << i;
    const uint64_t top = 0x40000000;
    for (int i = 1; i <= 32; i++)
        ASSERT_EQ(MapBacked(top - i * kPage, kPage, kUserR, GUEST_REGION_MMAP, ""), 0);
    for (int i = 1; i <= 32; i++)
        ASSERT_EQ(Translate(top - i * kPage), Translate(top - kPage) - (i - 1) * kPage) << i;
}

// The free-range search against a plain model, on a random map.
TEST_F(MemoryTest, FindFreeMatchesAModel)
{
    const uint64_t base = 0x10000000, pages = 4096;
    std::vector<bool> used(pages, false);
    uint32_t seed = 12345;
    auto next = [&seed]() {
        seed = seed * 1103515245u + 12345u;
        return seed >> 8;
    };
    for (int round = 0; round < 3000; round++) {
        uint64_t first = next() % pages, len = 1 + next() % 8;
        if (first + len > pages)
            continue;
        if (next() % 3 == 0) {
            ASSERT_EQ(guest_unmap(memory_, base + first * kPage, len * kPage), 0);
            for (uint64_t p = first; p < first + len; p++)
                used[p] = false;
        } else {
            bool free_range = true;
            for (uint64_t p = first; p < first + len; p++)
                free_range = free_range && !used[p];
            int prot = next() % 2 ? kUserR : GUEST_PROT_NONE;
            int ret = guest_map_anonymous(memory_, base + first * kPage, len * kPage, prot,
                                          GUEST_REGION_MMAP, "");
            ASSERT_EQ(ret, free_range ? 0 : -EEXIST);
            for (uint64_t p = first; free_range && p < first + len; p++)
                used[p] = true;
        }
        uint64_t want = 1 + next() % 16, low = next() % pages, high = low + next() % (pages - low);
        for (int top_down = 0; top_down < 2; top_down++) {
            bool expected = false;
            uint64_t expected_at = 0;
            for (uint64_t i = 0; low + i + want <= high; i++) {
                uint64_t at = top_down ? high - want - i : low + i;
                bool ok = true;
                for (uint64_t p = at; ok && p < at + want; p++)
                    ok = !used[p];
                if (ok) {
                    expected = true;
                    expected_at = at;
                    break;
                }
            }
            uint64_t found = 0;
            bool got = guest_find_free(memory_, want * kPage, base + low * kPage,
                                       base + high * kPage, top_down, &found);
            ASSERT_EQ(got, expected) << round;
            if (got) {
                ASSERT_EQ(found, base + expected_at * kPage) << round;
            }
        }
    }
}

} // namespace

namespace
{
// Whole 2 MiB-aligned chunks of anonymous memory get 2 MiB pages; editing
// part of one splits it into 4 KiB pages with the same frames.
TEST_F(MemoryTest, HugePagesForAlignedAnonymousChunks)
{
    const uint64_t base = 0x40000000, huge = 2ULL << 20;
    const uint64_t free_at_start = guest_frames_free_count(memory_);
    ASSERT_EQ(MapBacked(base - kPage, 2 * huge + 2 * kPage, kUserRW, GUEST_REGION_MMAP, ""), 0);
    struct guest_walk walk;
    ASSERT_TRUE(guest_walk(memory_, guest_memory_cr3(memory_), base + 5 * kPage, &walk));
    EXPECT_EQ(walk.page_size, huge);
    EXPECT_EQ(walk.gpa % huge, 5 * kPage);
    ASSERT_TRUE(guest_walk(memory_, guest_memory_cr3(memory_), base - kPage, &walk));
    EXPECT_EQ(walk.page_size, kPage);
    uint64_t gpa = Translate(base + 7 * kPage);
    uint8_t byte = 42;
    ASSERT_EQ(guest_write(memory_, base + 7 * kPage, &byte, 1, GUEST_ACCESS_USER_WRITE), 0);
    uint64_t free_before = guest_frames_free_count(memory_);
    // Read-only in the middle: split, same frame, data kept.
    ASSERT_EQ(guest_protect(memory_, base + 7 * kPage, kPage, kUserR), 0);
    ASSERT_TRUE(guest_walk(memory_, guest_memory_cr3(memory_), base + 7 * kPage, &walk));
    EXPECT_EQ(walk.page_size, kPage);
    EXPECT_EQ(walk.gpa, gpa);
    EXPECT_FALSE(walk.writable);
    EXPECT_EQ(guest_frames_free_count(memory_), free_before); // the split needed no frame
    uint8_t back = 0;
    ASSERT_EQ(guest_read(memory_, base + 7 * kPage, &back, 1, GUEST_ACCESS_USER_READ), 0);
    EXPECT_EQ(back, 42);
    // The second chunk is still huge; unmapping everything gives every frame back.
    ASSERT_TRUE(guest_walk(memory_, guest_memory_cr3(memory_), base + huge, &walk));
    EXPECT_EQ(walk.page_size, huge);
    ASSERT_EQ(guest_unmap(memory_, base - kPage, 2 * huge + 2 * kPage), 0);
    EXPECT_FALSE(guest_walk(memory_, guest_memory_cr3(memory_), base + huge, &walk));
    EXPECT_EQ(guest_frames_free_count(memory_), free_at_start);
}
} // namespace
