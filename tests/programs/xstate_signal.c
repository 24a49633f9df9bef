/*
 * xstate_signal MODE: the FP/vector state across a signal handler, and the
 * frame's FP part (uc_mcontext.fpregs) as Linux lays it out.
 *
 *   sse     xmm0-15 hold known values when kill() raises SIGUSR1 (one asm
 *           block, so no libc code runs in between); the handler checks the
 *           frame's FXSAVE image holds them and the software-reserved magic,
 *           edits the frame's xmm15, clobbers xmm0-15; after the return
 *           xmm0-14 are as before and xmm15 is the edited value.
 *   avx     the same with ymm0-15 (AVX); the handler also checks its ymm
 *           upper halves start cleared, the XSAVE header (XSTATE_BV has
 *           x87|SSE|AVX), the sizes and the trailing magic, and the frame's
 *           AVX area. Prints a skip line on a CPU without AVX.
 *   layout  what the CPU offers (AVX, XSAVE) and the frame's shape: its
 *           flags, xstate size, extended size, whether magic2 follows.
 *   avx512  zmm0-31 and k1-7 across a handler that clobbers them all; the
 *           frame's XSTATE_BV has the three AVX-512 components, and its
 *           opmask and Hi16_ZMM areas hold k1 and zmm31. Prints a skip line
 *           on a CPU without usable AVX-512.
 *   altstack  a handler on an alternate stack just too small for the frame
 *           (the XSAVE size + 400 bytes): the child dies of SIGSEGV, as Linux
 *           refuses to write past the stack; one 1 KiB larger runs it.
 *   fault   ymm0-15 (xmm0-15 without AVX) hold the known values when a store
 *           to address 0 kills the program with SIGSEGV: its core file
 *           shows them (tests/integration/50-faults.sh).
 *   fault512  the same with zmm0-31 and k1-7 (AVX-512 hosts), after printing
 *           where the CPU's XSAVE layout keeps them: the core's NT_X86_XSTATE
 *           holds them there (tests/integration/41-gdb-avx.sh).
 *   int3-512  for a debugger: zmm0-31 and k1-7 loaded as in avx512, then an
 *           int3 (natively, without one, SIGTRAP ends the program); after it
 *           prints every 32-bit word of zmm0-31 and every k1-7 that is no
 *           longer what was loaded: what the debugger wrote at the stop.
 *
 * The asm needs no -mavx: only the assembler sees the AVX instructions, and
 * they run only when CPUID and XCR0 say AVX is usable.
 */
#include "check.h"

#include <cpuid.h>
#include <signal.h>
#include <sys/auxv.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define MAGIC1          0x46505853U
#define MAGIC2          0x46505845U
#define SW_OFFSET       464
#define HEADER_OFFSET   512
#define UC_FP_XSTATE    0x1
#define XFEATURE_AVX    0x4ULL
#define XFEATURES_BASIC 0x7ULL

/* What the handler saw, checked and printed by main (no stdio in it). */
static struct {
    int ran;
    unsigned long uc_flags;
    uint32_t magic1, extended_size, xstate_size, magic2;
    uint64_t xfeatures, xstate_bv;
    int frame_low_ok, frame_high_ok, entry_high_clear;
} seen;

static uint8_t before[16][32] __attribute__((aligned(32)));
static uint8_t after[16][32] __attribute__((aligned(32)));
static uint8_t ones[32] __attribute__((aligned(32)));
static uint8_t entry_high[16][16] __attribute__((aligned(32)));
static unsigned avx_offset; /* of the AVX component in the XSAVE image */
static int use_avx;

static uint8_t pattern(int reg, int byte)
{
    return (uint8_t)(reg * 32 + byte + 1);
}

/* The value the handler writes into the frame's register 15. */
static uint8_t edited(int byte)
{
    return (uint8_t)(0xa0 + byte);
}

/* Where XSAVE's standard format puts a component (CPUID leaf 0xd). */
static unsigned xsave_offset(unsigned component)
{
    unsigned a, b, c, d;
    __cpuid_count(0xd, component, a, b, c, d);
    return b;
}

