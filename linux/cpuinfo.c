/*
 * /proc/cpuinfo as the program's CPU has it: the host's text, each "flags"
 * line keeping only the flags whose cpuid bit the program's cpuid sets.
 * Linux builds that line from cpuid, and programs read it to choose their
 * code (a build script, a JIT, `grep avx2 /proc/cpuinfo`): the host's line
 * under the software CPU named AVX that the CPU refuses. Flags that name
 * no cpuid bit of the table (Linux's own, like constant_tsc) stay.
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "linux/internal.h"

enum cpuinfo_reg { CPUINFO_EAX, CPUINFO_EBX, CPUINFO_ECX, CPUINFO_EDX };

/* One cpuid bit and Linux's name for it (arch/x86/include/asm/cpufeatures.h). */
struct cpuinfo_flag {
    uint32_t leaf, subleaf;
    enum cpuinfo_reg reg;
    unsigned bit;
    const char *name;
};

#define FLAG(leaf, subleaf, reg, bit, name)                                                        \
    {                                                                                              \
        leaf, subleaf, CPUINFO_##reg, bit, name                                                    \
    }
static const struct cpuinfo_flag cpuinfo_flags[] = {
    FLAG(1, 0, EDX, 0, "fpu"),
    FLAG(1, 0, EDX, 1, "vme"),
    FLAG(1, 0, EDX, 2, "de"),
    FLAG(1, 0, EDX, 3, "pse"),
    FLAG(1, 0, EDX, 4, "tsc"),
    FLAG(1, 0, EDX, 5, "msr"),
    FLAG(1, 0, EDX, 6, "pae"),
    FLAG(1, 0, EDX, 7, "mce"),
    FLAG(1, 0, EDX, 8, "cx8"),
    FLAG(1, 0, EDX, 9, "apic"),
    FLAG(1, 0, EDX, 11, "sep"),
    FLAG(1, 0, EDX, 12, "mtrr"),
    FLAG(1, 0, EDX, 13, "pge"),
    FLAG(1, 0, EDX, 14, "mca"),
    FLAG(1, 0, EDX, 15, "cmov"),
    FLAG(1, 0, EDX, 16, "pat"),
    FLAG(1, 0, EDX, 17, "pse36"),
    FLAG(1, 0, EDX, 18, "pn"),
    FLAG(1, 0, EDX, 19, "clflush"),
    FLAG(1, 0, EDX, 21, "dts"),
    FLAG(1, 0, EDX, 22, "acpi"),
    FLAG(1, 0, EDX, 23, "mmx"),
    FLAG(1, 0, EDX, 24, "fxsr"),
    FLAG(1, 0, EDX, 25, "sse"),
    FLAG(1, 0, EDX, 26, "sse2"),
    FLAG(1, 0, EDX, 27, "ss"),
    FLAG(1, 0, EDX, 28, "ht"),
    FLAG(1, 0, EDX, 29, "tm"),
    FLAG(1, 0, EDX, 30, "ia64"),
    FLAG(1, 0, EDX, 31, "pbe"),

    FLAG(1, 0, ECX, 0, "pni"),
    FLAG(1, 0, ECX, 1, "pclmulqdq"),
    FLAG(1, 0, ECX, 2, "dtes64"),
    FLAG(1, 0, ECX, 3, "monitor"),
    FLAG(1, 0, ECX, 4, "ds_cpl"),
    FLAG(1, 0, ECX, 5, "vmx"),
    FLAG(1, 0, ECX, 6, "smx"),
    FLAG(1, 0, ECX, 7, "est"),
    FLAG(1, 0, ECX, 8, "tm2"),
    FLAG(1, 0, ECX, 9, "ssse3"),
    FLAG(1, 0, ECX, 10, "cid"),
    FLAG(1, 0, ECX, 11, "sdbg"),
    FLAG(1, 0, ECX, 12, "fma"),
    FLAG(1, 0, ECX, 13, "cx16"),
    FLAG(1, 0, ECX, 14, "xtpr"),
    FLAG(1, 0, ECX, 15, "pdcm"),
    FLAG(1, 0, ECX, 17, "pcid"),
    FLAG(1, 0, ECX, 18, "dca"),
    FLAG(1, 0, ECX, 19, "sse4_1"),
    FLAG(1, 0, ECX, 20, "sse4_2"),
    FLAG(1, 0, ECX, 21, "x2apic"),
    FLAG(1, 0, ECX, 22, "movbe"),
    FLAG(1, 0, ECX, 23, "popcnt"),
    FLAG(1, 0, ECX, 24, "tsc_deadline_timer"),
    FLAG(1, 0, ECX, 25, "aes"),
    FLAG(1, 0, ECX, 26, "xsave"),
    FLAG(1, 0, ECX, 28, "avx"),
    FLAG(1, 0, ECX, 29, "f16c"),
    FLAG(1, 0, ECX, 30, "rdrand"),
    FLAG(1, 0, ECX, 31, "hypervisor"),

    FLAG(7, 0, EBX, 0, "fsgsbase"),
    FLAG(7, 0, EBX, 1, "tsc_adjust"),
    FLAG(7, 0, EBX, 2, "sgx"),
    FLAG(7, 0, EBX, 3, "bmi1"),
    FLAG(7, 0, EBX, 4, "hle"),
    FLAG(7, 0, EBX, 5, "avx2"),
    FLAG(7, 0, EBX, 7, "smep"),
    FLAG(7, 0, EBX, 8, "bmi2"),
    FLAG(7, 0, EBX, 9, "erms"),
    FLAG(7, 0, EBX, 10, "invpcid"),
    FLAG(7, 0, EBX, 11, "rtm"),
    FLAG(7, 0, EBX, 12, "cqm"),
    FLAG(7, 0, EBX, 14, "mpx"),
    FLAG(7, 0, EBX, 15, "rdt_a"),
    FLAG(7, 0, EBX, 16, "avx512f"),
    FLAG(7, 0, EBX, 17, "avx512dq"),
    FLAG(7, 0, EBX, 18, "rdseed"),
    FLAG(7, 0, EBX, 19, "adx"),
    FLAG(7, 0, EBX, 20, "smap"),
    FLAG(7, 0, EBX, 21, "avx512ifma"),
    FLAG(7, 0, EBX, 23, "clflushopt"),
    FLAG(7, 0, EBX, 24, "clwb"),
    FLAG(7, 0, EBX, 25, "intel_pt"),
    FLAG(7, 0, EBX, 26, "avx512pf"),
    FLAG(7, 0, EBX, 27, "avx512er"),
    FLAG(7, 0, EBX, 28, "avx512cd"),
    FLAG(7, 0, EBX, 29, "sha_ni"),
    FLAG(7, 0, EBX, 30, "avx512bw"),
    FLAG(7, 0, EBX, 31, "avx512vl"),

    FLAG(7, 0, ECX, 1, "avx512vbmi"),
    FLAG(7, 0, ECX, 2, "umip"),
    FLAG(7, 0, ECX, 3, "pku"),
    FLAG(7, 0, ECX, 4, "ospke"),
    FLAG(7, 0, ECX, 5, "waitpkg"),
    FLAG(7, 0, ECX, 6, "avx512_vbmi2"),
    FLAG(7, 0, ECX, 8, "gfni"),
    FLAG(7, 0, ECX, 9, "vaes"),
    FLAG(7, 0, ECX, 10, "vpclmulqdq"),
    FLAG(7, 0, ECX, 11, "avx512_vnni"),
    FLAG(7, 0, ECX, 12, "avx512_bitalg"),
    FLAG(7, 0, ECX, 13, "tme"),
    FLAG(7, 0, ECX, 14, "avx512_vpopcntdq"),
    FLAG(7, 0, ECX, 16, "la57"),
    FLAG(7, 0, ECX, 22, "rdpid"),
    FLAG(7, 0, ECX, 24, "bus_lock_detect"),
    FLAG(7, 0, ECX, 25, "cldemote"),
    FLAG(7, 0, ECX, 27, "movdiri"),
    FLAG(7, 0, ECX, 28, "movdir64b"),
    FLAG(7, 0, ECX, 29, "enqcmd"),
    FLAG(7, 0, ECX, 30, "sgx_lc"),

    FLAG(7, 0, EDX, 2, "avx512_4vnniw"),
    FLAG(7, 0, EDX, 3, "avx512_4fmaps"),
    FLAG(7, 0, EDX, 4, "fsrm"),
    FLAG(7, 0, EDX, 8, "avx512_vp2intersect"),
    FLAG(7, 0, EDX, 10, "md_clear"),
    FLAG(7, 0, EDX, 14, "serialize"),
    FLAG(7, 0, EDX, 16, "tsxldtrk"),
    FLAG(7, 0, EDX, 18, "pconfig"),
    FLAG(7, 0, EDX, 19, "arch_lbr"),
    FLAG(7, 0, EDX, 20, "ibt"),
    FLAG(7, 0, EDX, 22, "amx_bf16"),
    FLAG(7, 0, EDX, 23, "avx512_fp16"),
    FLAG(7, 0, EDX, 24, "amx_tile"),
    FLAG(7, 0, EDX, 25, "amx_int8"),
    FLAG(7, 0, EDX, 28, "flush_l1d"),
    FLAG(7, 0, EDX, 29, "arch_capabilities"),

    FLAG(7, 1, EAX, 4, "avx_vnni"),
    FLAG(7, 1, EAX, 5, "avx512_bf16"),

    FLAG(0xd, 1, EAX, 0, "xsaveopt"),
    FLAG(0xd, 1, EAX, 1, "xsavec"),
    FLAG(0xd, 1, EAX, 2, "xgetbv1"),
    FLAG(0xd, 1, EAX, 3, "xsaves"),

    FLAG(0x80000001, 0, EDX, 11, "syscall"),
    FLAG(0x80000001, 0, EDX, 19, "mp"),
    FLAG(0x80000001, 0, EDX, 20, "nx"),
    FLAG(0x80000001, 0, EDX, 22, "mmxext"),
    FLAG(0x80000001, 0, EDX, 25, "fxsr_opt"),
    FLAG(0x80000001, 0, EDX, 26, "pdpe1gb"),
    FLAG(0x80000001, 0, EDX, 27, "rdtscp"),
    FLAG(0x80000001, 0, EDX, 29, "lm"),
    FLAG(0x80000001, 0, EDX, 30, "3dnowext"),
    FLAG(0x80000001, 0, EDX, 31, "3dnow"),

    FLAG(0x80000001, 0, ECX, 0, "lahf_lm"),
    FLAG(0x80000001, 0, ECX, 1, "cmp_legacy"),
    FLAG(0x80000001, 0, ECX, 2, "svm"),
    FLAG(0x80000001, 0, ECX, 3, "extapic"),
    FLAG(0x80000001, 0, ECX, 4, "cr8_legacy"),
    FLAG(0x80000001, 0, ECX, 5, "abm"),
    FLAG(0x80000001, 0, ECX, 6, "sse4a"),
    FLAG(0x80000001, 0, ECX, 7, "misalignsse"),
    FLAG(0x80000001, 0, ECX, 8, "3dnowprefetch"),
    FLAG(0x80000001, 0, ECX, 9, "osvw"),
    FLAG(0x80000001, 0, ECX, 10, "ibs"),
    FLAG(0x80000001, 0, ECX, 11, "xop"),
    FLAG(0x80000001, 0, ECX, 12, "skinit"),
    FLAG(0x80000001, 0, ECX, 13, "wdt"),
    FLAG(0x80000001, 0, ECX, 15, "lwp"),
    FLAG(0x80000001, 0, ECX, 16, "fma4"),
    FLAG(0x80000001, 0, ECX, 17, "tce"),
    FLAG(0x80000001, 0, ECX, 19, "nodeid_msr"),
    FLAG(0x80000001, 0, ECX, 21, "tbm"),
    FLAG(0x80000001, 0, ECX, 22, "topoext"),
    FLAG(0x80000001, 0, ECX, 23, "perfctr_core"),
    FLAG(0x80000001, 0, ECX, 24, "perfctr_nb"),
    FLAG(0x80000001, 0, ECX, 26, "bpext"),
    FLAG(0x80000001, 0, ECX, 27, "ptsc"),
    FLAG(0x80000001, 0, ECX, 28, "perfctr_llc"),
    FLAG(0x80000001, 0, ECX, 29, "mwaitx"),
};
#undef FLAG

