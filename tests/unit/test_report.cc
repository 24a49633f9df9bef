// Module tests for report/: page-fault error decoding, the signal of each vector,
// classifying a faulting address on a guest memory built here, and the core file's
// layout parsed back with libelf.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <unistd.h>

#include <glib.h>

#include <string>
#include <vector>

#include "memory/memory.h"
#include "monitor/guest.h"
#include "report/report.h"

namespace
{

constexpr uint64_t kPage = GUEST_PAGE_SIZE;
constexpr int kUserRW = GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_USER;
constexpr int kUserRX = GUEST_PROT_READ | GUEST_PROT_EXEC | GUEST_PROT_USER;

std::string Decode(uint64_t error_code)
{
    char buffer[80];
    report_decode_page_fault_error(error_code, buffer, sizeof(buffer));
    return buffer;
}

TEST(ReportDecode, PageFaultErrorWordsAsHermiTuxPrintsThem)
{
    EXPECT_EQ(Decode(0x6), "user data write not present \b");
    EXPECT_EQ(Decode(0x4), "user data read not present \b");
    EXPECT_EQ(Decode(0x14), "user instruction fetch not present \b");
    EXPECT_EQ(Decode(0x7), "user data write protection \b");
    EXPECT_EQ(Decode(0x2), "supervisor data write not present \b");
    EXPECT_EQ(Decode(0x0), "supervisor data read not present \b");
    EXPECT_EQ(Decode(0xd), "user data read protection reserved bit");
}

TEST(ReportSignal, EachVectorDiesOfWhatLinuxWouldSend)
{
    EXPECT_EQ(report_signal_for_vector(0), SIGFPE);   // #DE
    EXPECT_EQ(report_signal_for_vector(1), SIGTRAP);  // #DB
    EXPECT_EQ(report_signal_for_vector(3), SIGTRAP);  // #BP
    EXPECT_EQ(report_signal_for_vector(6), SIGILL);   // #UD
    EXPECT_EQ(report_signal_for_vector(8), SIGSEGV);  // #DF
    EXPECT_EQ(report_signal_for_vector(12), SIGSEGV); // #SS
    EXPECT_EQ(report_signal_for_vector(13), SIGSEGV); // #GP
    EXPECT_EQ(report_signal_for_vector(14), SIGSEGV); // #PF
    EXPECT_EQ(report_signal_for_vector(16), SIGFPE);  // #MF
    EXPECT_EQ(report_signal_for_vector(17), SIGBUS);  // #AC
    EXPECT_EQ(report_signal_for_vector(19), SIGFPE);  // #XM
}

// A small guest: kernel, program text and data, heap, a PROT_NONE mapping, the
// stack with its guard page.
class ReportGuestTest : public ::testing::Test
{
  protected:
    static constexpr uint64_t kKernel = 0x100000;
    static constexpr uint64_t kText = 0x400000;
    static constexpr uint64_t kData = 0x402000;
    static constexpr uint64_t kHeap = 0x410000;
    static constexpr uint64_t kNone = 0x500000;
    static constexpr uint64_t kStackLow = 0x7fff0000;
    static constexpr uint64_t kStackTop = 0x7fff8000;

    void SetUp() override
    {
        char *error = nullptr;
        memory_ = guest_memory_create(32ULL << 20, &error);
        ASSERT_NE(memory_, nullptr) << (error ? error : "");
        ASSERT_EQ(guest_map_identity(memory_, kKernel, 2 * kPage,
                                     GUEST_PROT_READ | GUEST_PROT_WRITE, GUEST_REGION_KERNEL,
                                     "kernel"),
                  0);
        ASSERT_EQ(
            guest_map_identity(memory_, kText, 2 * kPage, kUserRX, GUEST_REGION_PROGRAM, "prog"),
            0);
        ASSERT_EQ(guest_map_identity(memory_, kData, kPage, kUserRW, GUEST_REGION_PROGRAM, "prog"),
                  0);
        ASSERT_EQ(
            guest_map_anonymous(memory_, kHeap, 2 * kPage, kUserRW, GUEST_REGION_HEAP, "[heap]"),
            0);
        ASSERT_EQ(
            guest_map_anonymous(memory_, kNone, kPage, GUEST_PROT_NONE, GUEST_REGION_MMAP, ""), 0);
        ASSERT_EQ(guest_map_anonymous(memory_, kStackLow, kStackTop - kStackLow, kUserRW,
                                      GUEST_REGION_STACK, "[stack]"),
                  0);
        ASSERT_EQ(guest_reserve_range(memory_, kStackLow - kPage, kPage, GUEST_REGION_GUARD,
                                      "stack guard page"),
                  0);
        layout_ = {kHeap, kHeap + 8 * kPage, kStackLow, kStackTop};
    }
    void TearDown() override
    {
        guest_memory_destroy(memory_);
    }
    report_cause Classify(uint64_t address, uint64_t error_code, uint64_t rsp = kStackTop - 64)
    {
        return report_classify_page_fault(memory_, &layout_, address, error_code, rsp);
    }

