/*
 * accel/insn_length.c — x86-64 instruction lengths from the opcode maps
 * (Intel SDM volume 2, appendix A; AMD APM volume 3, appendix A): prefixes,
 * then the opcode, a ModRM byte with its SIB and displacement, and the
 * immediate the opcode takes. Anything outside the one-byte, 0F, 0F38 and
 * 0F3A maps, or whose length the two vendors disagree on, is left to the
 * caller (0).
 */
#include "config.h"
#include "accel/insn_length.h"

#include <stdbool.h>

#define X86_MAX_LENGTH 15

/* What follows an opcode. */
enum operands {
    BAD = 0,  /* not decoded here */
    NONE,     /* nothing */
    M,        /* ModRM */
    I8,       /* imm8 */
    I16,      /* imm16 */
    IZ,       /* imm16 or imm32 (operand size) */
    IV,       /* imm16, imm32 or imm64 (mov to a register) */
    MI8,      /* ModRM, imm8 */
    MIZ,      /* ModRM, imm16 or imm32 */
    REL8,     /* rel8 */
    REL32,    /* rel32; with 0x66 Intel and AMD disagree */
    MOFFS,    /* a 64-bit (32 with 0x67) absolute address */
    ENTER,    /* imm16, imm8 */
    GROUP3_8, /* ModRM, imm8 for TEST (/0, /1) only */
    GROUP3_Z, /* ModRM, immz for TEST (/0, /1) only */
    POP_M,    /* 8F: POP r/m at /0, else AMD's XOP prefix */
    ESCAPE,   /* 0F */
    ESC_38,   /* 0F 38: ModRM */
    ESC_3A,   /* 0F 3A: ModRM, imm8 */
};

/* Prefixes, REX and bytes invalid in 64-bit mode are BAD here: prefixes
 * are consumed before the table is read. */
static const unsigned char one_byte[256] = {
    [0x00 ... 0x03] = M,
    [0x04] = I8,
    [0x05] = IZ,
    [0x08 ... 0x0b] = M,
    [0x0c] = I8,
    [0x0d] = IZ,
    [0x0f] = ESCAPE,
    [0x10 ... 0x13] = M,
    [0x14] = I8,
    [0x15] = IZ,
    [0x18 ... 0x1b] = M,
    [0x1c] = I8,
    [0x1d] = IZ,
    [0x20 ... 0x23] = M,
    [0x24] = I8,
    [0x25] = IZ,
    [0x28 ... 0x2b] = M,
    [0x2c] = I8,
    [0x2d] = IZ,
    [0x30 ... 0x33] = M,
    [0x34] = I8,
    [0x35] = IZ,
    [0x38 ... 0x3b] = M,
    [0x3c] = I8,
    [0x3d] = IZ,
    [0x50 ... 0x5f] = NONE,
    [0x63] = M,
    [0x68] = IZ,
    [0x69] = MIZ,
    [0x6a] = I8,
    [0x6b] = MI8,
    [0x6c ... 0x6f] = NONE,
    [0x70 ... 0x7f] = REL8,
    [0x80] = MI8,
    [0x81] = MIZ,
    [0x83] = MI8,
    [0x84 ... 0x8e] = M,
    [0x8f] = POP_M,
    [0x90 ... 0x99] = NONE,
    [0x9b ... 0x9f] = NONE,
    [0xa0 ... 0xa3] = MOFFS,
    [0xa4 ... 0xa7] = NONE,
    [0xa8] = I8,
    [0xa9] = IZ,
    [0xaa ... 0xaf] = NONE,
    [0xb0 ... 0xb7] = I8,
    [0xb8 ... 0xbf] = IV,
    [0xc0 ... 0xc1] = MI8,
    [0xc2] = I16,
    [0xc3] = NONE,
    [0xc6] = MI8,
    [0xc7] = MIZ,
    [0xc8] = ENTER,
    [0xc9] = NONE,
    [0xca] = I16,
    [0xcb ... 0xcc] = NONE,
    [0xcd] = I8,
    [0xcf] = NONE,
    [0xd0 ... 0xd3] = M,
    [0xd7] = NONE,
    [0xd8 ... 0xdf] = M,
    [0xe0 ... 0xe3] = REL8,
    [0xe4 ... 0xe7] = I8,
    [0xe8 ... 0xe9] = REL32,
    [0xeb] = REL8,
    [0xec ... 0xef] = NONE,
    [0xf1] = NONE,
    [0xf4 ... 0xf5] = NONE,
    [0xf6] = GROUP3_8,
    [0xf7] = GROUP3_Z,
    [0xf8 ... 0xfd] = NONE,
    [0xfe ... 0xff] = M,
};

/* After 0F. 0F 0F (3DNow!), 0F 78/79 (VMREAD/VMWRITE, or SSE4a's
 * EXTRQ/INSERTQ with two immediates under a prefix) and 0F FF (UD0, whose
 * ModRM older decoders do not take) are BAD. */
