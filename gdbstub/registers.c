/*
 * The amd64 register layout the stub presents: the target description
 * (target.xml) and the byte layout of g/G/p/P, both built from one table so
 * they cannot drift apart. The features and register order are gdbserver's
 * amd64-avx-linux ones (64bit-core, 64bit-sse, 64bit-linux, 64bit-segments,
 * 64bit-avx): gdb turns on its Linux ABI support only with orig_rax present,
 * builds ymm0-15 from xmm and the ymm*h halves of the avx feature, and lldb
 * needs every <reg> spelled out. The avx feature is always there: on a vCPU
 * without AVX (tcg) the halves read as zero, their initial state. Where the
 * target has AVX-512 (ops->has_avx512), gdb's avx512 feature follows, as
 * gdbserver's amd64-avx-avx512-linux has it; its registers come from
 * ops->avx512, not struct cpu_fpu_state.
 */
#include <stddef.h>
#include <string.h>

#include <glib.h>

#include "gdbstub/gdbstub.h"

enum register_feature {
    FEATURE_CORE,
    FEATURE_SSE,
    FEATURE_LINUX,
    FEATURE_SEGMENTS,
    FEATURE_AVX,
    FEATURE_AVX512,
    FEATURE_COUNT,
};

struct register_description {
    const char *name;
    unsigned bitsize;
    const char *type;
    const char *group; /* NULL: gdb's default */
    enum register_feature feature;
};

#define CORE64(name, type)                                                                         \
    {                                                                                              \
        name, 64, type, NULL, FEATURE_CORE                                                         \
    }
#define CORE32(name, type)                                                                         \
    {                                                                                              \
        name, 32, type, NULL, FEATURE_CORE                                                         \
    }
#define X87_CONTROL(name)                                                                          \
    {                                                                                              \
        name, 32, "int", "float", FEATURE_CORE                                                     \
    }
#define ST(name)                                                                                   \
    {                                                                                              \
        name, 80, "i387_ext", NULL, FEATURE_CORE                                                   \
    }
#define XMM(name)                                                                                  \
    {                                                                                              \
        name, 128, "vec128", NULL, FEATURE_SSE                                                     \
    }

#define YMMH(name)                                                                                 \
    {                                                                                              \
        name, 128, "uint128", NULL, FEATURE_AVX                                                    \
    }
/* gdb's 64bit-avx512.xml: xmm16-31 and ymm16h-31h as the lower ones, the
 * opmask registers, and bits 511:256 of every zmm. */
#define AVX512(name, bitsize, type)                                                                \
    {                                                                                              \
        name, bitsize, type, NULL, FEATURE_AVX512                                                  \
    }

