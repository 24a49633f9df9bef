// Module tests for loader/: real static programs (gcc, musl, static-pie,
// busybox) and a small kernel built here, ELF files crafted byte by byte for
// the page-sharing and malformed cases, and the initial stack parsed back.
#include <gtest/gtest.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "loader/loader.h"
#include "memory/memory.h"

namespace
{

constexpr uint64_t kPage = GUEST_PAGE_SIZE;
constexpr uint64_t kRamSize = 64ULL << 20;
constexpr uint64_t kKernelLow = 0x100000;
constexpr uint64_t kKernelHigh = 0x200000;
// Where interpreters go: a range of the dynamic region, backed by any frames.
constexpr uint64_t kDynamicLow = 0x7f0000000000ULL;
constexpr uint64_t kDynamicHigh = 0x7f0001000000ULL;
constexpr uint64_t kStackTop = 0x3000000;
constexpr uint64_t kStackSize = 256 * 1024;

using Bytes = std::vector<uint8_t>;

Bytes ReadFile(const std::string &path)
{
    gchar *contents = nullptr;
    gsize length = 0;
    if (!g_file_get_contents(path.c_str(), &contents, &length, nullptr))
        return {};
    Bytes bytes(contents, contents + length);
    g_free(contents);
    return bytes;
}

// Executable, as execve and so the loader want a program to be.
bool WriteFile(const std::string &path, const Bytes &bytes)
{
    return g_file_set_contents(path.c_str(), reinterpret_cast<const gchar *>(bytes.data()),
                               static_cast<gssize>(bytes.size()), nullptr) &&
           chmod(path.c_str(), 0755) == 0;
}

bool HaveCommand(const char *name)
{
    gchar *found = g_find_program_in_path(name);
    g_free(found);
    return found != nullptr;
}

// Runs a shell command; true when it exits 0.
bool RunShell(const std::string &command)
{
    gint status = 0;
    gchar *err = nullptr;
    gboolean ok = g_spawn_command_line_sync(("sh -c '" + command + "'").c_str(), nullptr, &err,
                                            &status, nullptr);
    if (ok && status != 0 && err)
        fprintf(stderr, "%s: %s\n", command.c_str(), err);
    g_free(err);
    return ok && g_spawn_check_wait_status(status, nullptr);
}

template <typename T> T Get(const Bytes &bytes, uint64_t offset)
{
    T value;
    memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

template <typename T> void Put(Bytes &bytes, uint64_t offset, T value)
{
    memcpy(bytes.data() + offset, &value, sizeof(T));
}

Elf64_Ehdr Header(const Bytes &file)
{
    return Get<Elf64_Ehdr>(file, 0);
}

std::vector<Elf64_Phdr> ProgramHeaders(const Bytes &file)
{
    Elf64_Ehdr header = Header(file);
    std::vector<Elf64_Phdr> headers;
    for (unsigned i = 0; i < header.e_phnum; i++)
        headers.push_back(Get<Elf64_Phdr>(file, header.e_phoff + i * sizeof(Elf64_Phdr)));
    return headers;
}

uint64_t PhdrOffset(const Bytes &file, unsigned index)
{
    return Header(file).e_phoff + index * sizeof(Elf64_Phdr);
}

// The address of a section by name (from the file's own section table).
bool SectionAddress(const Bytes &file, const char *name, uint64_t *address, uint64_t *size)
{
    Elf64_Ehdr header = Header(file);
    if (header.e_shoff == 0 || header.e_shstrndx >= header.e_shnum)
        return false;
    Elf64_Shdr strings =
        Get<Elf64_Shdr>(file, header.e_shoff + header.e_shstrndx * sizeof(Elf64_Shdr));
    for (unsigned i = 0; i < header.e_shnum; i++) {
        Elf64_Shdr section = Get<Elf64_Shdr>(file, header.e_shoff + i * sizeof(Elf64_Shdr));
        const char *section_name =
            reinterpret_cast<const char *>(file.data() + strings.sh_offset + section.sh_name);
        if (strcmp(section_name, name) == 0) {
            *address = section.sh_addr;
            if (size)
                *size = section.sh_size;
            return true;
        }
    }
    return false;
}

// A minimal ELF built in memory: the header, the program headers right
// after it, then each segment's bytes at a page-aligned file offset.
struct CraftedSegment {
    uint32_t type = PT_LOAD;
    uint32_t flags = PF_R;
    uint64_t vaddr = 0;
    Bytes bytes;        // p_filesz = bytes.size()
    uint64_t memsz = 0; // 0: bytes.size()
    uint64_t align = kPage;
};

Bytes CraftElf(const std::vector<CraftedSegment> &segments, uint64_t entry, uint16_t type = ET_EXEC)
{
    Elf64_Ehdr header = {};
    memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = type;
    header.e_machine = EM_X86_64;
    header.e_version = EV_CURRENT;
    header.e_entry = entry;
    header.e_phoff = sizeof(Elf64_Ehdr);
    header.e_ehsize = sizeof(Elf64_Ehdr);
    header.e_phentsize = sizeof(Elf64_Phdr);
    header.e_phnum = static_cast<uint16_t>(segments.size());

    Bytes file(kPage, 0);
    memcpy(file.data(), &header, sizeof(header));
    for (size_t i = 0; i < segments.size(); i++) {
        const CraftedSegment &segment = segments[i];
        uint64_t offset = file.size();
        file.insert(file.end(), segment.bytes.begin(), segment.bytes.end());
        file.resize((file.size() + kPage - 1) / kPage * kPage);
        // Keep p_offset congruent to p_vaddr, as linkers do.
        Elf64_Phdr phdr = {};
        phdr.p_type = segment.type;
        phdr.p_flags = segment.flags;
        phdr.p_offset = offset + (segment.vaddr % kPage);
        phdr.p_vaddr = phdr.p_paddr = segment.vaddr;
        phdr.p_filesz = segment.bytes.size();
        phdr.p_memsz = segment.memsz ? segment.memsz : segment.bytes.size();
        phdr.p_align = segment.align;
        // Move the bytes to the congruent offset.
        if (segment.vaddr % kPage) {
            file.resize(file.size() + kPage);
            memmove(file.data() + phdr.p_offset, file.data() + offset, segment.bytes.size());
            memset(file.data() + offset, 0, phdr.p_offset - offset);
        }
        memcpy(file.data() + sizeof(header) + i * sizeof(Elf64_Phdr), &phdr, sizeof(phdr));
    }
    return file;
}

Bytes Pattern(size_t size, uint8_t seed)
{
    Bytes bytes(size);
    for (size_t i = 0; i < size; i++)
        bytes[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
    return bytes;
}

class LoaderTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        char *error = nullptr;
        memory_ = guest_memory_create(kRamSize, &error);
        ASSERT_NE(memory_, nullptr) << (error ? error : "");
        gchar *dir = g_dir_make_tmp("test-loader-XXXXXX", nullptr);
        ASSERT_NE(dir, nullptr);
        dir_ = dir;
        g_free(dir);
        // Garbage where programs go: the loader must zero what it does not
        // copy, not rely on fresh frames.
        uint8_t *low = static_cast<uint8_t *>(guest_phys_to_host(memory_, 0, 32ULL << 20));
        memset(low + kKernelLow, 0xcc, (32ULL << 20) - kKernelLow);
    }
    void TearDown() override
    {
        elf_image_free(&image_);
        g_free(error_);
        guest_memory_destroy(memory_);
        RunShell("rm -rf " + dir_);
    }

    std::string Path(const std::string &name)
    {
        return dir_ + "/" + name;
    }

    // Builds a C program with `compiler flags`; "" when it cannot.
    std::string Build(const std::string &compiler, const std::string &flags,
                      const std::string &name, const char *source)
    {
        if (!HaveCommand(compiler.c_str()))
            return "";
        std::string c = Path(name + ".c");
        if (!g_file_set_contents(c.c_str(), source, -1, nullptr))
            return "";
        std::string out = Path(name);
        if (!RunShell(compiler + " " + flags + " -o " + out + " " + c))
            return "";
        return out;
    }

    std::string Write(const std::string &name, const Bytes &bytes)
    {
        std::string path = Path(name);
        EXPECT_TRUE(WriteFile(path, bytes));
        return path;
    }

    int LoadProgram(const std::string &path)
    {
        elf_image_free(&image_);
        g_free(error_);
        error_ = nullptr;
        struct loader_limits limits = {kKernelHigh, kRamSize, kDynamicLow, kDynamicHigh, nullptr};
        return loader_load_program(path.c_str(), memory_, &limits, &image_, &error_);
    }

    int LoadInterpreter(const std::string &path)
    {
        elf_image_free(&image_);
        g_free(error_);
        error_ = nullptr;
        struct loader_limits limits = {kDynamicLow, kDynamicHigh, 0, 0, nullptr};
        return loader_load_interpreter(path.c_str(), memory_, &limits, &image_, &error_);
    }

    // Refusal: the return value, a one-line message naming the file and
    // containing `expected`, and an empty image.
    void ExpectRefused(const std::string &path, int expected_errno, const std::string &expected)
    {
        int result = LoadProgram(path);
        EXPECT_EQ(result, -expected_errno) << (error_ ? error_ : "(no message)");
        ASSERT_NE(error_, nullptr);
        std::string message = error_;
        EXPECT_NE(message.find(expected), std::string::npos) << message;
        EXPECT_EQ(message.rfind(path, 0), 0u) << "does not start with the path: " << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
        EXPECT_EQ(image_.segments, nullptr);
        EXPECT_EQ(image_.path, nullptr);
        EXPECT_EQ(image_.entry, 0u);
    }

    struct guest_walk Walk(uint64_t address)
    {
        struct guest_walk walk;
        guest_walk(memory_, guest_memory_cr3(memory_), address, &walk);
        return walk;
    }

    Bytes Read(uint64_t address, size_t length)
    {
        Bytes bytes(length);
        EXPECT_EQ(guest_read(memory_, address, bytes.data(), length, GUEST_ACCESS_DEBUG), 0)
            << std::hex << address;
        return bytes;
    }

    // Every PT_LOAD of the file is in guest memory at p_vaddr + bias: file
    // bytes, then zeroes; every page present with at least the segment's
    // permissions, user-accessible for a program; and image fields agree.
    // kind: the region kind expected (an interpreter is an mmap region, in
    // fresh frames rather than identity mapped).
    void ExpectLoaded(const Bytes &file, uint64_t bias, bool user, int kind = -1)
    {
        bool identity = kind < 0;
        if (kind < 0)
            kind = user ? GUEST_REGION_PROGRAM : GUEST_REGION_KERNEL;
        Elf64_Ehdr header = Header(file);
        EXPECT_EQ(image_.entry, header.e_entry + bias);
        EXPECT_EQ(image_.bias, bias);
        EXPECT_EQ(image_.type, header.e_type);
        EXPECT_EQ(image_.phnum, header.e_phnum);
        EXPECT_EQ(image_.phent, sizeof(Elf64_Phdr));
        size_t loads = 0;
        for (const Elf64_Phdr &phdr : ProgramHeaders(file)) {
            if (phdr.p_type != PT_LOAD || phdr.p_memsz == 0)
                continue;
            loads++;
            uint64_t start = phdr.p_vaddr + bias;
            Bytes in_guest = Read(start, phdr.p_memsz);
            EXPECT_TRUE(std::equal(in_guest.begin(), in_guest.begin() + phdr.p_filesz,
                                   file.begin() + phdr.p_offset))
                << "segment at " << std::hex << start;
            for (uint64_t i = phdr.p_filesz; i < phdr.p_memsz; i++)
                if (in_guest[i] != 0) {
                    ADD_FAILURE() << "bss not zero at " << std::hex << start + i;
                    break;
                }
            for (uint64_t page = start & GUEST_PAGE_MASK; page < start + phdr.p_memsz;
                 page += kPage) {
                struct guest_walk walk = Walk(page);
                ASSERT_EQ(walk.status, GUEST_WALK_OK) << std::hex << page;
                if (identity) {
                    EXPECT_EQ(walk.gpa, page) << "not identity mapped";
                }
                EXPECT_EQ(walk.user, user || InUserSection(file, page)) << std::hex << page;
                if (phdr.p_flags & PF_W) {
                    EXPECT_TRUE(walk.writable) << std::hex << page;
                }
                if (phdr.p_flags & PF_X) {
                    EXPECT_TRUE(walk.executable) << std::hex << page;
                }
                const struct guest_region *region = guest_region_lookup(memory_, page);
                ASSERT_NE(region, nullptr);
                EXPECT_EQ(region->kind, kind);
                std::string base = std::string(image_.path)
                                       .substr(std::string(image_.path).rfind('/') + 1)
                                       .substr(0, sizeof(region->name) - 1);
                // Pages past the file's bytes (.bss) are anonymous in
                // /proc/PID/maps, as on Linux, unless the next segment's
                // bytes share the page.
                bool file_page = page < ((start + phdr.p_filesz + kPage - 1) & GUEST_PAGE_MASK);
                if (file_page)
                    EXPECT_EQ(region->name, base) << std::hex << page;
                else
                    EXPECT_TRUE(region->name == base || region->name[0] == '\0')
                        << std::hex << page;
            }
            // Pages wholly inside one segment have exactly its permissions.
            uint64_t inner = (start + kPage - 1) & GUEST_PAGE_MASK;
            if (inner + kPage <= ((start + phdr.p_memsz) & GUEST_PAGE_MASK) &&
                !SharedWithAnother(file, bias, inner)) {
                struct guest_walk walk = Walk(inner);
                EXPECT_EQ(walk.writable, (phdr.p_flags & PF_W) != 0) << std::hex << inner;
                EXPECT_EQ(walk.executable, (phdr.p_flags & PF_X) != 0) << std::hex << inner;
            }
        }
        EXPECT_GT(loads, 0u);
        ASSERT_GT(image_.segment_count, 0u);
        EXPECT_EQ(image_.start, image_.segments[0].start);
        EXPECT_EQ(image_.end, image_.segments[image_.segment_count - 1].end);
        for (size_t i = 0; i < image_.segment_count; i++) {
            EXPECT_EQ(image_.segments[i].start % kPage, 0u);
            EXPECT_EQ(image_.segments[i].end % kPage, 0u);
            EXPECT_LT(image_.segments[i].start, image_.segments[i].end);
            EXPECT_EQ(image_.segments[i].prot & GUEST_PROT_USER, 0);
            if (i > 0) {
                EXPECT_LE(image_.segments[i - 1].end, image_.segments[i].start);
            }
        }
    }

    // For the kernel: pages of .text.user and .data.user are the program's.
    bool InUserSection(const Bytes &file, uint64_t page)
    {
        for (const char *name : {".text.user", ".data.user"}) {
            uint64_t address, size;
            if (SectionAddress(file, name, &address, &size) && size &&
                (address & GUEST_PAGE_MASK) <= page && page < address + size)
                return true;
        }
        return false;
    }

    // A fresh, empty guest memory (to load a second file at the same place).
    void ResetMemory()
    {
        elf_image_free(&image_);
        guest_memory_destroy(memory_);
        memory_ = guest_memory_create(kRamSize, nullptr);
        ASSERT_NE(memory_, nullptr);
    }

    bool SharedWithAnother(const Bytes &file, uint64_t bias, uint64_t page)
    {
        int count = 0;
        for (const Elf64_Phdr &phdr : ProgramHeaders(file))
            if (phdr.p_type == PT_LOAD && phdr.p_memsz &&
                ((phdr.p_vaddr + bias) & GUEST_PAGE_MASK) <= page &&
                page < phdr.p_vaddr + bias + phdr.p_memsz)
                count++;
        return count > 1;
    }

    // The address of the program headers in the file's own terms.
    uint64_t ExpectedPhdrAddress(const Bytes &file, uint64_t bias)
    {
        for (const Elf64_Phdr &phdr : ProgramHeaders(file))
            if (phdr.p_type == PT_PHDR)
                return phdr.p_vaddr + bias;
        uint64_t phoff = Header(file).e_phoff;
        for (const Elf64_Phdr &phdr : ProgramHeaders(file))
            if (phdr.p_type == PT_LOAD && phdr.p_offset <= phoff &&
                phoff < phdr.p_offset + phdr.p_filesz)
                return phdr.p_vaddr + bias + (phoff - phdr.p_offset);
        return 0;
    }

    void ExpectSymbols(const Bytes &file, uint64_t bias)
    {
        const struct elf_symbol *symbols;
        size_t count = elf_image_symbols(&image_, &symbols);
        ASSERT_GT(count, 0u);
        for (size_t i = 1; i < count; i++)
            ASSERT_LE(symbols[i - 1].address, symbols[i].address);
        uint64_t main_address = 0;
        ASSERT_TRUE(elf_image_lookup(&image_, "main", &main_address));
        EXPECT_GE(main_address, image_.start);
        EXPECT_LT(main_address, image_.end);
        uint64_t offset = 99;
        const struct elf_symbol *symbol = elf_image_symbolize(&image_, main_address + 1, &offset);
        ASSERT_NE(symbol, nullptr);
        EXPECT_STREQ(symbol->name, "main");
        EXPECT_TRUE(symbol->is_function);
        EXPECT_EQ(offset, 1u);
        uint64_t object_address = 0;
        ASSERT_TRUE(elf_image_lookup(&image_, "initialized_data", &object_address));
        symbol = elf_image_symbolize(&image_, object_address + 3, &offset);
        ASSERT_NE(symbol, nullptr);
        EXPECT_STREQ(symbol->name, "initialized_data");
        EXPECT_FALSE(symbol->is_function);
        EXPECT_EQ(offset, 3u);
        EXPECT_FALSE(elf_image_lookup(&image_, "no_such_symbol_here", &offset));
        uint64_t text = 0;
        ASSERT_TRUE(SectionAddress(file, ".text", &text, nullptr));
        EXPECT_EQ(image_.text_start, text + bias);
        EXPECT_GE(main_address, image_.text_start);
    }

    struct guest_memory *memory_ = nullptr;
    std::string dir_;
    struct elf_image image_ = {};
    char *error_ = nullptr;
};

const char kProgramSource[] = R"(
#include <stdio.h>
char initialized_data[64] = "initialized data";
char zeroed_data[70000];
__thread int thread_value = 42;
int main(int argc, char **argv)
{
    zeroed_data[argc] = 1;
    printf("%s %d %s\n", initialized_data, thread_value, argv[0]);
    return 0;
}
)";

