// Module tests for accel/: the instruction-length decoder, on encodings whose
// lengths the manuals give and against capstone over whole host binaries.
#include <gtest/gtest.h>

#include <capstone/capstone.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "accel/insn_length.h"

namespace
{

size_t Length(std::vector<uint8_t> code)
{
    return accel_insn_length(code.data(), code.size());
}

TEST(AccelInsnLength, EncodingsFromTheManuals)
{
    EXPECT_EQ(1u, Length({0xc3}));                                      // ret
    EXPECT_EQ(3u, Length({0x48, 0x89, 0xe5}));                          // mov %rsp,%rbp
    EXPECT_EQ(4u, Length({0x48, 0x8b, 0x45, 0xf8}));                    // mov -8(%rbp),%rax
    EXPECT_EQ(5u, Length({0x48, 0x83, 0x45, 0xe8, 0x01}));              // addq $1,-0x18(%rbp)
    EXPECT_EQ(10u, Length({0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}));       // movabs $imm64,%rax
    EXPECT_EQ(4u, Length({0x66, 0xb8, 1, 2}));                          // mov $imm16,%ax
    EXPECT_EQ(5u, Length({0xb8, 1, 2, 3, 4}));                          // mov $imm32,%eax
    EXPECT_EQ(11u, Length({0x66, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8})); // REX.W wins
    EXPECT_EQ(9u, Length({0xa1, 1, 2, 3, 4, 5, 6, 7, 8}));              // movabs moffs64,%eax
    EXPECT_EQ(6u, Length({0x67, 0xa1, 1, 2, 3, 4}));                    // mov moffs32 (addr32)
    EXPECT_EQ(4u, Length({0xc8, 0x10, 0x00, 0x01}));                    // enter $16,$1
    EXPECT_EQ(7u, Length({0xf6, 0x05, 1, 2, 3, 4, 0x80}));              // testb $0x80,x(%rip)
    EXPECT_EQ(2u, Length({0xf6, 0xd0}));                                // not %al
    EXPECT_EQ(6u, Length({0xf7, 0xc0, 1, 2, 3, 4}));                    // test $imm32,%eax
    EXPECT_EQ(5u, Length({0x66, 0xf7, 0xc0, 1, 2}));                    // test $imm16,%ax
    EXPECT_EQ(3u, Length({0x8b, 0x04, 0x24}));                          // mov (%rsp),%eax
    EXPECT_EQ(7u, Length({0x8b, 0x04, 0x25, 1, 2, 3, 4}));              // mov abs32 via SIB
    EXPECT_EQ(7u, Length({0x8b, 0x84, 0x24, 1, 2, 3, 4}));              // disp32 after SIB
    EXPECT_EQ(5u, Length({0x0f, 0x3a, 0x0f, 0xc1, 0x08}));              // palignr $8,%mm1,%mm0
    EXPECT_EQ(5u, Length({0x66, 0x0f, 0x38, 0x00, 0xc1}));              // pshufb
    EXPECT_EQ(4u, Length({0xf3, 0x0f, 0x1e, 0xfa}));                    // endbr64
    EXPECT_EQ(2u, Length({0x0f, 0x05}));                                // syscall
    EXPECT_EQ(6u, Length({0x0f, 0x84, 1, 2, 3, 4}));                    // je rel32
    EXPECT_EQ(2u, Length({0x8f, 0xc0}));                                // pop %rax (8F /0)
    EXPECT_EQ(2u, Length({0xff, 0xd8}));                                // lcall *%rax (#UD)
    EXPECT_EQ(2u, Length({0xff, 0xe8}));                                // ljmp *%rax (#UD)
    EXPECT_EQ(3u, Length({0x40, 0xff, 0xd8}));                          // the same with a REX
    EXPECT_EQ(3u, Length({0xc2, 0x08, 0x00}));                          // ret $8
    EXPECT_EQ(5u, Length({0xe8, 1, 2, 3, 4}));                          // call rel32
    EXPECT_EQ(2u, Length({0xeb, 0xfe}));                                // jmp .
}

TEST(AccelInsnLength, WhatItLeavesToCapstone)
{
    EXPECT_EQ(0u, Length({}));
    EXPECT_EQ(0u, Length({0x48}));                   // a REX alone
    EXPECT_EQ(0u, Length({0x48, 0x8b}));             // ModRM missing
    EXPECT_EQ(0u, Length({0x48, 0x8b, 0x45}));       // displacement missing
    EXPECT_EQ(0u, Length({0xe8, 1, 2, 3}));          // rel32 cut short
    EXPECT_EQ(0u, Length({0x66, 0xe8, 1, 2, 3, 4})); // vendors differ
    EXPECT_EQ(0u, Length({0x66, 0x0f, 0x84, 1, 2, 3, 4}));
    EXPECT_EQ(0u, Length({0xc5, 0xf8, 0x77})); // VEX: vzeroupper
    EXPECT_EQ(0u, Length({0xc4, 0xe2, 0x79, 0x00, 0xc1}));
    EXPECT_EQ(0u, Length({0x62, 0xf1, 0x7c, 0x48, 0x28, 0xc1})); // EVEX
    EXPECT_EQ(0u, Length({0x8f, 0xe8, 0x78, 0xa2, 0xc1, 0x10})); // XOP
    EXPECT_EQ(0u, Length({0x0f, 0x0f, 0xc1, 0x9e}));             // 3DNow!
    EXPECT_EQ(0u, Length({0x06}));                               // push %es: #UD in 64-bit mode
    EXPECT_EQ(0u, Length({0x9a, 1, 2, 3, 4, 5, 6}));             // lcall ptr16:32: #UD
    std::vector<uint8_t> prefixes(15, 0x66);
    prefixes.push_back(0x90);
    EXPECT_EQ(0u, Length(prefixes)); // longer than 15 bytes
}

// The executable sections of an ELF file.
std::vector<std::vector<uint8_t>> TextSections(const char *path)
{
    std::vector<std::vector<uint8_t>> sections;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sections;
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, nullptr);
    for (Elf_Scn *scn = elf ? elf_nextscn(elf, nullptr) : nullptr; scn;
         scn = elf_nextscn(elf, scn)) {
        GElf_Shdr header;
        if (!gelf_getshdr(scn, &header) || header.sh_type != SHT_PROGBITS ||
            !(header.sh_flags & SHF_EXECINSTR))
            continue;
        Elf_Data *data = elf_getdata(scn, nullptr);
        if (data && data->d_buf)
            sections.emplace_back(static_cast<uint8_t *>(data->d_buf),
                                  static_cast<uint8_t *>(data->d_buf) + data->d_size);
    }
    if (elf)
        elf_end(elf);
    close(fd);
    return sections;
}