static const struct register_description registers[GDB_AVX512_REGISTER_COUNT] = {
    CORE64("rax", "int64"),
    CORE64("rbx", "int64"),
    CORE64("rcx", "int64"),
    CORE64("rdx", "int64"),
    CORE64("rsi", "int64"),
    CORE64("rdi", "int64"),
    CORE64("rbp", "data_ptr"),
    CORE64("rsp", "data_ptr"),
    CORE64("r8", "int64"),
    CORE64("r9", "int64"),
    CORE64("r10", "int64"),
    CORE64("r11", "int64"),
    CORE64("r12", "int64"),
    CORE64("r13", "int64"),
    CORE64("r14", "int64"),
    CORE64("r15", "int64"),
    CORE64("rip", "code_ptr"),
    CORE32("eflags", "i386_eflags"),
    CORE32("cs", "int32"),
    CORE32("ss", "int32"),
    CORE32("ds", "int32"),
    CORE32("es", "int32"),
    CORE32("fs", "int32"),
    CORE32("gs", "int32"),
    ST("st0"),
    ST("st1"),
    ST("st2"),
    ST("st3"),
    ST("st4"),
    ST("st5"),
    ST("st6"),
    ST("st7"),
    X87_CONTROL("fctrl"),
    X87_CONTROL("fstat"),
    X87_CONTROL("ftag"),
    X87_CONTROL("fiseg"),
    X87_CONTROL("fioff"),
    X87_CONTROL("foseg"),
    X87_CONTROL("fooff"),
    X87_CONTROL("fop"),
    XMM("xmm0"),
    XMM("xmm1"),
    XMM("xmm2"),
    XMM("xmm3"),
    XMM("xmm4"),
    XMM("xmm5"),
    XMM("xmm6"),
    XMM("xmm7"),
    XMM("xmm8"),
    XMM("xmm9"),
    XMM("xmm10"),
    XMM("xmm11"),
    XMM("xmm12"),
    XMM("xmm13"),
    XMM("xmm14"),
    XMM("xmm15"),
    {"mxcsr", 32, "i386_mxcsr", "vector", FEATURE_SSE},
    {"orig_rax", 64, "int", NULL, FEATURE_LINUX},
    {"fs_base", 64, "int", NULL, FEATURE_SEGMENTS},
    {"gs_base", 64, "int", NULL, FEATURE_SEGMENTS},
    YMMH("ymm0h"),
    YMMH("ymm1h"),
    YMMH("ymm2h"),
    YMMH("ymm3h"),
    YMMH("ymm4h"),
    YMMH("ymm5h"),
    YMMH("ymm6h"),
    YMMH("ymm7h"),
    YMMH("ymm8h"),
    YMMH("ymm9h"),
    YMMH("ymm10h"),
    YMMH("ymm11h"),
    YMMH("ymm12h"),
    YMMH("ymm13h"),
    YMMH("ymm14h"),
    YMMH("ymm15h"),
    AVX512("xmm16", 128, "vec128"),
    AVX512("xmm17", 128, "vec128"),
    AVX512("xmm18", 128, "vec128"),
    AVX512("xmm19", 128, "vec128"),
    AVX512("xmm20", 128, "vec128"),
    AVX512("xmm21", 128, "vec128"),
    AVX512("xmm22", 128, "vec128"),
    AVX512("xmm23", 128, "vec128"),
    AVX512("xmm24", 128, "vec128"),
    AVX512("xmm25", 128, "vec128"),
    AVX512("xmm26", 128, "vec128"),
    AVX512("xmm27", 128, "vec128"),
    AVX512("xmm28", 128, "vec128"),
    AVX512("xmm29", 128, "vec128"),
    AVX512("xmm30", 128, "vec128"),
    AVX512("xmm31", 128, "vec128"),
    AVX512("ymm16h", 128, "uint128"),
    AVX512("ymm17h", 128, "uint128"),
    AVX512("ymm18h", 128, "uint128"),
    AVX512("ymm19h", 128, "uint128"),
    AVX512("ymm20h", 128, "uint128"),
    AVX512("ymm21h", 128, "uint128"),
    AVX512("ymm22h", 128, "uint128"),
    AVX512("ymm23h", 128, "uint128"),
    AVX512("ymm24h", 128, "uint128"),
    AVX512("ymm25h", 128, "uint128"),
    AVX512("ymm26h", 128, "uint128"),
    AVX512("ymm27h", 128, "uint128"),
    AVX512("ymm28h", 128, "uint128"),
    AVX512("ymm29h", 128, "uint128"),
    AVX512("ymm30h", 128, "uint128"),
    AVX512("ymm31h", 128, "uint128"),
    AVX512("k0", 64, "uint64"),
    AVX512("k1", 64, "uint64"),
    AVX512("k2", 64, "uint64"),
    AVX512("k3", 64, "uint64"),
    AVX512("k4", 64, "uint64"),
    AVX512("k5", 64, "uint64"),
    AVX512("k6", 64, "uint64"),
    AVX512("k7", 64, "uint64"),
    AVX512("zmm0h", 256, "v2ui128"),
    AVX512("zmm1h", 256, "v2ui128"),
    AVX512("zmm2h", 256, "v2ui128"),
    AVX512("zmm3h", 256, "v2ui128"),
    AVX512("zmm4h", 256, "v2ui128"),
    AVX512("zmm5h", 256, "v2ui128"),
    AVX512("zmm6h", 256, "v2ui128"),
    AVX512("zmm7h", 256, "v2ui128"),
    AVX512("zmm8h", 256, "v2ui128"),
    AVX512("zmm9h", 256, "v2ui128"),
    AVX512("zmm10h", 256, "v2ui128"),
    AVX512("zmm11h", 256, "v2ui128"),
    AVX512("zmm12h", 256, "v2ui128"),
    AVX512("zmm13h", 256, "v2ui128"),
    AVX512("zmm14h", 256, "v2ui128"),
    AVX512("zmm15h", 256, "v2ui128"),
    AVX512("zmm16h", 256, "v2ui128"),
    AVX512("zmm17h", 256, "v2ui128"),
    AVX512("zmm18h", 256, "v2ui128"),
    AVX512("zmm19h", 256, "v2ui128"),
    AVX512("zmm20h", 256, "v2ui128"),
    AVX512("zmm21h", 256, "v2ui128"),
    AVX512("zmm22h", 256, "v2ui128"),
    AVX512("zmm23h", 256, "v2ui128"),
    AVX512("zmm24h", 256, "v2ui128"),
    AVX512("zmm25h", 256, "v2ui128"),
    AVX512("zmm26h", 256, "v2ui128"),
    AVX512("zmm27h", 256, "v2ui128"),
    AVX512("zmm28h", 256, "v2ui128"),
    AVX512("zmm29h", 256, "v2ui128"),
    AVX512("zmm30h", 256, "v2ui128"),
    AVX512("zmm31h", 256, "v2ui128"),
};