// ---- real static programs -------------------------------------------------

TEST_F(LoaderTest, GccStaticLoadsAtItsAddresses)
{
    std::string path = Build("gcc", "-static -O1", "gcc-static", kProgramSource);
    if (path.empty())
        GTEST_SKIP() << "gcc -static cannot build here";
    ASSERT_EQ(LoadProgram(path), 0) << error_;
    Bytes file = ReadFile(path);
    EXPECT_EQ(image_.type, ET_EXEC);
    EXPECT_STREQ(image_.path, path.c_str());
    ExpectLoaded(file, 0, true);
    EXPECT_EQ(image_.phdr_address, ExpectedPhdrAddress(file, 0));
    EXPECT_NE(image_.phdr_address, 0u);
    // The program headers really are there.
    EXPECT_EQ(Read(image_.phdr_address, sizeof(Elf64_Phdr)),
              Bytes(file.begin() + Header(file).e_phoff,
                    file.begin() + Header(file).e_phoff + sizeof(Elf64_Phdr)));
    EXPECT_TRUE(image_.has_tls);
    EXPECT_GE(image_.tls_memsz, image_.tls_filesz);
    EXPECT_FALSE(image_.executable_stack);
    ExpectSymbols(file, 0);
    uint64_t object_address = 0;
    ASSERT_TRUE(elf_image_lookup(&image_, "initialized_data", &object_address));
    Bytes data = Read(object_address, 17);
    EXPECT_EQ(std::string(data.begin(), data.end() - 1), "initialized data");
}