/* The XSAVE size of Linux's signal frame on this CPU: the standard-format
 * extent of the components XCR0 enables and CPUID offers, without those
 * a program must ask for first (XFD, AMX's tile data): CPUID 0xd.0's ebx
 * counts those too, and differs from one CPU to the next (2688 on an AMD
 * EPYC, 2816 on a Sapphire Rapids with PKRU and AMX). */
static unsigned frame_xsave_size(void)
{
    unsigned a, b, c, d, low, high;
    __cpuid_count(0xd, 0, a, b, c, d);
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    uint64_t enabled = ((uint64_t)d << 32 | a) & ((uint64_t)high << 32 | low);
    unsigned size = 576;
    for (unsigned i = 2; i < 64; i++) {
        if (!(enabled >> i & 1))
            continue;
        __cpuid_count(0xd, i, a, b, c, d);
        if (!(c & 4) && a + b > size) /* ecx bit 2: XFD, asked for first */
            size = a + b;
    }
    return size;
}

static void install_handler(void (*handler)(int, siginfo_t *, void *))
{
    struct sigaction action = {0};
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
}

static int avx_usable(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_AVX) || !(c & bit_OSXSAVE))
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6) == 6;
}

#define XMM_ALL                                                                                    \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",       \
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

/* Loads ymm0-15 (or xmm0-15) from before[], raises SIGUSR1 with a raw kill
 * syscall and stores them into after[], in one block. */
static void raise_with_registers(void)
{
    long pid = getpid();
    long number = SYS_kill;
#define FOR_ALL(op)                                                                                \
    op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11) op(12) op(13) op(14) \
        op(15)
    if (use_avx) {
#define LOAD_Y(n)  "vmovdqu " #n "*32(%[in]), %%ymm" #n "\n"
#define STORE_Y(n) "vmovdqu %%ymm" #n ", " #n "*32(%[out])\n"
        __asm__ volatile(FOR_ALL(LOAD_Y) "syscall\n" FOR_ALL(STORE_Y) "vzeroupper\n"
                         : "+a"(number)
                         : [in] "r"(before), [out] "r"(after), "D"(pid), "S"((long)SIGUSR1)
                         : "rcx", "r11", "memory", XMM_ALL);
    } else {
#define LOAD_X(n)  "movdqu " #n "*32(%[in]), %%xmm" #n "\n"
#define STORE_X(n) "movdqu %%xmm" #n ", " #n "*32(%[out])\n"
        __asm__ volatile(FOR_ALL(LOAD_X) "syscall\n" FOR_ALL(STORE_X)
                         : "+a"(number)
                         : [in] "r"(before), [out] "r"(after), "D"(pid), "S"((long)SIGUSR1)
                         : "rcx", "r11", "memory", XMM_ALL);
    }
}

/* Loads the registers as raise_with_registers does, then faults. */
static void fault_with_registers(void)
{
    if (use_avx)
        __asm__ volatile(FOR_ALL(LOAD_Y) "movl $0, 0\n" : : [in] "r"(before) : "memory", XMM_ALL);
    else
        __asm__ volatile(FOR_ALL(LOAD_X) "movl $0, 0\n" : : [in] "r"(before) : "memory", XMM_ALL);
}

/* Overwrites every vector register with all ones, as a handler using them
 * would. */
static void clobber_registers(void)
{
    if (use_avx) {
#define CLOBBER_Y(n) "vmovdqu (%[ones]), %%ymm" #n "\n"
        __asm__ volatile(FOR_ALL(CLOBBER_Y) : : [ones] "r"(ones) : XMM_ALL);
    } else {
#define CLOBBER_X(n) "movdqu (%[ones]), %%xmm" #n "\n"
        __asm__ volatile(FOR_ALL(CLOBBER_X) : : [ones] "r"(ones) : XMM_ALL);
    }
}

/* The upper halves of ymm0-15 as the handler starts. */
static void read_entry_high(void)
{
#define HIGH_Y(n) "vextractf128 $1, %%ymm" #n ", " #n "*16(%[out])\n"
    __asm__ volatile(FOR_ALL(HIGH_Y) : : [out] "r"(entry_high) : "memory");
}