/* Register numbers the conversions below single out. */
enum {
    REGISTER_RIP = 16,
    REGISTER_EFLAGS = 17,
    REGISTER_CS = 18,
    REGISTER_GS = 23,
    REGISTER_ST0 = 24,
    REGISTER_ST7 = 31,
    REGISTER_FCTRL = 32,
    REGISTER_FSTAT,
    REGISTER_FTAG,
    REGISTER_FISEG,
    REGISTER_FIOFF,
    REGISTER_FOSEG,
    REGISTER_FOOFF,
    REGISTER_FOP,
    REGISTER_XMM0 = 40,
    REGISTER_XMM15 = 55,
    REGISTER_MXCSR = 56,
    REGISTER_ORIG_RAX = GDB_REGISTER_ORIG_RAX,
    REGISTER_FS_BASE = 58,
    REGISTER_GS_BASE = 59,
    REGISTER_YMM0H = 60,
    REGISTER_XMM16 = GDB_REGISTER_COUNT,
    REGISTER_YMM16H = REGISTER_XMM16 + 16,
    REGISTER_K0 = REGISTER_YMM16H + 16,
    REGISTER_ZMM0H = REGISTER_K0 + 8,
    REGISTER_ZMM16H = REGISTER_ZMM0H + 16,
};

static const char *const feature_names[FEATURE_COUNT] = {
    "org.gnu.gdb.i386.core",     "org.gnu.gdb.i386.sse", "org.gnu.gdb.i386.linux",
    "org.gnu.gdb.i386.segments", "org.gnu.gdb.i386.avx", "org.gnu.gdb.i386.avx512",
};

/* The named types a feature's registers use, as gdb's own XML files define
 * them (bfloat16/half vectors left out: older gdb versions reject them).
 * Each feature defines its own, as gdb's do (64bit-avx512.xml repeats
 * vec128). */
#define VEC128_TYPES                                                                               \
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"                                        \
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"                                        \
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"                                            \
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"                                            \
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"                                            \
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"                                            \
    "<union id=\"vec128\">"                                                                        \
    "<field name=\"v4_float\" type=\"v4f\"/>"                                                      \
    "<field name=\"v2_double\" type=\"v2d\"/>"                                                     \
    "<field name=\"v16_int8\" type=\"v16i8\"/>"                                                    \
    "<field name=\"v8_int16\" type=\"v8i16\"/>"                                                    \
    "<field name=\"v4_int32\" type=\"v4i32\"/>"                                                    \
    "<field name=\"v2_int64\" type=\"v2i64\"/>"                                                    \
    "<field name=\"uint128\" type=\"uint128\"/>"                                                   \
    "</union>\n"