    guest_memory *memory_ = nullptr;
    report_layout layout_{};
};

TEST_F(ReportGuestTest, ClassifiesFaultingAddresses)
{
    EXPECT_EQ(Classify(0, 0x6), REPORT_CAUSE_NULL_POINTER);
    EXPECT_EQ(Classify(0x18, 0x4), REPORT_CAUSE_NULL_POINTER);
    EXPECT_EQ(Classify(0, 0x14), REPORT_CAUSE_NULL_POINTER);
    EXPECT_EQ(Classify(kStackLow - 8, 0x6, kStackLow - 8), REPORT_CAUSE_STACK_OVERFLOW);
    EXPECT_EQ(Classify(0xdead0000, 0x4), REPORT_CAUSE_UNMAPPED);
    EXPECT_EQ(Classify(kHeap + 4 * kPage, 0x6), REPORT_CAUSE_HEAP);
    EXPECT_EQ(Classify(kText + 0x10, 0x7), REPORT_CAUSE_READ_ONLY_WRITE);
    EXPECT_EQ(Classify(kData + 0x10, 0x15), REPORT_CAUSE_NOT_EXECUTABLE);
    EXPECT_EQ(Classify(kKernel + 0x40, 0x5), REPORT_CAUSE_KERNEL_MEMORY);
    EXPECT_EQ(Classify(kNone + 8, 0x4), REPORT_CAUSE_NO_ACCESS);
    EXPECT_EQ(Classify(kData, 0xd), REPORT_CAUSE_RESERVED_BIT);
}

TEST_F(ReportGuestTest, StackOverflowPastTheGuardNeedsRspNearby)
{
    uint64_t below = kStackLow - 200 * 1024;
    EXPECT_EQ(Classify(below, 0x6, below + 16), REPORT_CAUSE_STACK_OVERFLOW);
    EXPECT_EQ(Classify(below, 0x6, kStackTop - 64), REPORT_CAUSE_UNMAPPED);
}

TEST(ReportCause, EveryCauseHasAPhrase)
{
    EXPECT_STREQ(report_cause_string(REPORT_CAUSE_NULL_POINTER), "NULL pointer dereference");
    EXPECT_STREQ(report_cause_string(REPORT_CAUSE_STACK_OVERFLOW), "stack overflow");
    for (int cause = REPORT_CAUSE_UNKNOWN; cause <= REPORT_CAUSE_PRIVILEGED; cause++)
        EXPECT_GT(strlen(report_cause_string(static_cast<report_cause>(cause))), 0u);
}

struct Note {
    uint32_t type;
    std::vector<uint8_t> desc;
};

TEST_F(ReportGuestTest, CoreFileHasRegistersNotesAndUserMemory)
{
    const char pattern[] = "heap data the core must keep";
    ASSERT_EQ(guest_write(memory_, kHeap + 0x100, pattern, sizeof(pattern), GUEST_ACCESS_DEBUG), 0);
    guest guest_state{};
    guest_state.memory = memory_;
    guest_state.stack_low = kStackLow;
    guest_state.stack_top = kStackTop;
    // The auxiliary vector guest_create keeps from the initial stack.
    uint64_t auxv[][2] = {{AT_ENTRY, 0x401000}, {AT_PAGESZ, 4096}, {AT_NULL, 0}};
    guest_state.auxv = reinterpret_cast<uint8_t *>(auxv);
    guest_state.auxv_length = sizeof(auxv);
    accel_exit exit{};
    exit.reason = ACCEL_EXIT_EXCEPTION;
    exit.vector = 14;
    cpu_state state{};
    state.rax = 0x1111;
    state.rbx = 0x2222;
    state.r15 = 0xf15f15;
    state.rip = kText + 0x42;
    state.rsp = kStackTop - 0x80;
    state.rflags = 0x10246;
    state.cs.selector = 0x2b;
    state.ss.selector = 0x23;
    state.fs.base = 0x7000123;
    cpu_fpu_state fpu{};
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    fpu.xmm[1][0] = 0xab;

    char path[] = "/tmp/hermitux-report-core-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    char *error = nullptr;
    ASSERT_EQ(report_write_core(path, &guest_state, &exit, &state, &fpu, &error), 0)
        << (error ? error : "");

    ASSERT_NE(elf_version(EV_CURRENT), EV_NONE);
    fd = open(path, O_RDONLY);
    ASSERT_GE(fd, 0);
    Elf *elf = elf_begin(fd, ELF_C_READ, nullptr);
    ASSERT_NE(elf, nullptr);
    GElf_Ehdr header;
    ASSERT_NE(gelf_getehdr(elf, &header), nullptr);
    EXPECT_EQ(header.e_type, ET_CORE);
    EXPECT_EQ(header.e_machine, EM_X86_64);
    EXPECT_EQ(header.e_ident[EI_CLASS], ELFCLASS64);
    size_t phnum = 0;
    ASSERT_EQ(elf_getphdrnum(elf, &phnum), 0);
    ASSERT_GE(phnum, 2u);

    std::vector<Note> notes;
    std::vector<GElf_Phdr> loads;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr phdr;
        ASSERT_NE(gelf_getphdr(elf, i, &phdr), nullptr);
        if (phdr.p_type == PT_LOAD) {
            loads.push_back(phdr);
            continue;
        }
        ASSERT_EQ(phdr.p_type, static_cast<uint32_t>(PT_NOTE));
        EXPECT_EQ(i, 0u) << "the notes come first";
        Elf_Data *data = elf_getdata_rawchunk(elf, phdr.p_offset, phdr.p_filesz, ELF_T_NHDR);
        ASSERT_NE(data, nullptr);
        size_t offset = 0, name_offset, desc_offset;
        GElf_Nhdr note;
        while ((offset = gelf_getnote(data, offset, &note, &name_offset, &desc_offset)) > 0) {
            EXPECT_STREQ(static_cast<const char *>(data->d_buf) + name_offset, "CORE");
            const uint8_t *desc = static_cast<const uint8_t *>(data->d_buf) + desc_offset;
            notes.push_back({note.n_type, std::vector<uint8_t>(desc, desc + note.n_descsz)});
        }
    }
    ASSERT_EQ(notes.size(), 4u);
    EXPECT_EQ(notes[0].type, static_cast<uint32_t>(NT_PRSTATUS));
    EXPECT_EQ(notes[1].type, static_cast<uint32_t>(NT_PRPSINFO));
    EXPECT_EQ(notes[2].type, static_cast<uint32_t>(NT_FPREGSET));
    EXPECT_EQ(notes[3].type, static_cast<uint32_t>(NT_AUXV));
    EXPECT_EQ(notes[3].desc,
              std::vector<uint8_t>(guest_state.auxv, guest_state.auxv + guest_state.auxv_length));