static void inspect_frame(uint8_t *fp)
{
    int low_ok = 1, high_ok = 1;
    for (int reg = 0; reg < 16; reg++) {
        for (int byte = 0; byte < 16; byte++) {
            low_ok &= fp[160 + reg * 16 + byte] == pattern(reg, byte);
            if (use_avx)
                high_ok &= fp[avx_offset + reg * 16 + byte] == pattern(reg, 16 + byte);
        }
    }
    seen.frame_low_ok = low_ok;
    seen.frame_high_ok = high_ok;
    memcpy(&seen.magic1, fp + SW_OFFSET, 4);
    memcpy(&seen.extended_size, fp + SW_OFFSET + 4, 4);
    memcpy(&seen.xfeatures, fp + SW_OFFSET + 8, 8);
    memcpy(&seen.xstate_size, fp + SW_OFFSET + 16, 4);
    if (seen.uc_flags & UC_FP_XSTATE) {
        memcpy(&seen.xstate_bv, fp + HEADER_OFFSET, 8);
        memcpy(&seen.magic2, fp + seen.xstate_size, 4);
    }
    /* What sigreturn must put back into register 15. */
    for (int byte = 0; byte < 16; byte++) {
        fp[160 + 15 * 16 + byte] = edited(byte);
        if (use_avx)
            fp[avx_offset + 15 * 16 + byte] = edited(16 + byte);
    }
}

/* Where a debugger stops to look at the clobbered registers (all ones):
 * tests/integration/40-gdb.sh compares them with gdbserver's. */
static __attribute__((noinline)) void handler_done(void)
{
    seen.ran = 1;
    __asm__ volatile("" ::: "memory");
}

static void on_signal(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)info;
    if (use_avx) {
        read_entry_high();
        int clear = 1;
        for (int reg = 0; reg < 16; reg++) {
            for (int byte = 0; byte < 16; byte++)
                clear &= entry_high[reg][byte] == 0;
        }
        seen.entry_high_clear = clear;
    }
    ucontext_t *uc = context;
    seen.uc_flags = uc->uc_flags;
    if (uc->uc_mcontext.fpregs)
        inspect_frame((uint8_t *)uc->uc_mcontext.fpregs);
    clobber_registers();
    handler_done();
}

static int registers_restored(void)
{
    int width = use_avx ? 32 : 16;
    int ok = 1;
    for (int reg = 0; reg < 16; reg++) {
        for (int byte = 0; byte < width; byte++)
            ok &= after[reg][byte] == (reg == 15 ? edited(byte) : pattern(reg, byte));
    }
    return ok;
}

static void run_once(void)
{
    for (int reg = 0; reg < 16; reg++) {
        for (int byte = 0; byte < 32; byte++)
            before[reg][byte] = pattern(reg, byte);
    }
    memset(ones, 0xff, sizeof(ones));
    install_handler(on_signal);
    raise_with_registers();
}

static int mode_registers(int avx)
{
    if (avx) {
        if (!avx_usable()) {
            printf("skip: the CPU has no usable AVX (cpuid/xgetbv)\n");
            return 0;
        }
        avx_offset = xsave_offset(2);
        use_avx = 1;
    }
    run_once();
    check("handler ran", seen.ran);
    check("frame: magic1 in the software-reserved bytes", seen.magic1 == MAGIC1);
    check("frame: xmm0-15 hold the interrupted values", seen.frame_low_ok);
    if (avx) {
        check("frame: uc_flags has UC_FP_XSTATE", (seen.uc_flags & UC_FP_XSTATE) != 0);
        check("frame: xfeatures include x87, SSE, AVX",
              (seen.xfeatures & XFEATURES_BASIC) == XFEATURES_BASIC);
        check("frame: xstate_size covers the AVX area", seen.xstate_size >= avx_offset + 256);
        check("frame: extended_size is xstate_size + 4",
              seen.extended_size == seen.xstate_size + 4);
        check("frame: magic2 after the XSAVE image", seen.magic2 == MAGIC2);
        check("frame: XSTATE_BV has x87, SSE, AVX",
              (seen.xstate_bv & XFEATURES_BASIC) == XFEATURES_BASIC);
        check("frame: the AVX area holds the upper halves", seen.frame_high_ok);
        check("handler starts with ymm upper halves cleared", seen.entry_high_clear);
    }
    check(avx ? "after return: ymm0-14 restored, ymm15 as edited in the frame"
              : "after return: xmm0-14 restored, xmm15 as edited in the frame",
          registers_restored());
    return failures ? 1 : 0;
}