static const char *const feature_types[FEATURE_COUNT] = {
    [FEATURE_CORE] = "<flags id=\"i386_eflags\" size=\"4\">"
                     "<field name=\"CF\" start=\"0\" end=\"0\"/>"
                     "<field name=\"\" start=\"1\" end=\"1\"/>"
                     "<field name=\"PF\" start=\"2\" end=\"2\"/>"
                     "<field name=\"AF\" start=\"4\" end=\"4\"/>"
                     "<field name=\"ZF\" start=\"6\" end=\"6\"/>"
                     "<field name=\"SF\" start=\"7\" end=\"7\"/>"
                     "<field name=\"TF\" start=\"8\" end=\"8\"/>"
                     "<field name=\"IF\" start=\"9\" end=\"9\"/>"
                     "<field name=\"DF\" start=\"10\" end=\"10\"/>"
                     "<field name=\"OF\" start=\"11\" end=\"11\"/>"
                     "<field name=\"NT\" start=\"14\" end=\"14\"/>"
                     "<field name=\"RF\" start=\"16\" end=\"16\"/>"
                     "<field name=\"VM\" start=\"17\" end=\"17\"/>"
                     "<field name=\"AC\" start=\"18\" end=\"18\"/>"
                     "<field name=\"VIF\" start=\"19\" end=\"19\"/>"
                     "<field name=\"VIP\" start=\"20\" end=\"20\"/>"
                     "<field name=\"ID\" start=\"21\" end=\"21\"/>"
                     "</flags>\n",
    [FEATURE_SSE] = VEC128_TYPES "<flags id=\"i386_mxcsr\" size=\"4\">"
                                 "<field name=\"IE\" start=\"0\" end=\"0\"/>"
                                 "<field name=\"DE\" start=\"1\" end=\"1\"/>"
                                 "<field name=\"ZE\" start=\"2\" end=\"2\"/>"
                                 "<field name=\"OE\" start=\"3\" end=\"3\"/>"
                                 "<field name=\"UE\" start=\"4\" end=\"4\"/>"
                                 "<field name=\"PE\" start=\"5\" end=\"5\"/>"
                                 "<field name=\"DAZ\" start=\"6\" end=\"6\"/>"
                                 "<field name=\"IM\" start=\"7\" end=\"7\"/>"
                                 "<field name=\"DM\" start=\"8\" end=\"8\"/>"
                                 "<field name=\"ZM\" start=\"9\" end=\"9\"/>"
                                 "<field name=\"OM\" start=\"10\" end=\"10\"/>"
                                 "<field name=\"UM\" start=\"11\" end=\"11\"/>"
                                 "<field name=\"PM\" start=\"12\" end=\"12\"/>"
                                 "<field name=\"FZ\" start=\"15\" end=\"15\"/>"
                                 "</flags>\n",
    [FEATURE_AVX512] = VEC128_TYPES "<vector id=\"v2ui128\" type=\"uint128\" count=\"2\"/>\n",
};

static char *build_target_xml(bool avx512)
{
    int features = avx512 ? FEATURE_COUNT : FEATURE_AVX512;
    int count = avx512 ? GDB_AVX512_REGISTER_COUNT : GDB_REGISTER_COUNT;
    GString *xml = g_string_new("<?xml version=\"1.0\"?>\n"
                                "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
                                "<target version=\"1.0\">\n"
                                "<architecture>i386:x86-64</architecture>\n"
                                "<osabi>GNU/Linux</osabi>\n");
    for (int feature = 0; feature < features; feature++) {
        g_string_append_printf(xml, "<feature name=\"%s\">\n", feature_names[feature]);
        if (feature_types[feature])
            g_string_append(xml, feature_types[feature]);
        for (int regnum = 0; regnum < count; regnum++) {
            const struct register_description *reg = &registers[regnum];
            if (reg->feature != (enum register_feature)feature)
                continue;
            g_string_append_printf(xml, "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%d\"",
                                   reg->name, reg->bitsize, reg->type, regnum);
            if (reg->group)
                g_string_append_printf(xml, " group=\"%s\"", reg->group);
            /* lldb takes a type it does not know (v2ui128) for an
             * integer, which it cannot hold in 32 bytes: it gets encoding
             * and format as lldb-server gives them (gdb ignores both). */
            if (reg->bitsize > 128)
                g_string_append(xml, " encoding=\"vector\" format=\"vector-uint8\"");
            g_string_append(xml, "/>\n");
        }
        g_string_append(xml, "</feature>\n");
    }
    g_string_append(xml, "</target>\n");
    return g_string_free(xml, FALSE);
}