    ASSERT_EQ(notes[0].desc.size(), sizeof(elf_prstatus));
    elf_prstatus status;
    memcpy(&status, notes[0].desc.data(), sizeof(status));
    EXPECT_EQ(status.pr_cursig, SIGSEGV);
    EXPECT_EQ(status.pr_info.si_signo, SIGSEGV);
    user_regs_struct regs;
    memcpy(&regs, &status.pr_reg, sizeof(regs));
    EXPECT_EQ(regs.rax, 0x1111u);
    EXPECT_EQ(regs.rbx, 0x2222u);
    EXPECT_EQ(regs.r15, 0xf15f15u);
    EXPECT_EQ(regs.rip, kText + 0x42);
    EXPECT_EQ(regs.rsp, kStackTop - 0x80);
    EXPECT_EQ(regs.eflags, 0x10246u);
    EXPECT_EQ(regs.cs, 0x2bu);
    EXPECT_EQ(regs.ss, 0x23u);
    EXPECT_EQ(regs.fs_base, 0x7000123u);
    // user_regs_struct in Linux's order: fs_base is word 21 of pr_reg.
    EXPECT_EQ(status.pr_reg[21], 0x7000123u);
    EXPECT_EQ(status.pr_reg[16], kText + 0x42);

    ASSERT_EQ(notes[2].desc.size(), sizeof(user_fpregs_struct));
    user_fpregs_struct fp;
    memcpy(&fp, notes[2].desc.data(), sizeof(fp));
    EXPECT_EQ(fp.cwd, 0x37f);
    EXPECT_EQ(fp.mxcsr, 0x1f80u);
    EXPECT_EQ(fp.xmm_space[4] & 0xff, 0xabu);