/* The names in the table whose bit the program's cpuid clears (a leaf past
 * the highest cpuid has reads as zero), as a set: cpuid is asked once per
 * leaf (the table runs leaf by leaf), not once per flag of every CPU. */
static GHashTable *cleared_flags(linux_cpuid_fn *cpuid, void *opaque)
{
    uint32_t regs[4], max_leaf[2];
    cpuid(opaque, 0, 0, regs);
    max_leaf[0] = regs[0];
    cpuid(opaque, 0x80000000, 0, regs);
    max_leaf[1] = regs[0];
    GHashTable *cleared = g_hash_table_new(g_str_hash, g_str_equal);
    const struct cpuinfo_flag *asked = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(cpuinfo_flags); i++) {
        const struct cpuinfo_flag *flag = &cpuinfo_flags[i];
        if (!asked || asked->leaf != flag->leaf || asked->subleaf != flag->subleaf) {
            memset(regs, 0, sizeof(regs));
            if (flag->leaf <= max_leaf[flag->leaf >> 31])
                cpuid(opaque, flag->leaf, flag->subleaf, regs);
            asked = flag;
        }
        if (!((regs[flag->reg] >> flag->bit) & 1))
            g_hash_table_add(cleared, (gpointer)flag->name);
    }
    return cleared;
}

void linux_cpuinfo_narrow(const char *host, linux_cpuid_fn *cpuid, void *opaque, GString *out)
{
    GHashTable *cleared = cleared_flags(cpuid, opaque);
    char **lines = g_strsplit(host, "\n", -1);
    for (char **line = lines; *line; line++) {
        const char *colon = strchr(*line, ':');
        if (!g_str_has_prefix(*line, "flags") || !colon) {
            g_string_append(out, *line);
        } else {
            g_string_append_len(out, *line, colon + 1 - *line);
            char **names = g_strsplit(colon + 1, " ", -1);
            for (char **name = names; *name; name++) {
                if (**name && !g_hash_table_contains(cleared, *name))
                    g_string_append_printf(out, " %s", *name);
            }
            g_strfreev(names);
        }
        if (line[1])
            g_string_append_c(out, '\n');
    }
    g_strfreev(lines);
    g_hash_table_destroy(cleared);
}