static int mode_layout(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    __get_cpuid(1, &a, &b, &c, &d);
    printf("cpu: avx %s, xsave %s\n", (c & bit_AVX) ? "yes" : "no", (c & bit_XSAVE) ? "yes" : "no");
    run_once();
    /* The size itself is the CPU's (frame_xsave_size says how). */
    unsigned want = (c & bit_OSXSAVE) ? frame_xsave_size() : 512; /* FXSAVE's */
    printf("frame: UC_FP_XSTATE %s, magic1 %s, xstate_size %s, extended_size %s",
           (seen.uc_flags & UC_FP_XSTATE) ? "set" : "clear", seen.magic1 == MAGIC1 ? "ok" : "bad",
           seen.xstate_size == want ? "the CPU's" : "WRONG",
           seen.extended_size == seen.xstate_size + 4 ? "xstate_size + 4" : "WRONG");
    if (seen.xstate_size != want)
        printf(" (%u, %u; want %u)", seen.xstate_size, seen.extended_size, want);
    if (seen.uc_flags & UC_FP_XSTATE)
        printf(", magic2 %s", seen.magic2 == MAGIC2 ? "ok" : "bad");
    printf("\n");
    return seen.ran ? 0 : 1;
}

/* ---- avx512 ---------------------------------------------------------------------- */

static uint8_t zbefore[32][64] __attribute__((aligned(64)));
static uint8_t zafter[32][64] __attribute__((aligned(64)));
static uint16_t kbefore[8], kafter[8];
static unsigned opmask_offset, hi16_offset;
static struct {
    int ran, frame_k1_ok, frame_zmm31_ok;
    uint64_t xstate_bv;
} zseen;

static int avx512_usable(void)
{
    unsigned a, b, c, d;
    if (!avx_usable() || !__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 16)))
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0xe6) == 0xe6;
}

#define FOR_ALL32(op)                                                                              \
    FOR_ALL(op)                                                                                    \
    op(16) op(17) op(18) op(19) op(20) op(21) op(22) op(23) op(24) op(25) op(26) op(27) op(28)     \
        op(29) op(30) op(31)
#define FOR_K(op)    op(1) op(2) op(3) op(4) op(5) op(6) op(7)
#define LOAD_Z(n)    "vmovdqu64 " #n "*64(%[in]), %%zmm" #n "\n"
#define STORE_Z(n)   "vmovdqu64 %%zmm" #n ", " #n "*64(%[out])\n"
#define LOAD_K(n)    "kmovw " #n "*2(%[kin]), %%k" #n "\n"
#define STORE_K(n)   "kmovw %%k" #n ", " #n "*2(%[kout])\n"
#define CLOBBER_Z(n) "vmovdqu64 (%[ones]), %%zmm" #n "\n"
#define CLOBBER_K(n) "kmovw (%[ones]), %%k" #n "\n"
#define XMM_HIGH                                                                                   \
    "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",      \
        "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31"
#define K_ALL "k1", "k2", "k3", "k4", "k5", "k6", "k7"

__attribute__((target("avx512f"))) static void raise_with_zmm(void)
{
    long number = SYS_kill;
    __asm__ volatile(FOR_ALL32(LOAD_Z) FOR_K(LOAD_K) "syscall\n" FOR_ALL32(STORE_Z)
                         FOR_K(STORE_K) "vzeroupper\n"
                     : "+a"(number)
                     : [in] "r"(zbefore), [out] "r"(zafter), [kin] "r"(kbefore), [kout] "r"(kafter),
                       "D"((long)getpid()), "S"((long)SIGUSR1)
                     : "rcx", "r11", "memory", XMM_ALL, XMM_HIGH, K_ALL);
}