    // User mappings only: text, data, heap, stack; not the kernel, the guard page or
    // the PROT_NONE (supervisor) mapping.
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const GElf_Phdr &load : loads)
        ranges.emplace_back(load.p_vaddr, load.p_vaddr + load.p_memsz);
    bool has_heap = false;
    for (const GElf_Phdr &load : loads) {
        EXPECT_NE(load.p_vaddr, kKernel);
        EXPECT_NE(load.p_vaddr, kStackLow - kPage);
        EXPECT_EQ(load.p_offset % kPage, 0u);
        if (load.p_vaddr <= kHeap && kHeap < load.p_vaddr + load.p_filesz) {
            has_heap = true;
            char buffer[sizeof(pattern)];
            ASSERT_EQ(
                pread(fd, buffer, sizeof(buffer), load.p_offset + (kHeap - load.p_vaddr) + 0x100),
                static_cast<ssize_t>(sizeof(buffer)));
            EXPECT_STREQ(buffer, pattern);
            EXPECT_EQ(load.p_flags, static_cast<uint32_t>(PF_R | PF_W));
        }
        if (load.p_vaddr == kText) {
            EXPECT_EQ(load.p_flags, static_cast<uint32_t>(PF_R | PF_X));
        }
    }
    EXPECT_TRUE(has_heap);
    bool has_stack = false;
    for (auto &range : ranges)
        has_stack |= range.first <= kStackLow && kStackTop <= range.second;
    EXPECT_TRUE(has_stack);
    elf_end(elf);
    close(fd);
    unlink(path);
}

TEST_F(ReportGuestTest, CoreFileErrorIsOneLine)
{
    guest guest_state{};
    guest_state.memory = memory_;
    accel_exit exit{};
    cpu_state state{};
    char *error = nullptr;
    EXPECT_LT(
        report_write_core("/nonexistent-dir/core", &guest_state, &exit, &state, nullptr, &error),
        0);
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(strchr(error, '\n'), nullptr);
    g_free(error);
}

} // namespace

// kernel.core_pattern as Linux's format_corename expands it.
TEST(CoreName, ExpandsCorePatternAsLinux)
{
    struct report_core_values values = {};
    values.pid = 4242;
    values.tid = 4243;
    values.uid = 1000;
    values.gid = 100;
    values.signal = 11;
    values.time = 1700000000;
    values.hostname = "box";
    values.comm = "a/b";
    values.exe = "/usr/bin/prog";
    values.limit = 8192;
    auto name = [&](const char *pattern, bool uses_pid) {
        char *text = report_core_name(pattern, uses_pid, &values);
        std::string result(text);
        g_free(text);
        return result;
    };
    EXPECT_EQ(name("core", false), "core");
    EXPECT_EQ(name("core", true), "core.4242");
    EXPECT_EQ(name("core.%p", true), "core.4242");
    EXPECT_EQ(name("/tmp/%e-%p-%i-%s-%t-%h-%u-%g-%c-%d", false),
              "/tmp/a!b-4242-4243-11-1700000000-box-1000-100-8192-1");
    EXPECT_EQ(name("%E.%f", false), "!usr!bin!prog.prog");
    EXPECT_EQ(name("100%%-%z-%", false), "100%--");
    values.comm = "..";
    EXPECT_EQ(name("%e", false), "!.");
}