// Symbols are read on first use, from the file as it was loaded: one whose
// path now names another file keeps its own, and a file rewritten in place
// since has none (not the new contents').
TEST_F(LoaderTest, SymbolsComeFromTheFileAsLoaded)
{
    std::string path = Build("gcc", "-static -O1", "gcc-static-replaced", kProgramSource);
    if (path.empty())
        GTEST_SKIP() << "gcc -static cannot build here";
    ASSERT_EQ(LoadProgram(path), 0) << error_;
    ASSERT_EQ(rename(path.c_str(), (path + ".old").c_str()), 0);
    ASSERT_TRUE(WriteFile(path, Bytes(16, 0)));
    uint64_t address = 0;
    EXPECT_TRUE(elf_image_lookup(&image_, "initialized_data", &address));
    EXPECT_NE(address, 0u);
}

TEST_F(LoaderTest, AFileRewrittenSinceLoadingHasNoSymbols)
{
    std::string path = Build("gcc", "-static -O1", "gcc-static-rewritten", kProgramSource);
    std::string other = Build("gcc", "-static -O2", "gcc-static-other", kProgramSource);
    if (path.empty() || other.empty())
        GTEST_SKIP() << "gcc -static cannot build here";
    ASSERT_EQ(LoadProgram(path), 0) << error_;
    // Another program with the same symbol names, written over the file.
    Bytes file = ReadFile(other);
    int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, file.data(), file.size()), (ssize_t)file.size());
    close(fd);
    const struct elf_symbol *symbols;
    EXPECT_EQ(elf_image_symbols(&image_, &symbols), 0u);
    uint64_t address = 0;
    EXPECT_FALSE(elf_image_lookup(&image_, "initialized_data", &address));
}

TEST_F(LoaderTest, MuslStaticLoadsAtItsAddresses)
{
    std::string path = Build("musl-gcc", "-static -O1", "musl-static", kProgramSource);
    if (path.empty())
        GTEST_SKIP() << "musl-gcc -static cannot build here";
    ASSERT_EQ(LoadProgram(path), 0) << error_;
    Bytes file = ReadFile(path);
    ExpectLoaded(file, 0, true);
    EXPECT_EQ(image_.phdr_address, ExpectedPhdrAddress(file, 0));
    EXPECT_NE(image_.phdr_address, 0u);
    ExpectSymbols(file, 0);
    // The TLS record is the PT_TLS header.
    bool found = false;
    for (const Elf64_Phdr &phdr : ProgramHeaders(file))
        if (phdr.p_type == PT_TLS) {
            found = true;
            EXPECT_TRUE(image_.has_tls);
            EXPECT_EQ(image_.tls_address, phdr.p_vaddr);
            EXPECT_EQ(image_.tls_filesz, phdr.p_filesz);
            EXPECT_EQ(image_.tls_memsz, phdr.p_memsz);
            EXPECT_EQ(image_.tls_align, phdr.p_align);
        }
    EXPECT_TRUE(found);
}

TEST_F(LoaderTest, StaticPieLoadsAtTheBias)
{
    std::string path = Build("gcc", "-static-pie -fPIE -O1", "static-pie", kProgramSource);
    if (path.empty())
        GTEST_SKIP() << "gcc -static-pie cannot build here";
    Bytes file = ReadFile(path);
    ASSERT_EQ(Header(file).e_type, ET_DYN);
    ASSERT_EQ(LoadProgram(path), 0) << error_;
    EXPECT_EQ(image_.bias, LOADER_PIE_BIAS);
    EXPECT_EQ(image_.start, LOADER_PIE_BIAS);
    ExpectLoaded(file, LOADER_PIE_BIAS, true);
    EXPECT_EQ(image_.phdr_address, ExpectedPhdrAddress(file, LOADER_PIE_BIAS));
    ExpectSymbols(file, LOADER_PIE_BIAS);
    for (const Elf64_Phdr &phdr : ProgramHeaders(file)) {
        if (phdr.p_type == PT_TLS) {
            EXPECT_EQ(image_.tls_address, phdr.p_vaddr + LOADER_PIE_BIAS);
        }
    }
    // Nothing at the file's own (unbiased) addresses.
    EXPECT_EQ(guest_region_lookup(memory_, 0x1000), nullptr);
}

TEST_F(LoaderTest, BusyboxLoadsWithoutSymbols)
{
    const std::string path = "/bin/busybox";
    Bytes file = ReadFile(path);
    if (file.size() < sizeof(Elf64_Ehdr) || Header(file).e_machine != EM_X86_64 ||
        Header(file).e_type != ET_EXEC)
        GTEST_SKIP() << "no static x86-64 /bin/busybox";
    for (const Elf64_Phdr &phdr : ProgramHeaders(file))
        if (phdr.p_type == PT_INTERP)
            GTEST_SKIP() << "/bin/busybox is dynamic here";
    ASSERT_EQ(LoadProgram(path), 0) << error_;
    ExpectLoaded(file, 0, true);
    EXPECT_EQ(image_.phdr_address, ExpectedPhdrAddress(file, 0));
    uint64_t offset;
    EXPECT_EQ(elf_image_symbolize(&image_, image_.entry, &offset), nullptr);
}

TEST_F(LoaderTest, TwoProgramsCannotShareAddresses)
{
    std::string path = Build("gcc", "-static -O1", "gcc-static", kProgramSource);
    if (path.empty())
        GTEST_SKIP() << "gcc -static cannot build here";
    ASSERT_EQ(LoadProgram(path), 0) << error_;
    struct elf_image second = {};
    struct loader_limits limits = {kKernelHigh, kRamSize, 0, 0, nullptr};
    char *error = nullptr;
    EXPECT_EQ(loader_load_program(path.c_str(), memory_, &limits, &second, &error), -ENOMEM);
    ASSERT_NE(error, nullptr);
    EXPECT_NE(std::string(error).find("already in use"), std::string::npos) << error;
    EXPECT_EQ(second.segments, nullptr);
    g_free(error);
}

// ---- crafted files --------------------------------------------------------