const char *gdb_target_xml(bool avx512)
{
    static gsize initialized;
    static char *xml[2];
    if (g_once_init_enter(&initialized)) {
        xml[0] = build_target_xml(false);
        xml[1] = build_target_xml(true);
        g_once_init_leave(&initialized, 1);
    }
    return xml[avx512];
}

const char *gdb_register_name(int regnum)
{
    if (regnum < 0 || regnum >= GDB_AVX512_REGISTER_COUNT)
        return NULL;
    return registers[regnum].name;
}

int gdb_register_offset(int regnum, size_t *size)
{
    if (regnum < 0 || regnum >= GDB_AVX512_REGISTER_COUNT)
        return -1;
    size_t offset = 0;
    for (int i = 0; i < regnum; i++)
        offset += registers[i].bitsize / 8;
    if (size)
        *size = registers[regnum].bitsize / 8;
    return (int)offset;
}

/* rax..r15 in gdb's order, which is not struct cpu_state's. */
static const size_t general_register_offsets[16] = {
    offsetof(struct cpu_state, rax), offsetof(struct cpu_state, rbx),
    offsetof(struct cpu_state, rcx), offsetof(struct cpu_state, rdx),
    offsetof(struct cpu_state, rsi), offsetof(struct cpu_state, rdi),
    offsetof(struct cpu_state, rbp), offsetof(struct cpu_state, rsp),
    offsetof(struct cpu_state, r8),  offsetof(struct cpu_state, r9),
    offsetof(struct cpu_state, r10), offsetof(struct cpu_state, r11),
    offsetof(struct cpu_state, r12), offsetof(struct cpu_state, r13),
    offsetof(struct cpu_state, r14), offsetof(struct cpu_state, r15),
};

/* gdb's order: cs ss ds es fs gs. */
static const size_t segment_offsets[6] = {
    offsetof(struct cpu_state, cs), offsetof(struct cpu_state, ss), offsetof(struct cpu_state, ds),
    offsetof(struct cpu_state, es), offsetof(struct cpu_state, fs), offsetof(struct cpu_state, gs),
};

static uint64_t general_register(const struct cpu_state *state, int regnum)
{
    uint64_t value;
    memcpy(&value, (const char *)state + general_register_offsets[regnum], sizeof value);
    return value;
}

static void set_general_register(struct cpu_state *state, int regnum, uint64_t value)
{
    memcpy((char *)state + general_register_offsets[regnum], &value, sizeof value);
}

static const struct cpu_segment *segment_register(const struct cpu_state *state, int regnum)
{
    return (const struct cpu_segment *)((const char *)state +
                                        segment_offsets[regnum - REGISTER_CS]);
}

static void set_segment_selector(struct cpu_state *state, int regnum, uint16_t selector)
{
    struct cpu_segment *segment =
        (struct cpu_segment *)((char *)state + segment_offsets[regnum - REGISTER_CS]);
    segment->selector = selector;
}

static void put_le(uint8_t *out, uint64_t value, size_t size)
{
    for (size_t i = 0; i < size; i++)
        out[i] = (uint8_t)(value >> (8 * i));
}

static uint64_t get_le(const uint8_t *in, size_t size)
{
    uint64_t value = 0;
    for (size_t i = 0; i < size; i++)
        value |= (uint64_t)in[i] << (8 * i);
    return value;
}

/* The 2-bit tag x87 would give an 80-bit value: 0 valid, 1 zero, 2 special. */
static unsigned x87_tag_of(const uint8_t value[10])
{
    unsigned exponent = (value[9] & 0x7f) << 8 | value[8];
    uint64_t mantissa = get_le(value, 8);
    if (exponent == 0x7fff)
        return 2;
    if (exponent == 0)
        return mantissa == 0 ? 1 : 2;
    return (mantissa >> 63) ? 0 : 2;
}

/* FXSAVE keeps one "not empty" bit per physical register; gdb wants the
 * full tag word, whose tags are derived from the values. The stack top
 * maps physical register i to st((i - top) mod 8). */