__attribute__((target("avx512f"))) static void clobber_zmm(void)
{
    static uint8_t all_ones[64] __attribute__((aligned(64)));
    memset(all_ones, 0xff, sizeof(all_ones));
    __asm__ volatile(FOR_ALL32(CLOBBER_Z) FOR_K(CLOBBER_K)
                     :
                     : [ones] "r"(all_ones)
                     : XMM_ALL, XMM_HIGH, K_ALL);
}

static void on_signal_zmm(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)info;
    ucontext_t *uc = context;
    uint8_t *fp = (uint8_t *)uc->uc_mcontext.fpregs;
    if (fp && (uc->uc_flags & UC_FP_XSTATE)) {
        memcpy(&zseen.xstate_bv, fp + HEADER_OFFSET, 8);
        uint64_t k1;
        memcpy(&k1, fp + opmask_offset + 8, 8);
        zseen.frame_k1_ok = k1 == kbefore[1];
        zseen.frame_zmm31_ok = !memcmp(fp + hi16_offset + 15 * 64, zbefore[31], 64);
    }
    clobber_zmm();
    zseen.ran = 1;
}

/* The known values zmm0-31 and k1-7 get: byte b of zmm r is r*7 + b*3 + 1, k is
 * 0x1111*k + 0x0f0f. 0 (after a skip line) on a CPU without usable AVX-512. */
static int avx512_patterns(void)
{
    if (!avx512_usable()) {
        printf("skip: the CPU has no usable AVX-512 (cpuid/xgetbv)\n");
        return 0;
    }
    for (int reg = 0; reg < 32; reg++) {
        for (int byte = 0; byte < 64; byte++)
            zbefore[reg][byte] = (uint8_t)(reg * 7 + byte * 3 + 1);
    }
    for (int k = 0; k < 8; k++)
        kbefore[k] = (uint16_t)(0x1111 * k + 0x0f0f);
    return 1;
}

static int mode_avx512(void)
{
    if (!avx512_patterns())
        return 0;
    opmask_offset = xsave_offset(5);
    hi16_offset = xsave_offset(7);
    install_handler(on_signal_zmm);
    raise_with_zmm();
    check("handler ran", zseen.ran);
    check("frame: XSTATE_BV has opmask, ZMM_Hi256, Hi16_ZMM", (zseen.xstate_bv & 0xe0) == 0xe0);
    check("frame: the opmask area holds k1", zseen.frame_k1_ok);
    check("frame: the Hi16_ZMM area holds zmm31", zseen.frame_zmm31_ok);
    check("after return: zmm0-31 restored", !memcmp(zbefore, zafter, sizeof(zbefore)));
    check("after return: k1-7 restored", !memcmp(kbefore + 1, kafter + 1, 7 * sizeof(kafter[0])));
    return failures ? 1 : 0;
}

/* Loads zmm0-31 and k1-7 as mode avx512 does, says where the XSAVE layout
 * keeps them, then faults: the core's NT_X86_XSTATE must hold them there. */
__attribute__((target("avx512f"))) static void fault_with_zmm(void)
{
    __asm__ volatile(FOR_ALL32(LOAD_Z) FOR_K(LOAD_K) "movl $0, 0\n"
                     :
                     : [in] "r"(zbefore), [kin] "r"(kbefore)
                     : "memory", XMM_ALL, XMM_HIGH, K_ALL);
}

static int mode_fault512(void)
{
    if (!avx512_patterns())
        return 0;
    printf("opmask %u zmm_hi256 %u hi16_zmm %u\n", xsave_offset(5), xsave_offset(6),
           xsave_offset(7));
    fflush(stdout);
    fault_with_zmm();
    return 1;
}

/* Loads zmm0-31 and k1-7, stops at an int3, stores them back. */
__attribute__((target("avx512f"))) static void trap_with_zmm(void)
{
    __asm__ volatile(FOR_ALL32(LOAD_Z) FOR_K(LOAD_K) "int3\n" FOR_ALL32(STORE_Z)
                         FOR_K(STORE_K) "vzeroupper\n"
                     :
                     : [in] "r"(zbefore), [out] "r"(zafter), [kin] "r"(kbefore), [kout] "r"(kafter)
                     : "memory", XMM_ALL, XMM_HIGH, K_ALL);
}