TEST_F(LoaderTest, SegmentsSharingAPageGetTheUnionOfPermissions)
{
    // Text [0x400000, 0x401800) R-X, data [0x401800, 0x402900) RW- with a
    // bss tail: page 0x401000 holds both.
    CraftedSegment text{PT_LOAD, PF_R | PF_X, 0x400000, Pattern(0x1800, 1)};
    CraftedSegment data{PT_LOAD, PF_R | PF_W, 0x401800, Pattern(0x300, 2), 0x1100};
    Bytes file = CraftElf({text, data}, 0x400010);
    std::string path = Write("shared-page", file);
    ASSERT_EQ(LoadProgram(path), 0) << error_;
    ExpectLoaded(file, 0, true);

    struct guest_walk walk = Walk(0x400000);
    EXPECT_FALSE(walk.writable);
    EXPECT_TRUE(walk.executable);
    walk = Walk(0x401000);
    EXPECT_TRUE(walk.writable);
    EXPECT_TRUE(walk.executable);
    walk = Walk(0x402000);
    EXPECT_TRUE(walk.writable);
    EXPECT_FALSE(walk.executable);
    EXPECT_EQ(Walk(0x403000).status, GUEST_WALK_NOT_PRESENT);

    ASSERT_EQ(image_.segment_count, 3u);
    EXPECT_EQ(image_.segments[0].start, 0x400000u);
    EXPECT_EQ(image_.segments[0].prot, GUEST_PROT_READ | GUEST_PROT_EXEC);
    EXPECT_EQ(image_.segments[1].start, 0x401000u);
    EXPECT_EQ(image_.segments[1].prot, GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_EXEC);
    EXPECT_EQ(image_.segments[2].start, 0x402000u);
    EXPECT_EQ(image_.segments[2].end, 0x403000u);
    EXPECT_EQ(image_.segments[2].prot, GUEST_PROT_READ | GUEST_PROT_WRITE);
    EXPECT_EQ(image_.start, 0x400000u);
    EXPECT_EQ(image_.end, 0x403000u);
    // No PT_PHDR, and the headers are in the first page of the file, which
    // no segment covers here.
    EXPECT_EQ(image_.phdr_address, 0u);
    EXPECT_TRUE(image_.executable_stack); // no PT_GNU_STACK
    EXPECT_FALSE(image_.has_tls);
    const struct elf_symbol *symbols;
    EXPECT_EQ(elf_image_symbols(&image_, &symbols), 0u);
}

TEST_F(LoaderTest, GnuStackAndPhdrAreHonoured)
{
    Bytes code = Pattern(0x200, 3);
    CraftedSegment first{PT_LOAD, PF_R | PF_X, 0x400000, code};
    CraftedSegment stack{PT_GNU_STACK, PF_R | PF_W | PF_X, 0, {}, 0, 16};
    CraftedSegment phdr{PT_PHDR, PF_R, 0x400100, {}, 3 * sizeof(Elf64_Phdr), 8};
    Bytes file = CraftElf({first, stack, phdr}, 0x400000);
    ASSERT_EQ(LoadProgram(Write("gnu-stack-x", file)), 0) << error_;
    EXPECT_TRUE(image_.executable_stack);
    EXPECT_EQ(image_.phdr_address, 0x400100u);

    Put<uint32_t>(file, PhdrOffset(file, 1) + offsetof(Elf64_Phdr, p_flags), PF_R | PF_W);
    ResetMemory();
    ASSERT_EQ(LoadProgram(Write("gnu-stack-nx", file)), 0) << error_;
    EXPECT_FALSE(image_.executable_stack);

    // A PT_PHDR that points at nothing loaded is not believed (and the
    // table's file offset is in no segment here either).
    Put<uint64_t>(file, PhdrOffset(file, 2) + offsetof(Elf64_Phdr, p_vaddr), 0x900000);
    ResetMemory();
    ASSERT_EQ(LoadProgram(Write("phdr-elsewhere", file)), 0) << error_;
    EXPECT_EQ(image_.phdr_address, 0u);
}

TEST_F(LoaderTest, EmptySegmentsAreIgnored)
{
    CraftedSegment text{PT_LOAD, PF_R | PF_X, 0x400000, Pattern(0x100, 4)};
    CraftedSegment empty{PT_LOAD, PF_R | PF_W, 0x100000, {}, 0};
    Bytes file = CraftElf({text, empty}, 0x400000);
    ASSERT_EQ(LoadProgram(Write("empty-segment", file)), 0) << error_;
    EXPECT_EQ(image_.segment_count, 1u);
}

class MalformedTest : public LoaderTest
{
  protected:
    // A good crafted program: text, then data + bss.
    Bytes Good()
    {
        CraftedSegment text{PT_LOAD, PF_R | PF_X, 0x400000, Pattern(0x2000, 5)};
        CraftedSegment data{PT_LOAD, PF_R | PF_W, 0x403000, Pattern(0x800, 6), 0x3000};
        return CraftElf({text, data}, 0x400100);
    }
    void PutPhdr(Bytes &file, unsigned index, size_t field, uint64_t value)
    {
        Put<uint64_t>(file, PhdrOffset(file, index) + field, value);
    }
};

TEST_F(MalformedTest, TheGoodOneLoads)
{
    Bytes file = Good();
    ASSERT_EQ(LoadProgram(Write("good", file)), 0) << error_;
    ExpectLoaded(file, 0, true);
}

// --root: the file as opened must lie in the root. A path whose directory became a link out
// of the tree between the lookup and the open (here made so before) is refused; the same file
// reached inside the tree loads.
TEST_F(MalformedTest, OpenedFileMustBeInsideTheRoot)
{
    Bytes file = Good();
    std::string outside = Write("outside-prog", file);
    std::string tree = Path("tree"), swapped = Path("tree/bin");
    ASSERT_EQ(mkdir(tree.c_str(), 0755), 0);
    ASSERT_EQ(symlink(dir_.c_str(), swapped.c_str()), 0);
    struct loader_limits limits = {kKernelHigh, kRamSize, kDynamicLow, kDynamicHigh, tree.c_str()};
    EXPECT_EQ(loader_load_program((swapped + "/outside-prog").c_str(), memory_, &limits, &image_,
                                  &error_),
              -EACCES);
    ASSERT_NE(error_, nullptr);
    EXPECT_NE(strstr(error_, "is no longer inside --root"), nullptr) << error_;
    g_free(error_);
    error_ = nullptr;
    std::string inside = Path("tree/prog");
    ASSERT_TRUE(WriteFile(inside, file));
    EXPECT_EQ(loader_load_program(inside.c_str(), memory_, &limits, &image_, &error_), 0) << error_;
}

TEST_F(MalformedTest, MissingFile)
{
    ExpectRefused(Path("no-such-program"), ENOENT, ": No such file or directory");
}

TEST_F(MalformedTest, Directory)
{
    ExpectRefused(dir_, EISDIR, ": is a directory");
}

TEST_F(MalformedTest, TextFile)
{
    ExpectRefused(Write("text", Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'}),
                  ENOEXEC, ": not an ELF file");
}

TEST_F(MalformedTest, NotExecutable)
{
    std::string path = Write("not-executable", Good());
    ASSERT_EQ(0, chmod(path.c_str(), 0644));
    ExpectRefused(path, EACCES, ": not executable (mode 0644): Permission denied");
}

TEST_F(MalformedTest, EmptyFile)
{
    ExpectRefused(Write("empty", Bytes{}), ENOEXEC, ": not an ELF file");
}

TEST_F(MalformedTest, OnlyTheMagic)
{
    ExpectRefused(Write("magic", Bytes{0x7f, 'E', 'L', 'F', 2, 1}), ENOEXEC, "truncated ELF file");
}

TEST_F(MalformedTest, HeaderCutShort)
{
    Bytes file = Good();
    file.resize(40);
    ExpectRefused(Write("short-header", file), ENOEXEC, "truncated ELF file");
}

TEST_F(MalformedTest, ThirtyTwoBit)
{
    Bytes file = Good();
    file[EI_CLASS] = ELFCLASS32;
    ExpectRefused(Write("elf32", file), ENOEXEC, ": 32-bit ELF; hermitux-run runs x86-64 programs");
}

TEST_F(MalformedTest, BigEndian)
{
    Bytes file = Good();
    file[EI_DATA] = ELFDATA2MSB;
    ExpectRefused(Write("big-endian", file), ENOEXEC, "big-endian ELF");
}

TEST_F(MalformedTest, Aarch64)
{
    Bytes file = Good();
    Put<uint16_t>(file, offsetof(Elf64_Ehdr, e_machine), EM_AARCH64);
    ExpectRefused(Write("aarch64", file), ENOEXEC,
                  ": ELF for aarch64; hermitux-run runs x86-64 programs");
}

TEST_F(MalformedTest, UnknownMachine)
{
    Bytes file = Good();
    Put<uint16_t>(file, offsetof(Elf64_Ehdr, e_machine), 0x4242);
    ExpectRefused(Write("machine", file), ENOEXEC, "not x86-64");
}

TEST_F(MalformedTest, CoreDumpAndObjectFile)
{
    Bytes file = Good();
    Put<uint16_t>(file, offsetof(Elf64_Ehdr, e_type), ET_CORE);
    ExpectRefused(Write("core", file), ENOEXEC, "core dump");
    Put<uint16_t>(file, offsetof(Elf64_Ehdr, e_type), ET_REL);
    ExpectRefused(Write("object.o", file), ENOEXEC, "relocatable object file");
}

TEST_F(MalformedTest, RealObjectFile)
{
    std::string path = Build("gcc", "-c", "object.o", kProgramSource);
    if (path.empty())
        GTEST_SKIP() << "gcc cannot build here";
    ASSERT_EQ(0, chmod(path.c_str(), 0755)); // judged by its contents, not its mode
    ExpectRefused(path, ENOEXEC, "relocatable object file");
}

TEST_F(MalformedTest, DynamicallyLinked)
{
    std::string path = Build("gcc", "-O1", "dynamic", "int main(void) { return 0; }");
    if (path.empty())
        GTEST_SKIP() << "gcc cannot build here";
    ASSERT_EQ(LoadProgram(path), 0) << error_;
    ASSERT_NE(image_.interpreter, nullptr);
    EXPECT_STREQ(image_.interpreter, "/lib64/ld-linux-x86-64.so.2");
    // A PIE goes where a static-pie goes; its PT_DYNAMIC is known (for r_debug).
    ExpectLoaded(ReadFile(path), LOADER_PIE_BIAS, true);
    EXPECT_GE(image_.dynamic_address, image_.start);
    EXPECT_LT(image_.dynamic_address, image_.end);
}

TEST_F(MalformedTest, CraftedInterpreter)
{
    CraftedSegment text{PT_LOAD, PF_R | PF_X, 0x400000, Pattern(0x100, 4)};
    const char name[] = "/lib/ld-musl-x86_64.so.1";
    CraftedSegment interp{PT_INTERP, PF_R, 0x400000, Bytes(name, name + sizeof(name)), 0, 1};
    Bytes file = CraftElf({text, interp}, 0x400000);
    ASSERT_EQ(LoadProgram(Write("interp", file)), 0) << error_;
    EXPECT_STREQ(image_.interpreter, name);
    // A PT_INTERP that points outside the file names no interpreter at all.
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_offset), 1ULL << 40);
    ExpectRefused(Write("interp-broken", file), ENOEXEC, "malformed PT_INTERP");
    // An interpreter must not need one itself.
    EXPECT_EQ(LoadInterpreter(Path("interp")), -ENOEXEC);
    EXPECT_NE(std::string(error_).find("needs an interpreter itself"), std::string::npos) << error_;
}