static uint32_t full_tag_word(const struct cpu_fpu_state *fpu)
{
    unsigned top = (fpu->fsw >> 11) & 7;
    uint32_t tags = 0;
    for (unsigned physical = 0; physical < 8; physical++) {
        unsigned tag = 3;
        if (fpu->ftw & (1u << physical))
            tag = x87_tag_of(fpu->st[(physical - top) & 7]);
        tags |= tag << (2 * physical);
    }
    return tags;
}

static uint8_t abridged_tag_word(uint32_t tags)
{
    uint8_t abridged = 0;
    for (unsigned physical = 0; physical < 8; physical++)
        if (((tags >> (2 * physical)) & 3) != 3)
            abridged |= 1u << physical;
    return abridged;
}

/* 64-bit FXSAVE holds 64-bit instruction and operand pointers; gdb's amd64
 * layout splits each into a 32-bit offset and a "segment" with the upper
 * half, as gdb's own amd64 FXSAVE code does. */
static uint64_t x87_value(const struct cpu_fpu_state *fpu, int regnum)
{
    switch (regnum) {
    case REGISTER_FCTRL:
        return fpu->fcw;
    case REGISTER_FSTAT:
        return fpu->fsw;
    case REGISTER_FTAG:
        return full_tag_word(fpu);
    case REGISTER_FISEG:
        return fpu->fip >> 32;
    case REGISTER_FIOFF:
        return (uint32_t)fpu->fip;
    case REGISTER_FOSEG:
        return fpu->fdp >> 32;
    case REGISTER_FOOFF:
        return (uint32_t)fpu->fdp;
    default:
        return fpu->fop & 0x7ff;
    }
}

static void set_x87_value(struct cpu_fpu_state *fpu, int regnum, uint64_t value)
{
    switch (regnum) {
    case REGISTER_FCTRL:
        fpu->fcw = (uint16_t)value;
        break;
    case REGISTER_FSTAT:
        fpu->fsw = (uint16_t)value;
        break;
    case REGISTER_FTAG:
        fpu->ftw = abridged_tag_word((uint32_t)value);
        break;
    case REGISTER_FISEG:
        fpu->fip = (uint32_t)fpu->fip | value << 32;
        break;
    case REGISTER_FIOFF:
        fpu->fip = (fpu->fip & ~0xffffffffULL) | (uint32_t)value;
        break;
    case REGISTER_FOSEG:
        fpu->fdp = (uint32_t)fpu->fdp | value << 32;
        break;
    case REGISTER_FOOFF:
        fpu->fdp = (fpu->fdp & ~0xffffffffULL) | (uint32_t)value;
        break;
    default:
        fpu->fop = value & 0x7ff;
        break;
    }
}

void gdb_register_get(int regnum, const struct cpu_state *state, const struct cpu_fpu_state *fpu,
                      uint8_t *out)
{
    size_t size = registers[regnum].bitsize / 8;

    if (regnum < REGISTER_RIP)
        put_le(out, general_register(state, regnum), size);
    else if (regnum == REGISTER_RIP)
        put_le(out, state->rip, size);
    else if (regnum == REGISTER_EFLAGS)
        put_le(out, state->rflags, size);
    else if (regnum <= REGISTER_GS)
        put_le(out, segment_register(state, regnum)->selector, size);
    else if (regnum <= REGISTER_ST7)
        memcpy(out, fpu->st[regnum - REGISTER_ST0], size);
    else if (regnum < REGISTER_XMM0)
        put_le(out, x87_value(fpu, regnum), size);
    else if (regnum <= REGISTER_XMM15)
        memcpy(out, fpu->xmm[regnum - REGISTER_XMM0], size);
    else if (regnum == REGISTER_MXCSR)
        put_le(out, fpu->mxcsr, size);
    else if (regnum == REGISTER_ORIG_RAX)
        put_le(out, UINT64_MAX, size); /* -1; the stub puts the target's (ops->orig_rax) */
    else if (regnum == REGISTER_FS_BASE)
        put_le(out, state->fs.base, size);
    else if (regnum == REGISTER_GS_BASE)
        put_le(out, state->gs.base, size);
    else if (fpu->ymmh_valid)
        memcpy(out, fpu->ymmh[regnum - REGISTER_YMM0H], size);
    else
        memset(out, 0, size);
}