// Every instruction capstone decodes in a binary's code: this decoder gives
// its length or says it cannot; it knows most of them.
void CompareWithCapstone(const char *path, double least_known)
{
    auto sections = TextSections(path);
    if (sections.empty())
        GTEST_SKIP() << path << " is not here";
    csh handle;
    ASSERT_EQ(CS_ERR_OK, cs_open(CS_ARCH_X86, CS_MODE_64, &handle));
    cs_insn *insn = cs_malloc(handle);
    size_t total = 0, known = 0, wrong = 0;
    for (const auto &code : sections) {
        const uint8_t *at = code.data();
        size_t left = code.size();
        uint64_t address = 0;
        while (left > 0) {
            const uint8_t *start = at;
            size_t mine = accel_insn_length(start, left);
            if (!cs_disasm_iter(handle, &at, &left, &address, insn)) {
                at++, left--, address++; // data or padding: resynchronise
                continue;
            }
            total++;
            if (mine == 0)
                continue;
            known++;
            if (mine != insn->size && wrong++ < 10)
                ADD_FAILURE() << path << ": " << insn->mnemonic << " " << insn->op_str << " is "
                              << insn->size << " bytes, not " << mine;
        }
    }
    cs_free(insn, 1);
    cs_close(&handle);
    EXPECT_EQ(0u, wrong);
    ASSERT_GT(total, 1000u);
    EXPECT_GE(static_cast<double>(known) / static_cast<double>(total), least_known)
        << path << ": " << known << " of " << total << " known";
}

TEST(AccelInsnLength, AgreesWithCapstoneOnTheCLibrary)
{
    CompareWithCapstone("/lib/x86_64-linux-gnu/libc.so.6", 0.95); // 97.7 %: AVX is VEX
}

TEST(AccelInsnLength, AgreesWithCapstoneOnBash)
{
    CompareWithCapstone("/bin/bash", 0.999); // 100 %
}

TEST(AccelInsnLength, AgreesWithCapstoneOnLibunicorn)
{
    // 19 MB of compiled C, the largest binary at hand.
    CompareWithCapstone("/lib/x86_64-linux-gnu/libunicorn.so.2", 0.999); // 100 %
}

} // namespace