// The dynamic loader goes to the top of the range it is given, in fresh
// frames, whole pages from the file (its ELF header is readable at its base).
TEST_F(LoaderTest, InterpreterAtTheTopOfItsRange)
{
    const std::string path = "/lib64/ld-linux-x86-64.so.2";
    Bytes file = ReadFile(path);
    if (file.size() < sizeof(Elf64_Ehdr) || Header(file).e_type != ET_DYN)
        GTEST_SKIP() << "no glibc dynamic loader here";
    ASSERT_EQ(LoadInterpreter(path), 0) << error_;
    EXPECT_EQ(image_.interpreter, nullptr);
    EXPECT_EQ(image_.bias % GUEST_PAGE_SIZE, 0u);
    EXPECT_GE(image_.start, kDynamicLow);
    EXPECT_LE(image_.end, kDynamicHigh);
    EXPECT_GT(image_.end, kDynamicHigh - 2 * 0x10000) << "not at the top";
    ExpectLoaded(file, image_.bias, true, GUEST_REGION_MMAP);
    EXPECT_EQ(Read(image_.bias, 4), Bytes(file.begin(), file.begin() + 4));
    const struct guest_region *region = guest_region_lookup(memory_, image_.entry);
    ASSERT_NE(region, nullptr);
    EXPECT_EQ(region->kind, GUEST_REGION_MMAP);
    EXPECT_STREQ(region->name, "ld-linux-x86-64.so.2");
    // Run as the program, it goes to the same kind of place (it has a DT_SONAME).
    elf_image_free(&image_);
    guest_unmap(memory_, kDynamicLow, kDynamicHigh - kDynamicLow);
    ASSERT_EQ(LoadProgram(path), 0) << error_;
    EXPECT_GE(image_.start, kDynamicLow);
    EXPECT_EQ(guest_region_lookup(memory_, image_.entry)->kind, GUEST_REGION_PROGRAM);
}

TEST_F(MalformedTest, NoProgramHeaders)
{
    Bytes file = Good();
    Put<uint16_t>(file, offsetof(Elf64_Ehdr, e_phnum), 0);
    ExpectRefused(Write("no-phdrs", file), ENOEXEC, "no program headers");
}

TEST_F(MalformedTest, WrongProgramHeaderSize)
{
    Bytes file = Good();
    Put<uint16_t>(file, offsetof(Elf64_Ehdr, e_phentsize), 32);
    ExpectRefused(Write("phentsize", file), ENOEXEC, "program header entries of 32 bytes");
}

TEST_F(MalformedTest, ProgramHeadersPastTheEnd)
{
    Bytes file = Good();
    Put<uint64_t>(file, offsetof(Elf64_Ehdr, e_phoff), file.size() - 8);
    ExpectRefused(Write("phoff", file), ENOEXEC,
                  "truncated ELF file (the program headers extend past the end of the file)");
    Put<uint64_t>(file, offsetof(Elf64_Ehdr, e_phoff), UINT64_MAX - 16);
    ExpectRefused(Write("phoff-wrap", file), ENOEXEC, "truncated ELF file");
}

TEST_F(MalformedTest, TruncatedSegment)
{
    Bytes file = Good();
    Elf64_Phdr data = ProgramHeaders(file)[1];
    file.resize(data.p_offset + data.p_filesz / 2);
    ExpectRefused(Write("truncated", file), ENOEXEC,
                  ": truncated ELF file (segment 1 extends past the end of the file)");
}

TEST_F(MalformedTest, TruncatedRealProgram)
{
    std::string path = Build("gcc", "-static -O1", "gcc-static", kProgramSource);
    if (path.empty())
        GTEST_SKIP() << "gcc -static cannot build here";
    Bytes file = ReadFile(path);
    // Cut in the middle of the last PT_LOAD's file bytes.
    unsigned index = 0;
    uint64_t cut = 0;
    std::vector<Elf64_Phdr> headers = ProgramHeaders(file);
    for (unsigned i = 0; i < headers.size(); i++)
        if (headers[i].p_type == PT_LOAD && headers[i].p_filesz > 1 &&
            headers[i].p_offset + headers[i].p_filesz / 2 > cut) {
            index = i;
            cut = headers[i].p_offset + headers[i].p_filesz / 2;
        }
    // The first header (in table order) that the cut reaches is the one named.
    for (unsigned i = 0; i < headers.size(); i++)
        if ((headers[i].p_type == PT_LOAD || headers[i].p_type == PT_TLS) &&
            headers[i].p_offset + headers[i].p_filesz > cut) {
            index = i;
            break;
        }
    file.resize(cut);
    ExpectRefused(Write("truncated-real", file), ENOEXEC,
                  "truncated ELF file (segment " + std::to_string(index) +
                      " extends past the end of the file)");
}

TEST_F(MalformedTest, OffsetBeyondTheFile)
{
    Bytes file = Good();
    PutPhdr(file, 0, offsetof(Elf64_Phdr, p_offset), 0x100000000000ULL);
    ExpectRefused(Write("huge-offset", file), ENOEXEC,
                  "truncated ELF file (segment 0 extends past the end of the file)");
    // offset + filesz wrapping around must not pass.
    PutPhdr(file, 0, offsetof(Elf64_Phdr, p_offset), UINT64_MAX - 0x10);
    ExpectRefused(Write("wrap-offset", file), ENOEXEC, "truncated ELF file (segment 0");
}

TEST_F(MalformedTest, FileSizeLargerThanMemorySize)
{
    Bytes file = Good();
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_memsz), 0x10);
    ExpectRefused(Write("filesz-memsz", file), ENOEXEC,
                  "segment 1 has a file size (0x800) larger than its memory size (0x10)");
}

TEST_F(MalformedTest, AbsurdMemorySize)
{
    Bytes file = Good();
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_memsz), 0x7ffffffffff0ULL);
    ExpectRefused(Write("huge-memsz", file), ENOEXEC, "segment 1 has an impossible address");
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_memsz), UINT64_MAX);
    ExpectRefused(Write("wrap-memsz", file), ENOEXEC, "segment 1 has an impossible address");
    // Both filesz and memsz absurd (the integration suite's huge-filesz).
    Bytes both = Good();
    PutPhdr(both, 0, offsetof(Elf64_Phdr, p_filesz), 0x7ffffffffff0ULL);
    PutPhdr(both, 0, offsetof(Elf64_Phdr, p_memsz), 0x7ffffffffff0ULL);
    ExpectRefused(Write("huge-filesz", both), ENOEXEC, "truncated ELF file (segment 0");
}

TEST_F(MalformedTest, BiggerThanGuestMemory)
{
    Bytes file = Good();
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_memsz), kRamSize);
    ExpectRefused(Write("bigger-than-ram", file), ENOMEM, "give the guest more memory with -m");
}