static int mode_int3_512(void)
{
    if (!avx512_patterns())
        return 0;
    trap_with_zmm();
    int changed = 0;
    for (int reg = 0; reg < 32; reg++) {
        for (int word = 0; word < 16; word++) {
            uint32_t was, now;
            memcpy(&was, zbefore[reg] + 4 * word, 4);
            memcpy(&now, zafter[reg] + 4 * word, 4);
            if (was != now) {
                printf("zmm%d[%d] = 0x%08x\n", reg, word, now);
                changed++;
            }
        }
    }
    for (int k = 1; k < 8; k++) {
        if (kbefore[k] != kafter[k]) {
            printf("k%d = 0x%04x\n", k, kafter[k]);
            changed++;
        }
    }
    printf("%d changed\n", changed);
    return 0;
}

/* ---- altstack -------------------------------------------------------------------- */

static void on_signal_quiet(int signal)
{
    (void)signal;
}

/* In a child: a SIGUSR1 handler on an alternate stack of size bytes. */
static const char *altstack_outcome(size_t size)
{
    pid_t child = fork();
    if (child == 0) {
        static uint8_t stack[16384] __attribute__((aligned(64)));
        stack_t ss = {.ss_sp = stack, .ss_size = size, .ss_flags = 0};
        if (sigaltstack(&ss, NULL))
            _exit(2);
        struct sigaction action = {0};
        action.sa_handler = on_signal_quiet;
        action.sa_flags = SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        sigaction(SIGUSR1, &action, NULL);
        raise(SIGUSR1);
        _exit(0);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child)
        return "no child";
    if (WIFSIGNALED(status))
        return WTERMSIG(status) == SIGSEGV ? "killed by SIGSEGV" : "killed by another signal";
    return WEXITSTATUS(status) == 0 ? "handler ran" : "sigaltstack failed";
}

static int mode_altstack(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    __get_cpuid(1, &a, &b, &c, &d);
    if (!(c & bit_OSXSAVE)) {
        printf("skip: no XSAVE frame (cpuid)\n");
        return 0;
    }
    size_t xsave_size = frame_xsave_size();
    size_t small = xsave_size + 400 > 2048 ? xsave_size + 400 : 2048;
    printf("altstack of the XSAVE size + 400: %s\n", altstack_outcome(small));
    printf("altstack of the XSAVE size + 1400: %s\n", altstack_outcome(xsave_size + 1400));
    return 0;
}

/* AT_MINSIGSTKSZ, and that a handler runs on an alternate stack that
 * size (at least MINSIGSTKSZ, below which sigaltstack refuses). */
static int mode_minsigstksz(void)
{
    unsigned long minimum = getauxval(AT_MINSIGSTKSZ);
    printf("AT_MINSIGSTKSZ %lu\n", minimum);
    size_t size = minimum > MINSIGSTKSZ ? minimum : MINSIGSTKSZ;
    printf("altstack of that size: %s\n", altstack_outcome(size));
    return minimum ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "sse";
    if (!strcmp(mode, "sse"))
        return mode_registers(0);
    if (!strcmp(mode, "avx"))
        return mode_registers(1);
    if (!strcmp(mode, "layout"))
        return mode_layout();
    if (!strcmp(mode, "avx512"))
        return mode_avx512();
    if (!strcmp(mode, "altstack"))
        return mode_altstack();
    if (!strcmp(mode, "minsigstksz"))
        return mode_minsigstksz();
    if (!strcmp(mode, "fault512"))
        return mode_fault512();
    if (!strcmp(mode, "int3-512"))
        return mode_int3_512();
    if (!strcmp(mode, "fault")) {
        use_avx = avx_usable();
        for (int reg = 0; reg < 16; reg++) {
            for (int byte = 0; byte < 32; byte++)
                before[reg][byte] = pattern(reg, byte);
        }
        fault_with_registers();
        return 1;
    }
    fprintf(stderr, "usage: xstate_signal "
                    "sse|avx|avx512|layout|altstack|minsigstksz|fault|fault512|int3-512\n");
    return 2;
}