static const unsigned char two_byte[256] = {
    [0x00 ... 0x03] = M,
    [0x05 ... 0x09] = NONE,
    [0x0b] = NONE,
    [0x0d] = M,
    [0x10 ... 0x23] = M,
    [0x28 ... 0x2f] = M,
    [0x30 ... 0x35] = NONE,
    [0x37] = NONE,
    [0x38] = ESC_38,
    [0x3a] = ESC_3A,
    [0x40 ... 0x6f] = M,
    [0x70 ... 0x73] = MI8,
    [0x74 ... 0x76] = M,
    [0x77] = NONE,
    [0x7c ... 0x7f] = M,
    [0x80 ... 0x8f] = REL32,
    [0x90 ... 0x9f] = M,
    [0xa0 ... 0xa2] = NONE,
    [0xa3] = M,
    [0xa4] = MI8,
    [0xa5] = M,
    [0xa8 ... 0xaa] = NONE,
    [0xab] = M,
    [0xac] = MI8,
    [0xad ... 0xb9] = M,
    [0xba] = MI8,
    [0xbb ... 0xc1] = M,
    [0xc2] = MI8,
    [0xc3] = M,
    [0xc4 ... 0xc6] = MI8,
    [0xc7] = M,
    [0xc8 ... 0xcf] = NONE,
    [0xd0 ... 0xfe] = M,
};

static bool is_legacy_prefix(uint8_t byte)
{
    switch (byte) {
    case 0x26:
    case 0x2e:
    case 0x36:
    case 0x3e:
    case 0x64:
    case 0x65:
    case 0x66:
    case 0x67:
    case 0xf0:
    case 0xf2:
    case 0xf3:
        return true;
    default:
        return false;
    }
}

/* The bytes of a ModRM byte with its SIB and displacement, 0 past size. */
static size_t modrm_length(const uint8_t *code, size_t at, size_t size)
{
    if (at >= size)
        return 0;
    uint8_t modrm = code[at];
    unsigned mod = modrm >> 6, rm = modrm & 7;
    size_t length = 1;
    if (mod == 3)
        return length;
    if (rm == 4) {
        if (at + 1 >= size)
            return 0;
        length++;
        if (mod == 0 && (code[at + 1] & 7) == 5)
            length += 4;
    } else if (mod == 0 && rm == 5) {
        length += 4; /* rip-relative */
    }
    if (mod == 1)
        length += 1;
    else if (mod == 2)
        length += 4;
    return length;
}

size_t accel_insn_length(const uint8_t *code, size_t size)
{
    size_t at = 0;
    bool operand16 = false, address32 = false, rex_w = false;
    while (at < size && at < X86_MAX_LENGTH) {
        uint8_t byte = code[at];
        if (is_legacy_prefix(byte)) {
            operand16 |= byte == 0x66;
            address32 |= byte == 0x67;
            rex_w = false; /* a REX counts only right before the opcode */
        } else if ((byte & 0xf0) == 0x40) {
            rex_w = (byte & 0x08) != 0;
        } else {
            break;
        }
        at++;
    }
    if (at >= size || at >= X86_MAX_LENGTH)
        return 0;
    unsigned kind = one_byte[code[at++]];
    if (kind == ESCAPE) {
        if (at >= size)
            return 0;
        kind = two_byte[code[at++]];
        if (kind == ESC_38 || kind == ESC_3A) {
            if (at >= size)
                return 0;
            at++;
            kind = kind == ESC_38 ? M : MI8;
        } else if (kind == REL32 && operand16) {
            return 0;
        }
    }
    size_t immediate = 0;
    switch (kind) {
    case NONE:
        break;
    case I8:
    case REL8:
        immediate = 1;
        break;
    case I16:
        immediate = 2;
        break;
    case IZ:
        immediate = operand16 && !rex_w ? 2 : 4;
        break;
    case IV:
        immediate = rex_w ? 8 : operand16 ? 2 : 4;
        break;
    case REL32:
        if (operand16)
            return 0;
        immediate = 4;
        break;
    case MOFFS:
        immediate = address32 ? 4 : 8;
        break;
    case ENTER:
        immediate = 3;
        break;
    case POP_M:
        if (at >= size || ((code[at] >> 3) & 7) != 0)
            return 0;
        /* fall through */
    case M:
    case MI8:
    case MIZ:
    case GROUP3_8:
    case GROUP3_Z: {
        size_t modrm = modrm_length(code, at, size);
        if (modrm == 0)
            return 0;
        unsigned reg = (code[at] >> 3) & 7;
        at += modrm;
        if (kind == MI8 || (kind == GROUP3_8 && reg < 2))
            immediate = 1;
        else if (kind == MIZ || (kind == GROUP3_Z && reg < 2))
            immediate = operand16 && !rex_w ? 2 : 4;
        break;
    }
    default:
        return 0;
    }
    at += immediate;
    return at <= size && at <= X86_MAX_LENGTH ? at : 0;
}