TEST_F(MalformedTest, AbsurdAlignment)
{
    Bytes file = Good();
    PutPhdr(file, 0, offsetof(Elf64_Phdr, p_align), 0x3000);
    ExpectRefused(Write("align-3", file), ENOEXEC, "segment 0 has an impossible alignment");
    PutPhdr(file, 0, offsetof(Elf64_Phdr, p_align), 1ULL << 62);
    ExpectRefused(Write("align-huge", file), ENOEXEC, "segment 0 has an impossible alignment");
    PutPhdr(file, 0, offsetof(Elf64_Phdr, p_align), 0);
    EXPECT_EQ(LoadProgram(Write("align-0", file)), 0) << error_;
}

TEST_F(MalformedTest, OverlappingSegments)
{
    Bytes file = Good();
    // Data starts inside text's bytes.
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_vaddr), 0x401ff8);
    ExpectRefused(Write("overlap", file), ENOEXEC, "segments 0 [0x400000, 0x402000) and 1");
    // The same segment twice.
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_vaddr), 0x400000);
    ExpectRefused(Write("overlap-same", file), ENOEXEC, "overlap; the file is corrupt");
    // Listed out of order, still overlapping.
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_vaddr), 0x3ff000);
    ExpectRefused(Write("overlap-before", file), ENOEXEC, "overlap");
}

TEST_F(MalformedTest, BelowTheLimit)
{
    Bytes file = Good();
    PutPhdr(file, 0, offsetof(Elf64_Phdr, p_vaddr), 0x1ff000);
    ExpectRefused(Write("in-kernel", file), ENOEXEC, "overlaps the guest kernel");
    PutPhdr(file, 0, offsetof(Elf64_Phdr, p_vaddr), 0);
    ExpectRefused(Write("at-zero", file), ENOEXEC, "overlaps the guest kernel");
}

TEST_F(MalformedTest, AboveTheLimit)
{
    Bytes file = Good();
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_vaddr), kRamSize - 0x1000);
    ExpectRefused(Write("past-ram", file), ENOMEM, "beyond the end of guest memory");
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_vaddr), 0x7fff00000000ULL);
    ExpectRefused(Write("far-away", file), ENOMEM, "beyond the end of guest memory");
}

TEST_F(MalformedTest, EntryOutsideTheSegments)
{
    Bytes file = Good();
    Put<uint64_t>(file, offsetof(Elf64_Ehdr, e_entry), 0x402800);
    ExpectRefused(Write("entry", file), ENOEXEC, "entry point 0x402800 lies outside");
}

TEST_F(MalformedTest, NoLoadableSegment)
{
    CraftedSegment note{PT_NOTE, PF_R, 0x400000, Pattern(0x10, 1), 0, 4};
    ExpectRefused(Write("no-load", CraftElf({note}, 0x400000)), ENOEXEC, "no loadable segment");
}

TEST_F(MalformedTest, BadTls)
{
    CraftedSegment text{PT_LOAD, PF_R | PF_W, 0x400000, Pattern(0x1000, 4)};
    CraftedSegment tls{PT_TLS, PF_R, 0x400100, Pattern(0x20, 1), 0x40, 8};
    Bytes file = CraftElf({text, tls}, 0x400000);
    ASSERT_EQ(LoadProgram(Write("tls", file)), 0) << error_;
    EXPECT_TRUE(image_.has_tls);
    EXPECT_EQ(image_.tls_address, 0x400100u);
    EXPECT_EQ(image_.tls_filesz, 0x20u);
    EXPECT_EQ(image_.tls_memsz, 0x40u);
    EXPECT_EQ(image_.tls_align, 8u);

    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_memsz), 0x10);
    ExpectRefused(Write("tls-filesz", file), ENOEXEC, "program header 1 has a file size");
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_memsz), 0x40);
    PutPhdr(file, 1, offsetof(Elf64_Phdr, p_vaddr), 0x500000);
    ExpectRefused(Write("tls-outside", file), ENOEXEC, "TLS initialization image lies outside");
}

TEST_F(MalformedTest, FailureLeavesNoRegions)
{
    // The second segment's pages are taken already: the first segment's
    // mapping must be undone.
    ASSERT_EQ(
        guest_map_anonymous(memory_, 0x403000, kPage, GUEST_PROT_READ, GUEST_REGION_MMAP, "taken"),
        0);
    ExpectRefused(Write("taken", Good()), ENOMEM, "already in use");
    EXPECT_EQ(guest_region_lookup(memory_, 0x400000), nullptr);
    EXPECT_EQ(Walk(0x400000).status, GUEST_WALK_NOT_PRESENT);
}

// ---- the kernel ----------------------------------------------------------

const char kKernelSource[] = R"(
__attribute__((section(".text.user"), used)) void syscall_entry(void) { for (;;) ; }
__attribute__((section(".data.user"), used)) unsigned long user_shared[4] = {1, 2, 3, 4};
const char kernel_message[] = "kernel rodata";
unsigned long kernel_counter = 7;
unsigned long kernel_bss[1000];
void _start(void) { kernel_bss[1] = kernel_counter; for (;;) ; }
__asm__(".text\n.globl bare_function\n.type bare_function, @function\n"
        "bare_function: nop\nnop\nnop\nret\n");
)";

const char kKernelScript[] = R"(
ENTRY(_start)
SECTIONS
{
    . = 0x100000;
    .text.user : { *(.text.user) . = ALIGN(4096); }
    .text : { *(.text .text.*) }
    . = ALIGN(4096);
    .rodata : { *(.rodata .rodata.*) }
    . = ALIGN(4096);
    .data.user : { *(.data.user) . = ALIGN(4096); }
    .data : { *(.data .data.*) }
    .bss : { *(.bss .bss.*) *(COMMON) }
    /DISCARD/ : { *(.note*) *(.comment) *(.eh_frame) }
}
)";

class KernelTest : public LoaderTest
{
  protected:
    std::string BuildKernel()
    {
        std::string script = Path("kernel.ld");
        if (!g_file_set_contents(script.c_str(), kKernelScript, -1, nullptr))
            return "";
        return Build("gcc",
                     "-O1 -ffreestanding -fno-pic -fno-pie -nostdlib -static -no-pie "
                     "-fcf-protection=none -fno-asynchronous-unwind-tables -Wl,--build-id=none "
                     "-Wl,-T," +
                         script,
                     "kernel", kKernelSource);
    }
    int LoadKernel(const std::string &path)
    {
        elf_image_free(&image_);
        g_free(error_);
        error_ = nullptr;
        struct loader_limits limits = {kKernelLow, kKernelHigh, 0, 0, nullptr};
        return loader_load_kernel(path.c_str(), memory_, &limits, &image_, &error_);
    }
    void ExpectLoadKernelFails(const std::string &path, int expected_errno,
                               const std::string &expected)
    {
        EXPECT_EQ(LoadKernel(path), -expected_errno) << (error_ ? error_ : "(no message)");
        ASSERT_NE(error_, nullptr);
        std::string message = error_;
        EXPECT_NE(message.find(expected), std::string::npos) << message;
        EXPECT_EQ(message.rfind("guest kernel " + path, 0), 0u) << message;
        EXPECT_EQ(image_.segments, nullptr);
    }
};

TEST_F(KernelTest, SupervisorOnlyExceptUserSections)
{
    std::string path = BuildKernel();
    if (path.empty())
        GTEST_SKIP() << "cannot link a test kernel here";
    ASSERT_EQ(LoadKernel(path), 0) << error_;
    Bytes file = ReadFile(path);
    ExpectLoaded(file, 0, false); // checks every page is supervisor-only...
}