void gdb_register_set(int regnum, const uint8_t *in, struct cpu_state *state,
                      struct cpu_fpu_state *fpu)
{
    size_t size = registers[regnum].bitsize / 8;
    uint64_t value = size <= 8 ? get_le(in, size) : 0;

    if (regnum < REGISTER_RIP)
        set_general_register(state, regnum, value);
    else if (regnum == REGISTER_RIP)
        state->rip = value;
    else if (regnum == REGISTER_EFLAGS)
        state->rflags = (state->rflags & ~0xffffffffULL) | value;
    else if (regnum <= REGISTER_GS)
        set_segment_selector(state, regnum, (uint16_t)value);
    else if (regnum <= REGISTER_ST7) {
        memset(fpu->st[regnum - REGISTER_ST0], 0, sizeof fpu->st[0]);
        memcpy(fpu->st[regnum - REGISTER_ST0], in, size);
    } else if (regnum < REGISTER_XMM0)
        set_x87_value(fpu, regnum, value);
    else if (regnum <= REGISTER_XMM15)
        memcpy(fpu->xmm[regnum - REGISTER_XMM0], in, size);
    else if (regnum == REGISTER_MXCSR)
        fpu->mxcsr = (uint32_t)value;
    else if (regnum == REGISTER_ORIG_RAX)
        ; /* the stub passes it to the target (ops->orig_rax) */
    else if (regnum == REGISTER_FS_BASE)
        state->fs.base = value;
    else if (regnum == REGISTER_GS_BASE)
        state->gs.base = value;
    else {
        /* Reaches the vCPU only where it has AVX (set_fpu). */
        memcpy(fpu->ymmh[regnum - REGISTER_YMM0H], in, size);
        fpu->ymmh_valid = true;
    }
}

void gdb_registers_to_bytes(const struct cpu_state *state, const struct cpu_fpu_state *fpu,
                            uint8_t out[GDB_REGISTERS_SIZE])
{
    size_t offset = 0;
    for (int regnum = 0; regnum < GDB_REGISTER_COUNT; regnum++) {
        gdb_register_get(regnum, state, fpu, out + offset);
        offset += registers[regnum].bitsize / 8;
    }
}

void gdb_registers_from_bytes(const uint8_t *bytes, size_t length, struct cpu_state *state,
                              struct cpu_fpu_state *fpu)
{
    size_t offset = 0;
    for (int regnum = 0; regnum < GDB_REGISTER_COUNT; regnum++) {
        size_t size = registers[regnum].bitsize / 8;
        if (offset + size > length)
            break;
        gdb_register_set(regnum, bytes + offset, state, fpu);
        offset += size;
    }
}

/* Where an AVX-512 register's bytes lie in the XSAVE components: xmm16-31
 * and ymm16h-31h are the low quarters of Hi16_ZMM's registers, zmm16h-31h
 * their upper halves, zmm0h-15h ZMM_Hi256. */
static uint8_t *avx512_register_bytes(int regnum, struct gdb_avx512_state *avx512)
{
    if (regnum < REGISTER_YMM16H)
        return avx512->hi16_zmm[regnum - REGISTER_XMM16];
    if (regnum < REGISTER_K0)
        return avx512->hi16_zmm[regnum - REGISTER_YMM16H] + 16;
    if (regnum < REGISTER_ZMM0H)
        return avx512->opmask[regnum - REGISTER_K0];
    if (regnum < REGISTER_ZMM16H)
        return avx512->zmm_hi256[regnum - REGISTER_ZMM0H];
    return avx512->hi16_zmm[regnum - REGISTER_ZMM16H] + 32;
}

void gdb_avx512_register_get(int regnum, const struct gdb_avx512_state *avx512, uint8_t *out)
{
    /* Read only: the cast serves one lookup for both directions. */
    memcpy(out, avx512_register_bytes(regnum, (struct gdb_avx512_state *)avx512),
           registers[regnum].bitsize / 8);
}

void gdb_avx512_register_set(int regnum, const uint8_t *in, struct gdb_avx512_state *avx512)
{
    memcpy(avx512_register_bytes(regnum, avx512), in, registers[regnum].bitsize / 8);
}