TEST_F(KernelTest, UserSectionsAreUserAccessible)
{
    std::string path = BuildKernel();
    if (path.empty())
        GTEST_SKIP() << "cannot link a test kernel here";
    ASSERT_EQ(LoadKernel(path), 0) << error_;
    Bytes file = ReadFile(path);
    uint64_t text_user = 0, data_user = 0, text = 0, data = 0, rodata = 0;
    ASSERT_TRUE(SectionAddress(file, ".text.user", &text_user, nullptr));
    ASSERT_TRUE(SectionAddress(file, ".data.user", &data_user, nullptr));
    ASSERT_TRUE(SectionAddress(file, ".text", &text, nullptr));
    ASSERT_TRUE(SectionAddress(file, ".data", &data, nullptr));
    ASSERT_TRUE(SectionAddress(file, ".rodata", &rodata, nullptr));

    struct guest_walk walk = Walk(text_user);
    ASSERT_EQ(walk.status, GUEST_WALK_OK);
    EXPECT_TRUE(walk.user);
    EXPECT_TRUE(walk.executable);
    EXPECT_FALSE(walk.writable);
    walk = Walk(data_user);
    ASSERT_EQ(walk.status, GUEST_WALK_OK);
    EXPECT_TRUE(walk.user);
    EXPECT_TRUE(walk.writable);
    EXPECT_FALSE(walk.executable);
    walk = Walk(text);
    ASSERT_EQ(walk.status, GUEST_WALK_OK);
    EXPECT_FALSE(walk.user);
    EXPECT_TRUE(walk.executable);
    walk = Walk(rodata);
    ASSERT_EQ(walk.status, GUEST_WALK_OK);
    EXPECT_FALSE(walk.user);
    EXPECT_FALSE(walk.writable);
    EXPECT_FALSE(walk.executable);
    walk = Walk(data);
    ASSERT_EQ(walk.status, GUEST_WALK_OK);
    EXPECT_FALSE(walk.user);
    EXPECT_TRUE(walk.writable);

    // The program may read its stub page, not the kernel's data.
    uint64_t word;
    EXPECT_EQ(guest_read(memory_, data_user, &word, sizeof(word), GUEST_ACCESS_USER_READ), 0);
    EXPECT_EQ(word, 1u);
    EXPECT_EQ(guest_read(memory_, data, &word, sizeof(word), GUEST_ACCESS_USER_READ), -EFAULT);

    const struct guest_region *region = guest_region_lookup(memory_, text);
    ASSERT_NE(region, nullptr);
    EXPECT_EQ(region->kind, GUEST_REGION_KERNEL);
    EXPECT_STREQ(region->name, "kernel");
    EXPECT_EQ(image_.text_start, text);
    uint64_t address = 0;
    EXPECT_TRUE(elf_image_lookup(&image_, "_start", &address));
    EXPECT_EQ(address, image_.entry);
    EXPECT_TRUE(elf_image_lookup(&image_, "kernel_bss", &address));
    uint64_t offset = 0;
    const struct elf_symbol *symbol = elf_image_symbolize(&image_, address + 8, &offset);
    ASSERT_NE(symbol, nullptr);
    EXPECT_STREQ(symbol->name, "kernel_bss");
    EXPECT_EQ(offset, 8u);

    // A function without a size (hand-written assembly) owns what follows.
    ASSERT_TRUE(elf_image_lookup(&image_, "bare_function", &address));
    symbol = elf_image_symbolize(&image_, address + 2, &offset);
    ASSERT_NE(symbol, nullptr);
    EXPECT_STREQ(symbol->name, "bare_function");
    EXPECT_EQ(symbol->size, 0u);
    EXPECT_EQ(offset, 2u);
    // Nothing below the first symbol, nor far outside the image.
    EXPECT_EQ(elf_image_symbolize(&image_, 0x1000, &offset), nullptr);
    EXPECT_EQ(elf_image_symbolize(&image_, 0x7f0000000000ULL, &offset), nullptr);
}

TEST_F(KernelTest, TheProjectKernelLoads)
{
    const char *path = "kernel/hermitux-kernel";
    Bytes file = ReadFile(path);
    if (file.empty())
        GTEST_SKIP() << "kernel/hermitux-kernel not built (run from the source tree after make)";
    ASSERT_EQ(LoadKernel(path), 0) << error_;
    ExpectLoaded(file, 0, false);
    uint64_t text_user = 0;
    ASSERT_TRUE(SectionAddress(file, ".text.user", &text_user, nullptr));
    EXPECT_TRUE(Walk(text_user).user);
}

TEST_F(KernelTest, KernelRefusals)
{
    ExpectLoadKernelFails(Path("no-such-kernel"), ENOENT, "--kernel");
    CraftedSegment text{PT_LOAD, PF_R | PF_X, 0x100000, Pattern(0x100, 4)};
    ExpectLoadKernelFails(Write("pie-kernel", CraftElf({text}, 0x100000, ET_DYN)), ENOEXEC,
                          "must be linked at fixed addresses");
    CraftedSegment high{PT_LOAD, PF_R | PF_X, 0x1ff800, Pattern(0x1000, 4)};
    ExpectLoadKernelFails(Write("big-kernel", CraftElf({high}, 0x1ff800)), ENOEXEC,
                          "where the guest kernel must end");
    CraftedSegment low{PT_LOAD, PF_R | PF_X, 0x80000, Pattern(0x1000, 4)};
    ExpectLoadKernelFails(Write("low-kernel", CraftElf({low}, 0x80000)), ENOEXEC,
                          "where the guest kernel must lie");
}

// ---- the initial stack ---------------------------------------------------

class StackTest : public LoaderTest
{
  protected:
    void SetUp() override
    {
        LoaderTest::SetUp();
        ASSERT_EQ(guest_map_anonymous(memory_, kStackTop - kStackSize, kStackSize,
                                      GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_USER,
                                      GUEST_REGION_STACK, "[stack]"),
                  0);
        program_.path = const_cast<char *>("/some/where/prog");
        program_.entry = 0x401234;
        program_.phdr_address = 0x400040;
        program_.phnum = 9;
        program_.phent = sizeof(Elf64_Phdr);
    }

    int BuildStack(const std::vector<const char *> &argv, const std::vector<const char *> &envp,
                   const char *execfn, uint64_t stack_low = kStackTop - kStackSize)
    {
        argv_ = argv;
        argv_.push_back(nullptr);
        envp_ = envp;
        envp_.push_back(nullptr);
        struct loader_stack_info info = {};
        info.argv = argv_.data();
        info.envp = envp_.data();
        info.execfn = execfn;
        info.hwcap = 0x178bfbff;
        info.hwcap2 = 2;
        info.minsigstksz = 3376;
        info.uid = 1000;
        info.euid = 1001;
        info.gid = 1002;
        info.egid = 1003;
        g_free(error_);
        error_ = nullptr;
        return loader_build_stack(memory_, &program_, &info, stack_low, kStackTop, &rsp_, &error_);
    }

    uint64_t Word(uint64_t address)
    {
        uint64_t value = 0;
        EXPECT_EQ(guest_read(memory_, address, &value, sizeof(value), GUEST_ACCESS_USER_READ), 0)
            << std::hex << address;
        return value;
    }

    std::string String(uint64_t address)
    {
        std::vector<char> buffer(1 << 18);
        long length = guest_read_string(memory_, address, buffer.data(), buffer.size(),
                                        GUEST_ACCESS_USER_READ);
        EXPECT_GE(length, 0) << std::hex << address;
        return length >= 0 ? std::string(buffer.data(), length) : "";
    }

    // Parses the stack at rsp_ as a program's _start would.
    void Parse(std::vector<std::string> *argv, std::vector<std::string> *envp,
               std::map<uint64_t, uint64_t> *auxv, std::vector<uint64_t> *aux_order)
    {
        uint64_t cursor = rsp_;
        uint64_t argc = Word(cursor);
        ASSERT_LT(argc, 100000u);
        cursor += 8;
        for (uint64_t i = 0; i < argc; i++, cursor += 8)
            argv->push_back(String(Word(cursor)));
        EXPECT_EQ(Word(cursor), 0u) << "argv not NULL-terminated";
        cursor += 8;
        for (; Word(cursor) != 0; cursor += 8)
            envp->push_back(String(Word(cursor)));
        cursor += 8;
        for (int i = 0; i < 64; i++, cursor += 16) {
            uint64_t key = Word(cursor), value = Word(cursor + 8);
            aux_order->push_back(key);
            EXPECT_EQ(auxv->count(key), 0u) << "auxv key twice: " << key;
            (*auxv)[key] = value;
            if (key == AT_NULL)
                break;
        }
    }

    struct elf_image program_ = {};
    std::vector<const char *> argv_, envp_;
    uint64_t rsp_ = 0;
};

TEST_F(StackTest, LayoutParsesBack)
{
    ASSERT_EQ(BuildStack({"/some/where/prog", "first", "", "third argument"}, {"HOME=/root", "A=b"},
                         "/some/where/prog"),
              0)
        << error_;
    EXPECT_EQ(rsp_ % 16, 0u);
    EXPECT_LT(rsp_, kStackTop);
    EXPECT_GE(rsp_, kStackTop - kStackSize);

    std::vector<std::string> argv, envp;
    std::map<uint64_t, uint64_t> auxv;
    std::vector<uint64_t> order;
    Parse(&argv, &envp, &auxv, &order);
    EXPECT_EQ(argv, (std::vector<std::string>{"/some/where/prog", "first", "", "third argument"}));
    EXPECT_EQ(envp, (std::vector<std::string>{"HOME=/root", "A=b"}));

    ASSERT_FALSE(order.empty());
    EXPECT_EQ(order.back(), (uint64_t)AT_NULL);
    EXPECT_EQ(auxv[AT_PHDR], 0x400040u);
    EXPECT_EQ(auxv[AT_PHENT], sizeof(Elf64_Phdr));
    EXPECT_EQ(auxv[AT_PHNUM], 9u);
    EXPECT_EQ(auxv[AT_PAGESZ], 4096u);
    EXPECT_EQ(auxv.count(AT_BASE), 1u);
    EXPECT_EQ(auxv[AT_BASE], 0u);
    EXPECT_EQ(auxv.count(AT_FLAGS), 1u);
    EXPECT_EQ(auxv[AT_FLAGS], 0u);
    EXPECT_EQ(auxv[AT_ENTRY], 0x401234u);
    EXPECT_EQ(auxv[AT_UID], 1000u);
    EXPECT_EQ(auxv[AT_EUID], 1001u);
    EXPECT_EQ(auxv[AT_GID], 1002u);
    EXPECT_EQ(auxv[AT_EGID], 1003u);
    EXPECT_EQ(auxv.count(AT_SECURE), 1u);
    EXPECT_EQ(auxv[AT_SECURE], 0u);
    EXPECT_EQ(auxv[AT_HWCAP], 0x178bfbffu);
    EXPECT_EQ(auxv[AT_HWCAP2], 2u);
    EXPECT_EQ(auxv[AT_MINSIGSTKSZ], 3376u);
    EXPECT_EQ(auxv[AT_CLKTCK], 100u);
    EXPECT_EQ(String(auxv[AT_PLATFORM]), "x86_64");
    EXPECT_EQ(String(auxv[AT_EXECFN]), "/some/where/prog");
    // No vDSO given: its slot is AT_IGNORE, and AT_SYSINFO_EHDR is absent.
    EXPECT_EQ(auxv.count(AT_SYSINFO_EHDR), 0u);
    EXPECT_EQ(auxv.count(AT_IGNORE), 1u);
    EXPECT_EQ(order.size(), 21u);

    ASSERT_EQ(auxv.count(AT_RANDOM), 1u);
    uint64_t random_address = auxv[AT_RANDOM];
    EXPECT_GT(random_address, rsp_);
    EXPECT_LE(random_address + 16, kStackTop);
    uint8_t random[16];
    ASSERT_EQ(guest_read(memory_, random_address, random, sizeof(random), GUEST_ACCESS_USER_READ),
              0);
    EXPECT_NE(std::count(random, random + 16, 0), 16) << "AT_RANDOM bytes all zero";

    // What the stack points at lies above the tables and below stack_top;
    // the random bytes are not overwritten by any string.
    uint64_t tables_end = rsp_ + 8 * (1 + 4 + 1 + 2 + 1 + 2 * 21);
    for (uint64_t key : {AT_PLATFORM, AT_EXECFN, AT_RANDOM}) {
        EXPECT_GE(auxv[key], tables_end) << key;
        EXPECT_LT(auxv[key], kStackTop) << key;
    }
    for (uint64_t key : {AT_PLATFORM, AT_EXECFN}) {
        std::string text = String(auxv[key]);
        EXPECT_TRUE(auxv[key] + text.size() + 1 <= random_address ||
                    auxv[key] >= random_address + 16)
            << key;
    }
}

TEST_F(StackTest, RandomBytesDifferEachTime)
{
    std::set<std::string> seen;
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(BuildStack({"prog"}, {}, "prog"), 0) << error_;
        std::vector<std::string> argv, envp;
        std::map<uint64_t, uint64_t> auxv;
        std::vector<uint64_t> order;
        Parse(&argv, &envp, &auxv, &order);
        char random[16];
        ASSERT_EQ(guest_read(memory_, auxv[AT_RANDOM], random, 16, GUEST_ACCESS_USER_READ), 0);
        seen.insert(std::string(random, 16));
    }
    EXPECT_EQ(seen.size(), 4u);
}

TEST_F(StackTest, AlignedWhateverTheStringLengths)
{
    std::string text;
    for (int length = 0; length < 40; length++) {
        text.push_back('x');
        std::vector<const char *> envp;
        if (length % 2)
            envp.push_back("E=1");
        ASSERT_EQ(BuildStack({"p", text.c_str()}, envp, text.c_str()), 0) << error_;
        EXPECT_EQ(rsp_ % 16, 0u) << length;
        std::vector<std::string> argv, parsed_envp;
        std::map<uint64_t, uint64_t> auxv;
        std::vector<uint64_t> order;
        Parse(&argv, &parsed_envp, &auxv, &order);
        ASSERT_EQ(argv.size(), 2u);
        EXPECT_EQ(argv[1], text);
        EXPECT_EQ(parsed_envp.size(), envp.size());
        EXPECT_EQ(String(auxv[AT_EXECFN]), text);
    }
}

TEST_F(StackTest, EmptyEnvironmentAndNoExecfn)
{
    ASSERT_EQ(BuildStack({"only"}, {}, nullptr), 0) << error_;
    std::vector<std::string> argv, envp;
    std::map<uint64_t, uint64_t> auxv;
    std::vector<uint64_t> order;
    Parse(&argv, &envp, &auxv, &order);
    EXPECT_EQ(argv, std::vector<std::string>{"only"});
    EXPECT_TRUE(envp.empty());
    EXPECT_EQ(String(auxv[AT_EXECFN]), "only");
}

TEST_F(StackTest, TooBigIsE2big)
{
    // Half the stack is the most the block may use.
    std::string big(kStackSize / 2, 'a');
    uint64_t before = Word(kStackTop - kStackSize / 4);
    EXPECT_EQ(BuildStack({"prog", big.c_str()}, {}, "prog"), -E2BIG);
    ASSERT_NE(error_, nullptr);
    EXPECT_NE(std::string(error_).find("/some/where/prog: the arguments and environment"),
              std::string::npos)
        << error_;
    EXPECT_EQ(std::string(error_).find('\n'), std::string::npos);
    EXPECT_EQ(Word(kStackTop - kStackSize / 4), before) << "a refused stack was written";

    // Many small ones too (their pointers count).
    std::vector<const char *> many(kStackSize / 16, "E=v");
    EXPECT_EQ(BuildStack({"prog"}, many, "prog"), -E2BIG);

    // A quarter of the stack fits.
    std::string fits(kStackSize / 4, 'b');
    EXPECT_EQ(BuildStack({"prog", fits.c_str()}, {}, "prog"), 0) << error_;
    std::vector<std::string> argv, envp;
    std::map<uint64_t, uint64_t> auxv;
    std::vector<uint64_t> order;
    Parse(&argv, &envp, &auxv, &order);
    ASSERT_EQ(argv.size(), 2u);
    EXPECT_EQ(argv[1], fits);
}

TEST_F(StackTest, UnmappedStackIsEfault)
{
    const char *argv[] = {"prog", nullptr};
    const char *envp[] = {nullptr};
    struct loader_stack_info info = {};
    info.argv = argv;
    info.envp = envp;
    info.execfn = "prog";
    // A range nobody mapped.
    EXPECT_EQ(loader_build_stack(memory_, &program_, &info, 0x8000000, 0x8100000, &rsp_, &error_),
              -EFAULT);
    ASSERT_NE(error_, nullptr);
    EXPECT_NE(std::string(error_).find("cannot write the initial stack"), std::string::npos);
    g_free(error_);
    error_ = nullptr;

    // Mapped, but not writable by the program.
    ASSERT_EQ(guest_map_anonymous(memory_, 0x8000000, 0x100000, GUEST_PROT_READ | GUEST_PROT_USER,
                                  GUEST_REGION_STACK, "read-only"),
              0);
    EXPECT_EQ(loader_build_stack(memory_, &program_, &info, 0x8000000, 0x8100000, &rsp_, &error_),
              -EFAULT);
}

TEST_F(StackTest, BadRangeIsEinval)
{
    EXPECT_EQ(BuildStack({"prog"}, {}, "prog", kStackTop), -EINVAL);
    EXPECT_EQ(BuildStack({"prog"}, {}, "prog", kStackTop + kPage), -EINVAL);
}

TEST_F(StackTest, ForALoadedProgram)
{
    std::string path = Build("musl-gcc", "-static -O1", "musl-static", kProgramSource);
    if (path.empty())
        GTEST_SKIP() << "musl-gcc -static cannot build here";
    ASSERT_EQ(LoadProgram(path), 0) << error_;
    const char *argv[] = {path.c_str(), nullptr};
    const char *envp[] = {"X=1", nullptr};
    struct loader_stack_info info = {};
    info.argv = argv;
    info.envp = envp;
    info.execfn = path.c_str();
    ASSERT_EQ(loader_build_stack(memory_, &image_, &info, kStackTop - kStackSize, kStackTop, &rsp_,
                                 &error_),
              0)
        << error_;
    std::vector<std::string> parsed_argv, parsed_envp;
    std::map<uint64_t, uint64_t> auxv;
    std::vector<uint64_t> order;
    Parse(&parsed_argv, &parsed_envp, &auxv, &order);
    EXPECT_EQ(parsed_argv, std::vector<std::string>{path});
    EXPECT_EQ(auxv[AT_ENTRY], image_.entry);
    EXPECT_EQ(auxv[AT_PHDR], image_.phdr_address);
    EXPECT_EQ(auxv[AT_PHNUM], image_.phnum);
    // AT_PHDR really points at the program header table.
    Bytes file = ReadFile(path);
    Elf64_Phdr first;
    ASSERT_EQ(guest_read(memory_, auxv[AT_PHDR], &first, sizeof(first), GUEST_ACCESS_USER_READ), 0);
    EXPECT_EQ(memcmp(&first, file.data() + Header(file).e_phoff, sizeof(first)), 0);
}

} // namespace
