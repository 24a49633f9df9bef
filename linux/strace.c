/*
 * linux/strace.c — `--strace`: one line per syscall in strace's own format,
 * written by the personality itself so that every accelerator traces alike.
 *
 * The line is written when the call returns (as `strace -o FILE` does for a
 * call nothing interleaves with), because output arguments — the bytes a
 * read() filled, the struct stat of fstat() — are only known then. Guest
 * memory is read through the checked path; an unreadable argument prints as
 * its address, as strace does.
 */
#include "linux/internal.h"
#include "linux/strace.h"

#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * How each argument prints, one letter per argument:
 *   d signed int        l signed long       u unsigned          x hex
 *   p pointer (NULL)    f fd                D dirfd (AT_FDCWD)  s path string
 *   b input buffer, its length the next argument
 *   B output buffer, its length the result  o open flags        m mode (octal)
 *   P mmap prot         M mmap flags        S struct stat out   v iovec in (count next)
 *   V iovec out         g signal            w lseek whence      a access mode
 *   A AT_* flags        c clock id          t timespec in       T timespec out
 *   r arch_prctl code   i ioctl request     F fcntl command     k sigset in
 *   K sigset out        h sigprocmask how   G getrandom flags   R rlimit resource
 *   j struct rlimit in  L struct rlimit out H output buffer in hex (getrandom)
 *   U unshare flags (CLONE_*)
 *   X fcntl's third argument, by command            J ioctl's third argument, by request
 *   z argv (strings)    Z envp (its address and how many)
 *   e madvise advice    N close_range flags
 * The result prints in decimal unless hex_result (an address). Sockets,
 * polling and the calls that make descriptors are strace_net.c's, in letters
 * of its own.
 */
static const struct strace_format *format_of(uint64_t number)
{
    static const struct {
        int number;
        struct strace_format format;
    } table[] = {
        {SYS_read, {"fBu", false, false}},
        {SYS_write, {"fbu", false, false}},
        {SYS_open, {"som", false, false}},
        {SYS_close, {"f", false, false}},
        {SYS_execve, {"szZ", false, false}},
        {SYS_execveat, {"DszZd", false, false}},
        {SYS_stat, {"sS", false, false}},
        {SYS_fstat, {"fS", false, false}},
        {SYS_lstat, {"sS", false, false}},
        {SYS_lseek, {"flw", false, false}},
        {SYS_mmap, {"puPMfx", true, false}},
        {SYS_mprotect, {"puP", false, false}},
        {SYS_munmap, {"pu", false, false}},
        {SYS_brk, {"p", true, false}},
        {SYS_rt_sigprocmask, {"hkKu", false, false}},
        {SYS_pread64, {"fBul", false, false}},
        {SYS_pwrite64, {"fbul", false, false}},
        {SYS_readv, {"fVd", false, false}},
        {SYS_writev, {"fvd", false, false}},
        {SYS_access, {"sa", false, false}},
        {SYS_sched_yield, {"", false, false}},
        {SYS_dup, {"f", false, false}},
        {SYS_dup2, {"ff", false, false}},
        {SYS_nanosleep, {"tp", false, false}},
        {SYS_getpid, {"", false, false}},
        {SYS_exit, {"d", false, true}},
        {SYS_kill, {"dg", false, false}},
        {SYS_fcntl, {"fFX", false, false}},
        {SYS_fsync, {"f", false, false}},
        {SYS_ftruncate, {"fl", false, false}},
        {SYS_chdir, {"s", false, false}},
        {SYS_chroot, {"s", false, false}},
        {SYS_unshare, {"U", false, false}},
        {SYS_fchdir, {"f", false, false}},
        {SYS_rename, {"ss", false, false}},
        {SYS_mkdir, {"sm", false, false}},
        {SYS_rmdir, {"s", false, false}},
        {SYS_unlink, {"s", false, false}},
        {SYS_readlink, {"sBu", false, false}},
        {SYS_chmod, {"sm", false, false}},
        {SYS_umask, {"m", false, false}},
        {SYS_getuid, {"", false, false}},
        {SYS_getgid, {"", false, false}},
        {SYS_geteuid, {"", false, false}},
        {SYS_getegid, {"", false, false}},
        {SYS_getppid, {"", false, false}},
        {SYS_arch_prctl, {"rx", false, false}},
        {SYS_gettid, {"", false, false}},
        {SYS_tkill, {"dg", false, false}},
        {SYS_time, {"p", false, false}},
        {SYS_set_tid_address, {"p", false, false}},
        {SYS_clock_gettime, {"cT", false, false}},
        {SYS_clock_nanosleep, {"cdtp", false, false}},
        {SYS_exit_group, {"d", false, true}},
        {SYS_tgkill, {"ddg", false, false}},
        {SYS_openat, {"Dsom", false, false}},
        {SYS_mkdirat, {"Dsm", false, false}},
        {SYS_newfstatat, {"DsSA", false, false}},
        {SYS_unlinkat, {"DsA", false, false}},
        {SYS_renameat, {"DsDs", false, false}},
        {SYS_readlinkat, {"DsBu", false, false}},
        {SYS_faccessat, {"Dsa", false, false}},
        {SYS_faccessat2, {"DsaA", false, false}},
        {SYS_set_robust_list, {"pu", false, false}},
        {SYS_prlimit64, {"dRjL", false, false}},
        {SYS_getrlimit, {"RL", false, false}},
        {SYS_setrlimit, {"Rj", false, false}},
        {SYS_getrandom, {"HuG", false, false}},
        {SYS_rseq, {"pxdx", false, false}},
        {SYS_ioctl, {"fiJ", false, false}},
        {SYS_getpgrp, {"", false, false}},
        {SYS_setsid, {"", false, false}},
        {SYS_getpgid, {"d", false, false}},
        {SYS_getsid, {"d", false, false}},
        {SYS_setpgid, {"dd", false, false}},
        {SYS_sync, {"", false, false}},
        {SYS_syncfs, {"f", false, false}},
        {SYS_fdatasync, {"f", false, false}},
        {SYS_truncate, {"sl", false, false}},
        {SYS_link, {"ss", false, false}},
        {SYS_symlink, {"ss", false, false}},
        {SYS_linkat, {"DsDsA", false, false}},
        {SYS_symlinkat, {"sDs", false, false}},
        {SYS_fchmod, {"fm", false, false}},
        {SYS_fchmodat, {"Dsm", false, false}},
        {SYS_chown, {"sdd", false, false}},
        {SYS_lchown, {"sdd", false, false}},
        {SYS_fchown, {"fdd", false, false}},
        {SYS_fchownat, {"DsddA", false, false}},
        {SYS_setuid, {"d", false, false}},
        {SYS_setgid, {"d", false, false}},
        {SYS_madvise, {"pue", false, false}},
        {SYS_clock_getres, {"cT", false, false}},
        {SYS_mremap, {"puuxp", true, false}},
        {SYS_sigaltstack, {"pp", false, false}},
        {SYS_rt_sigaction, {"gQqu", false, false}},
        {SYS_alarm, {"u", false, false}},
        {SYS_setitimer, {"EYy", false, false}},
        {SYS_getitimer, {"Ey", false, false}},
        {SYS_pause, {"", false, false}},
        {SYS_rt_sigqueueinfo, {"dgI", false, false}},
        {SYS_pidfd_open, {"du", false, false}},
        {SYS_pidfd_send_signal, {"fgpu", false, false}},
        {SYS_wait4, {"dWOp", false, false}},
        {SYS_clone, {"C", false, false}},
        {SYS_fork, {"", false, false}},
        {SYS_vfork, {"", false, false}},
        {SYS_close_range, {"uuN", false, false}},
        {SYS_rt_sigsuspend, {"ku", false, false}},
        {SYS_timer_delete, {"d", false, false}},
        {SYS_timer_getoverrun, {"d", false, false}},
        {SYS_rt_sigreturn, {"", false, false}},
        {SYS_getrusage, {"dp", false, false}},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
        if ((uint64_t)table[i].number == number)
            return &table[i].format;
    }
    return NULL;
}

/* ---- pieces ------------------------------------------------------------------ */

void strace_put_string_bytes(GString *out, const uint8_t *bytes, size_t length, bool cut, bool hex)
{
    g_string_append_c(out, '"');
    for (size_t i = 0; i < length; i++) {
        if (hex) {
            g_string_append_printf(out, "\\x%02x", bytes[i]);
            continue;
        }
        uint8_t c = bytes[i];
        switch (c) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        case '\v':
            g_string_append(out, "\\v");
            break;
        default:
            if (c >= ' ' && c < 0x7f)
                g_string_append_c(out, (char)c);
            else if (i + 1 < length && bytes[i + 1] >= '0' && bytes[i + 1] <= '7')
                g_string_append_printf(out, "\\%03o", c);
            else
                g_string_append_printf(out, "\\%o", c);
        }
    }
    g_string_append_c(out, '"');
    if (cut)
        g_string_append(out, "...");
}

void strace_put_pointer(GString *out, uint64_t address)
{
    if (address == 0)
        g_string_append(out, "NULL");
    else
        g_string_append_printf(out, "0x%" G_GINT64_MODIFIER "x", address);
}

bool strace_copy_in(struct linux_process *process, GString *out, uint64_t address, void *into,
                    size_t size)
{
    if (address == 0 || linux_copy_in(process, address, into, size) != 0) {
        strace_put_pointer(out, address);
        return false;
    }
    return true;
}

/* A buffer of length bytes at address, cut at STRACE_STRING_LIMIT. */
void strace_put_buffer(struct linux_process *process, GString *out, uint64_t address,
                       uint64_t length, bool hex)
{
    uint8_t bytes[STRACE_STRING_LIMIT];
    size_t shown = length < STRACE_STRING_LIMIT ? (size_t)length : STRACE_STRING_LIMIT;
    if (linux_copy_in(process, address, bytes, shown) != 0) {
        strace_put_pointer(out, address);
        return;
    }
    strace_put_string_bytes(out, bytes, shown, length > shown, hex);
}

/* A path: strace prints it whole (up to PATH_MAX), not cut like a buffer. */
static void put_path(struct linux_process *process, GString *out, uint64_t address)
{
    char path[LINUX_PATH_MAX];
    if (address == 0) {
        g_string_append(out, "NULL");
        return;
    }
    if (linux_read_path(process, address, path, true) != 0) {
        strace_put_pointer(out, address);
        return;
    }
    strace_put_string_bytes(out, (const uint8_t *)path, strlen(path), false, false);
}

void strace_put_c_string(struct linux_process *process, GString *out, uint64_t address)
{
    char chunk[STRACE_STRING_LIMIT + 1];
    if (address == 0) {
        g_string_append(out, "NULL");
        return;
    }
    long length =
        guest_read_string(process->memory, address, chunk, sizeof(chunk), GUEST_ACCESS_USER_READ);
    if (length >= 0)
        strace_put_string_bytes(out, (const uint8_t *)chunk, (size_t)length, false, false);
    else if (length == -EFAULT)
        strace_put_pointer(out, address);
    else if (linux_copy_in(process, address, chunk, STRACE_STRING_LIMIT) == 0)
        strace_put_string_bytes(out, (const uint8_t *)chunk, STRACE_STRING_LIMIT, true, false);
    else
        strace_put_pointer(out, address);
}

/* An argv as strace shows it: ["a", "b"], strings cut as any string. */
static void put_string_array(struct linux_process *process, GString *out, uint64_t address)
{
    g_string_append_c(out, '[');
    for (int i = 0; i < STRACE_ARRAY_LIMIT; i++) {
        uint64_t entry;
        if (linux_copy_in(process, address + (uint64_t)i * 8, &entry, sizeof(entry)) != 0) {
            g_string_append(out, i ? ", ..." : "...");
            break;
        }
        if (!entry)
            break;
        if (i)
            g_string_append(out, ", ");
        strace_put_c_string(process, out, entry);
    }
    g_string_append_c(out, ']');
}

/* An envp as strace shows it: its address and "/ * N vars * /". */
static void put_environment(struct linux_process *process, GString *out, uint64_t address)
{
    int count = 0;
    uint64_t entry = 1;
    while (count < 1000000 &&
           linux_copy_in(process, address + (uint64_t)count * 8, &entry, sizeof(entry)) == 0 &&
           entry)
        count++;
    strace_put_pointer(out, address);
    g_string_append_printf(out, " /* %d var%s */", count, count == 1 ? "" : "s");
}

/* Named bits of value joined with '|', what remains in hex; zero as zero_name. */
void strace_put_flags(GString *out, uint64_t value, const struct strace_flag *flags, size_t count,
                      const char *zero_name)
{
    if (value == 0) {
        g_string_append(out, zero_name);
        return;
    }
    bool first = true;
    for (size_t i = 0; i < count; i++) {
        if (flags[i].value && (value & flags[i].value) == flags[i].value) {
            g_string_append_printf(out, "%s%s", first ? "" : "|", flags[i].name);
            value &= ~flags[i].value;
            first = false;
        }
    }
    if (value)
        g_string_append_printf(out, "%s%#" G_GINT64_MODIFIER "x", first ? "" : "|", value);
}

/* Flags as strace's printflags: names, then what is left in hex; only a
 * number with the default's comment when no name matched. */
void strace_put_flag_set(GString *out, uint64_t value, const struct strace_flag *names,
                         size_t count, const char *unknown)
{
    if (value == 0) {
        g_string_append_c(out, '0');
        return;
    }
    GString *named = g_string_new(NULL);
    uint64_t left = value;
    for (size_t i = 0; i < count; i++) {
        if (names[i].value && (left & names[i].value) == names[i].value) {
            g_string_append_printf(named, "%s%s", named->len ? "|" : "", names[i].name);
            left &= ~names[i].value;
        }
    }
    if (!named->len)
        g_string_append_printf(out, "%#" G_GINT64_MODIFIER "x /* %s */", value, unknown);
    else if (left)
        g_string_append_printf(out, "%s|%#" G_GINT64_MODIFIER "x", named->str, left);
    else
        g_string_append(out, named->str);
    g_string_free(named, TRUE);
}

static void put_open_flags(GString *out, uint64_t flags)
{
    /* strace's order: O_SYNC before its O_DSYNC bit, O_TMPFILE before its
     * O_DIRECTORY bit, O_DIRECTORY after O_PATH. */
    static const struct strace_flag names[] = {
        FLAG(O_CREAT),
        FLAG(O_EXCL),
        FLAG(O_NOCTTY),
        FLAG(O_TRUNC),
        FLAG(O_APPEND),
        FLAG(O_NONBLOCK),
        FLAG(O_SYNC),
        FLAG(O_DSYNC),
        FLAG(O_DIRECT),
        /* 0 in a 64-bit program's headers, yet the bit musl sets. */
        {0100000, "O_LARGEFILE"},
        FLAG(O_NOFOLLOW),
        FLAG(O_NOATIME),
        FLAG(O_CLOEXEC),
        FLAG(O_PATH),
        FLAG(O_TMPFILE),
        {020000000, "__O_TMPFILE"},
        FLAG(O_DIRECTORY),
        {020000, "FASYNC"},
    };
    static const char *const access_modes[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "0x3"};
    g_string_append(out, access_modes[flags & O_ACCMODE]);
    uint64_t rest = flags & ~(uint64_t)O_ACCMODE;
    if (rest) {
        g_string_append_c(out, '|');
        strace_put_flags(out, rest, names, G_N_ELEMENTS(names), "0");
    }
}

static void put_prot(GString *out, uint64_t prot)
{
    static const struct strace_flag names[] = {FLAG(PROT_READ),      FLAG(PROT_WRITE),
                                               FLAG(PROT_EXEC),      {0x8, "PROT_SEM"},
                                               FLAG(PROT_GROWSDOWN), FLAG(PROT_GROWSUP)};
    strace_put_flags(out, prot, names, G_N_ELEMENTS(names), "PROT_NONE");
}

static void put_map_flags(GString *out, uint64_t flags)
{
    static const struct strace_flag names[] = {
        FLAG(MAP_FIXED),     FLAG(MAP_ANONYMOUS),       FLAG(MAP_32BIT),  FLAG(MAP_GROWSDOWN),
        FLAG(MAP_DENYWRITE), FLAG(MAP_EXECUTABLE),      FLAG(MAP_LOCKED), FLAG(MAP_NORESERVE),
        FLAG(MAP_POPULATE),  FLAG(MAP_NONBLOCK),        FLAG(MAP_STACK),  FLAG(MAP_HUGETLB),
        FLAG(MAP_SYNC),      FLAG(MAP_FIXED_NOREPLACE),
    };
    static const char *const types[] = {"0", "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE"};
    g_string_append(out, types[flags & 3]);
    uint64_t rest = flags & ~3ULL;
    if (rest) {
        g_string_append_c(out, '|');
        strace_put_flags(out, rest, names, G_N_ELEMENTS(names), "0");
    }
}

static void put_at_flags(GString *out, uint64_t flags)
{
    static const struct strace_flag names[] = {
        FLAG(AT_SYMLINK_NOFOLLOW), FLAG(AT_REMOVEDIR),  FLAG(AT_SYMLINK_FOLLOW),
        FLAG(AT_NO_AUTOMOUNT),     FLAG(AT_EMPTY_PATH), FLAG(AT_EACCESS),
    };
    strace_put_flags(out, flags, names, G_N_ELEMENTS(names), "0");
}

static void put_access_mode(GString *out, uint64_t mode)
{
    static const struct strace_flag names[] = {FLAG(R_OK), FLAG(W_OK), FLAG(X_OK)};
    strace_put_flags(out, mode, names, G_N_ELEMENTS(names), "F_OK");
}

static void put_mode(GString *out, uint64_t mode)
{
    g_string_append_printf(out, "%#03" G_GINT64_MODIFIER "o", mode);
}

static void put_fd(GString *out, uint64_t fd, bool dirfd)
{
    if (dirfd && (int32_t)fd == AT_FDCWD)
        g_string_append(out, "AT_FDCWD");
    else
        g_string_append_printf(out, "%d", (int32_t)fd);
}

static void put_signal(GString *out, uint64_t number)
{
    /* strace names the real-time signals by the kernel's numbering. */
    if (number == 32) {
        g_string_append(out, "SIGRTMIN");
        return;
    }
    if (number > 32 && number <= LINUX_NSIG) {
        g_string_append_printf(out, "SIGRT_%d", (int)number - 32);
        return;
    }
    /* glibc calls 29 POLL; strace, as the kernel's headers list it first, IO. */
    const char *abbrev = number == SIGIO             ? "IO"
                         : number > 0 && number < 32 ? sigabbrev_np((int)number)
                                                     : NULL;
    if (abbrev)
        g_string_append_printf(out, "SIG%s", abbrev);
    else
        g_string_append_printf(out, "%d", (int)number);
}

/* A signal set as strace prints it: [USR1 RT_3], or ~[...] when most are in. */
static void put_sigset_value(GString *out, uint64_t set)
{
    bool inverted = __builtin_popcountll(set) > 32;
    g_string_append(out, inverted ? "~[" : "[");
    bool first = true;
    for (int signal = 1; signal <= LINUX_NSIG; signal++) {
        bool member = (set >> (signal - 1)) & 1;
        if (member == inverted)
            continue;
        if (!first)
            g_string_append_c(out, ' ');
        first = false;
        GString *name = g_string_new(NULL);
        put_signal(name, (uint64_t)signal);
        /* Without the "SIG": USR1, RTMIN, RT_3. */
        g_string_append(out, g_str_has_prefix(name->str, "SIG") ? name->str + 3 : name->str);
        g_string_free(name, TRUE);
    }
    g_string_append_c(out, ']');
}

void strace_put_sigset(struct linux_process *process, GString *out, uint64_t address)
{
    uint64_t set;
    if (!strace_copy_in(process, out, address, &set, sizeof(set)))
        return;
    put_sigset_value(out, set);
}

/* struct sigaction as the kernel takes it (rt_sigaction). */
static void put_sigaction(struct linux_process *process, GString *out, uint64_t address)
{
    static const struct strace_flag flags[] = {
        {0x1, "SA_NOCLDSTOP"},       {0x2, "SA_NOCLDWAIT"},        {0x4, "SA_SIGINFO"},
        {0x04000000, "SA_RESTORER"}, {0x08000000, "SA_ONSTACK"},   {0x10000000, "SA_RESTART"},
        {0x40000000, "SA_NODEFER"},  {0x80000000, "SA_RESETHAND"},
    };
    struct linux_kernel_sigaction action;
    if (!strace_copy_in(process, out, address, &action, sizeof(action)))
        return;
    g_string_append(out, "{sa_handler=");
    if (action.handler == 0)
        g_string_append(out, "SIG_DFL");
    else if (action.handler == 1)
        g_string_append(out, "SIG_IGN");
    else
        strace_put_pointer(out, action.handler);
    g_string_append(out, ", sa_mask=");
    put_sigset_value(out, action.mask);
    g_string_append(out, ", sa_flags=");
    strace_put_flags(out, action.flags, flags, G_N_ELEMENTS(flags), "0");
    if (action.flags & 0x04000000) {
        g_string_append(out, ", sa_restorer=");
        strace_put_pointer(out, action.restorer);
    }
    g_string_append_c(out, '}');
}

static void put_itimerval(struct linux_process *process, GString *out, uint64_t address)
{
    struct itimerval value;
    if (!strace_copy_in(process, out, address, &value, sizeof(value)))
        return;
    g_string_append_printf(out,
                           "{it_interval={tv_sec=%lld, tv_usec=%lld}, "
                           "it_value={tv_sec=%lld, tv_usec=%lld}}",
                           (long long)value.it_interval.tv_sec,
                           (long long)value.it_interval.tv_usec, (long long)value.it_value.tv_sec,
                           (long long)value.it_value.tv_usec);
}

/* A wait status as strace decodes it: [{WIFEXITED(s) && WEXITSTATUS(s) == 3}]. */
static void put_wait_status(struct linux_process *process, GString *out, uint64_t address,
                            long result)
{
    int status;
    if (address == 0 || result <= 0 || linux_copy_in(process, address, &status, sizeof(status))) {
        strace_put_pointer(out, address);
        return;
    }
    g_string_append(out, "[{");
    if (WIFEXITED(status)) {
        g_string_append_printf(out, "WIFEXITED(s) && WEXITSTATUS(s) == %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        g_string_append(out, "WIFSIGNALED(s) && WTERMSIG(s) == ");
        put_signal(out, (uint64_t)WTERMSIG(status));
        if (WCOREDUMP(status))
            g_string_append(out, " && WCOREDUMP(s)");
    } else if (WIFSTOPPED(status)) {
        g_string_append(out, "WIFSTOPPED(s) && WSTOPSIG(s) == ");
        put_signal(out, (uint64_t)WSTOPSIG(status));
    } else {
        g_string_append(out, "WIFCONTINUED(s)");
    }
    g_string_append(out, "}]");
}

static void put_wait_options(GString *out, uint64_t options)
{
    static const struct strace_flag flags[] = {
        {1, "WNOHANG"},         {2, "WSTOPPED"},          {4, "WEXITED"},
        {8, "WCONTINUED"},      {0x01000000, "WNOWAIT"},  {0x20000000, "__WNOTHREAD"},
        {0x40000000, "__WALL"}, {0x80000000, "__WCLONE"},
    };
    /* WUNTRACED is WSTOPPED's other name; strace prints it so for wait4. */
    if (options & 2) {
        g_string_append(out, "WUNTRACED");
        options &= ~2ULL;
        if (options)
            g_string_append_c(out, '|');
        else
            return;
    }
    strace_put_flags(out, options, flags, G_N_ELEMENTS(flags), "0");
}

/* clone's arguments by name, as strace shows them (x86-64 order: flags,
 * stack, parent_tid, child_tid, tls). */
static const struct strace_flag clone_flags[] = {
    {0x80, "CLONE_NEWTIME"}, /* unshare's and clone3's (clone's low byte is the signal) */
    {0x100, "CLONE_VM"},
    {0x200, "CLONE_FS"},
    {0x400, "CLONE_FILES"},
    {0x800, "CLONE_SIGHAND"},
    {0x1000, "CLONE_PIDFD"},
    {0x2000, "CLONE_PTRACE"},
    {0x4000, "CLONE_VFORK"},
    {0x8000, "CLONE_PARENT"},
    {0x10000, "CLONE_THREAD"},
    {0x20000, "CLONE_NEWNS"},
    {0x40000, "CLONE_SYSVSEM"},
    {0x80000, "CLONE_SETTLS"},
    {0x100000, "CLONE_PARENT_SETTID"},
    {0x200000, "CLONE_CHILD_CLEARTID"},
    {0x400000, "CLONE_DETACHED"},
    {0x800000, "CLONE_UNTRACED"},
    {0x1000000, "CLONE_CHILD_SETTID"},
    {0x2000000, "CLONE_NEWCGROUP"},
    {0x4000000, "CLONE_NEWUTS"},
    {0x8000000, "CLONE_NEWIPC"},
    {0x10000000, "CLONE_NEWUSER"},
    {0x20000000, "CLONE_NEWPID"},
    {0x40000000, "CLONE_NEWNET"},
    {0x80000000, "CLONE_IO"},
    /* clone3's only (its exit signal has a field of its own). */
    {0x100000000ULL, "CLONE_CLEAR_SIGHAND"},
    {0x200000000ULL, "CLONE_INTO_CGROUP"},
};

static void put_clone(GString *out, const uint64_t *args)
{
    uint64_t value = args[0];
    g_string_append(out, "child_stack=");
    strace_put_pointer(out, args[1]);
    g_string_append(out, ", flags=");
    uint64_t exit_signal = value & 0xff;
    if (value & ~0xffULL) {
        strace_put_flags(out, value & ~0xffULL, clone_flags, G_N_ELEMENTS(clone_flags), "0");
        if (exit_signal)
            g_string_append_c(out, '|');
    }
    if (exit_signal)
        put_signal(out, exit_signal);
    else if (!(value & ~0xffULL))
        g_string_append_c(out, '0');
    if (value & (0x100000 | 0x1000)) {
        g_string_append(out, ", parent_tid=");
        strace_put_pointer(out, args[2]);
    }
    if (value & (0x200000 | 0x1000000)) {
        g_string_append(out, ", child_tidptr=");
        strace_put_pointer(out, args[3]);
    }
    if (value & 0x80000) {
        g_string_append(out, ", tls=");
        strace_put_pointer(out, args[4]);
    }
}

/* struct clone_args as far as tls (what the kernel requires), read at the
 * return (the kernel only writes pidfd and parent_tid, shown after "=>"). */
struct guest_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;
};

void strace_put_clone3(struct linux_process *process, GString *out, const uint64_t *args,
                       long result)
{
    struct guest_clone_args clone = {0};
    uint64_t size = args[1];
    size_t fetch = size < sizeof(clone) ? (size_t)size : sizeof(clone);
    if (fetch < offsetof(struct guest_clone_args, set_tid) ||
        linux_copy_in(process, args[0], &clone, fetch) != 0) {
        strace_put_pointer(out, args[0]);
        g_string_append_printf(out, ", %" G_GUINT64_FORMAT, size);
        return;
    }
    g_string_append(out, "{flags=");
    strace_put_flag_set(out, clone.flags, clone_flags, G_N_ELEMENTS(clone_flags), "CLONE_???");
    if (clone.flags & 0x1000)
        g_string_append_printf(out, ", pidfd=%#" G_GINT64_MODIFIER "x", clone.pidfd);
    if (clone.flags & (0x200000 | 0x1000000))
        g_string_append_printf(out, ", child_tid=%#" G_GINT64_MODIFIER "x", clone.child_tid);
    if (clone.flags & 0x100000)
        g_string_append_printf(out, ", parent_tid=%#" G_GINT64_MODIFIER "x", clone.parent_tid);
    g_string_append(out, ", exit_signal=");
    if (clone.exit_signal < INT32_MAX)
        put_signal(out, clone.exit_signal);
    else
        g_string_append_printf(out, "%" G_GUINT64_FORMAT, clone.exit_signal);
    g_string_append_printf(out,
                           ", stack=%#" G_GINT64_MODIFIER "x, stack_size=%#" G_GINT64_MODIFIER "x",
                           clone.stack, clone.stack_size);
    if (clone.flags & 0x80000)
        g_string_append_printf(out, ", tls=%#" G_GINT64_MODIFIER "x", clone.tls);
    if (clone.set_tid || clone.set_tid_size)
        g_string_append_printf(
            out, ", set_tid=%#" G_GINT64_MODIFIER "x, set_tid_size=%" G_GUINT64_FORMAT,
            clone.set_tid, clone.set_tid_size);
    if (fetch > offsetof(struct guest_clone_args, cgroup) &&
        (clone.cgroup || clone.flags & 0x200000000ULL))
        g_string_append_printf(out, ", cgroup=%" G_GUINT64_FORMAT, clone.cgroup);
    g_string_append_c(out, '}');
    /* What the kernel wrote back: the pidfd and the parent's copy of the tid. */
    if (result > 0 && (clone.flags & (0x1000 | 0x100000))) {
        const char *separator = " => {";
        int32_t number;
        if ((clone.flags & 0x1000) && linux_copy_in(process, clone.pidfd, &number, 4) == 0) {
            g_string_append_printf(out, "%spidfd=[%d]", separator, number);
            separator = ", ";
        }
        if ((clone.flags & 0x100000) && linux_copy_in(process, clone.parent_tid, &number, 4) == 0) {
            g_string_append_printf(out, "%sparent_tid=[%d]", separator, number);
            separator = ", ";
        }
        if (strcmp(separator, ", ") == 0)
            g_string_append_c(out, '}');
    }
    g_string_append_printf(out, ", %" G_GUINT64_FORMAT, size);
}

void strace_put_timespec(struct linux_process *process, GString *out, uint64_t address)
{
    struct timespec ts;
    if (!strace_copy_in(process, out, address, &ts, sizeof(ts)))
        return;
    g_string_append_printf(out, "{tv_sec=%lld, tv_nsec=%ld}", (long long)ts.tv_sec, ts.tv_nsec);
}

void strace_put_itimerspec(struct linux_process *process, GString *out, uint64_t address)
{
    int64_t value[4];
    if (strace_copy_in(process, out, address, value, sizeof(value)))
        g_string_append_printf(out,
                               "{it_interval={tv_sec=%" G_GINT64_FORMAT
                               ", tv_nsec=%" G_GINT64_FORMAT "}, it_value={tv_sec=%" G_GINT64_FORMAT
                               ", tv_nsec=%" G_GINT64_FORMAT "}}",
                               value[0], value[1], value[2], value[3]);
}

static void put_rlimit_value(GString *out, uint64_t value)
{
    if (value == UINT64_MAX)
        g_string_append(out, "RLIM64_INFINITY");
    else if (value && value % 1024 == 0)
        g_string_append_printf(out, "%" G_GUINT64_FORMAT "*1024", value / 1024);
    else
        g_string_append_printf(out, "%" G_GUINT64_FORMAT, value);
}

static void put_rlimit(struct linux_process *process, GString *out, uint64_t address)
{
    uint64_t limit[2];
    if (!strace_copy_in(process, out, address, limit, sizeof(limit)))
        return;
    g_string_append(out, "{rlim_cur=");
    put_rlimit_value(out, limit[0]);
    g_string_append(out, ", rlim_max=");
    put_rlimit_value(out, limit[1]);
    g_string_append_c(out, '}');
}

void strace_put_file_mode(GString *out, uint64_t mode)
{
    static const struct strace_flag types[] = {
        {S_IFREG, "S_IFREG"}, {S_IFDIR, "S_IFDIR"}, {S_IFCHR, "S_IFCHR"},   {S_IFBLK, "S_IFBLK"},
        {S_IFIFO, "S_IFIFO"}, {S_IFLNK, "S_IFLNK"}, {S_IFSOCK, "S_IFSOCK"},
    };
    static const struct strace_flag special[] = {FLAG(S_ISUID), FLAG(S_ISGID), FLAG(S_ISVTX)};
    const char *type = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        if ((mode & S_IFMT) == types[i].value)
            type = types[i].name;
    }
    if (type) {
        g_string_append_printf(out, "%s|", type);
    } else if (mode & S_IFMT) {
        /* A type strace has no name for: the whole mode in octal. */
        g_string_append_printf(out, "%#03" G_GINT64_MODIFIER "o", mode);
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(special); i++) {
        if (mode & special[i].value)
            g_string_append_printf(out, "%s|", special[i].name);
    }
    /* strace's "%#03o": 000, 0644. */
    g_string_append_printf(out, "%#03" G_GINT64_MODIFIER "o", mode & 0777);
}

static void put_stat(struct linux_process *process, GString *out, uint64_t address)
{
    struct stat st;
    if (linux_copy_in(process, address, &st, sizeof(st)) != 0) {
        strace_put_pointer(out, address);
        return;
    }
    g_string_append(out, "{st_mode=");
    strace_put_file_mode(out, st.st_mode);
    g_string_append(out, ", ");
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        g_string_append_printf(out, "st_rdev=makedev(%#x, %#x), ...}", major(st.st_rdev),
                               minor(st.st_rdev));
    else
        g_string_append_printf(out, "st_size=%lld, ...}", (long long)st.st_size);
}

void strace_put_iovec(struct linux_process *process, GString *out, uint64_t address, uint64_t count,
                      long result, bool output)
{
    strace_put_iovec_with(process, out, address, count, result, output, NULL, NULL);
}

void strace_put_iovec_with(struct linux_process *process, GString *out, uint64_t address,
                           uint64_t count, long result, bool output, strace_data_printer put_data,
                           void *context)
{
    if (count > STRACE_ARRAY_LIMIT) {
        strace_put_pointer(out, address);
        return;
    }
    g_string_append_c(out, '[');
    /* Output vectors show what the call filled: result bytes in all. */
    uint64_t left = output ? (result > 0 ? (uint64_t)result : 0) : UINT64_MAX;
    for (uint64_t i = 0; i < count; i++) {
        struct iovec iov;
        if (linux_copy_in(process, address + i * sizeof(iov), &iov, sizeof(iov)) != 0) {
            strace_put_pointer(out, address + i * sizeof(iov));
            break;
        }
        uint64_t base = (uint64_t)(uintptr_t)iov.iov_base, length = iov.iov_len;
        g_string_append_printf(out, "%s{iov_base=", i ? ", " : "");
        uint64_t shown = length < left ? length : left;
        if ((output && result < 0) || base == 0) /* strace prints a NULL base as NULL */
            strace_put_pointer(out, base);
        else if (put_data)
            put_data(process, out, base, shown, context);
        else
            strace_put_buffer(process, out, base, shown, false);
        left -= shown;
        g_string_append_printf(out, ", iov_len=%" G_GUINT64_FORMAT "}", length);
    }
    g_string_append_c(out, ']');
}

void strace_put_value(GString *out, uint64_t value, const struct strace_flag *names, size_t count,
                      const char *unknown)
{
    for (size_t i = 0; i < count; i++) {
        if (names[i].value == value) {
            g_string_append(out, names[i].name);
            return;
        }
    }
    g_string_append_printf(out, "%#" G_GINT64_MODIFIER "x", value);
    if (unknown)
        g_string_append_printf(out, " /* %s */", unknown);
}

static void put_symbolic(GString *out, char kind, uint64_t value)
{
    static const struct strace_flag whence[] = {FLAG(SEEK_SET), FLAG(SEEK_CUR), FLAG(SEEK_END),
                                                FLAG(SEEK_DATA), FLAG(SEEK_HOLE)};
    static const struct strace_flag clocks[] = {
        FLAG(CLOCK_REALTIME),          FLAG(CLOCK_MONOTONIC),     FLAG(CLOCK_PROCESS_CPUTIME_ID),
        FLAG(CLOCK_THREAD_CPUTIME_ID), FLAG(CLOCK_MONOTONIC_RAW), FLAG(CLOCK_REALTIME_COARSE),
        FLAG(CLOCK_MONOTONIC_COARSE),  FLAG(CLOCK_BOOTTIME),
    };
    static const struct strace_flag arch_codes[] = {
        {0x1001, "ARCH_SET_GS"}, {0x1002, "ARCH_SET_FS"},    {0x1003, "ARCH_GET_FS"},
        {0x1004, "ARCH_GET_GS"}, {0x1011, "ARCH_GET_CPUID"}, {0x1012, "ARCH_SET_CPUID"},
    };
    static const struct strace_flag fcntl_commands[] = {
        FLAG(F_DUPFD),         FLAG(F_GETFD),      FLAG(F_SETFD),      FLAG(F_GETFL),
        FLAG(F_SETFL),         FLAG(F_GETLK),      FLAG(F_SETLK),      FLAG(F_SETLKW),
        FLAG(F_DUPFD_CLOEXEC), FLAG(F_SETPIPE_SZ), FLAG(F_GETPIPE_SZ), FLAG(F_ADD_SEALS),
        FLAG(F_GET_SEALS),
    };
    static const struct strace_flag ioctls[] = {
        {0x5401, "TCGETS"},     {0x5402, "TCSETS"},    {0x5413, "TIOCGWINSZ"},
        {0x5414, "TIOCSWINSZ"}, {0x540f, "TIOCGPGRP"}, {0x5410, "TIOCSPGRP"},
        {0x541b, "FIONREAD"},   {0x5421, "FIONBIO"},   {0x40049409, "BTRFS_IOC_CLONE or FICLONE"},
    };
    static const struct strace_flag hows[] = {FLAG(SIG_BLOCK), FLAG(SIG_UNBLOCK),
                                              FLAG(SIG_SETMASK)};
    static const struct strace_flag resources[] = {
        FLAG(RLIMIT_CPU),      FLAG(RLIMIT_FSIZE), FLAG(RLIMIT_DATA),   FLAG(RLIMIT_STACK),
        FLAG(RLIMIT_CORE),     FLAG(RLIMIT_RSS),   FLAG(RLIMIT_NPROC),  FLAG(RLIMIT_NOFILE),
        FLAG(RLIMIT_MEMLOCK),  FLAG(RLIMIT_AS),    FLAG(RLIMIT_LOCKS),  FLAG(RLIMIT_SIGPENDING),
        FLAG(RLIMIT_MSGQUEUE), FLAG(RLIMIT_NICE),  FLAG(RLIMIT_RTPRIO), FLAG(RLIMIT_RTTIME),
    };
    static const struct strace_flag itimers[] = {FLAG(ITIMER_REAL), FLAG(ITIMER_VIRTUAL),
                                                 FLAG(ITIMER_PROF)};
    static const struct strace_flag random_flags[] = {
        {1, "GRND_NONBLOCK"}, {2, "GRND_RANDOM"}, {4, "GRND_INSECURE"}};
    switch (kind) {
    case 'w':
        strace_put_value(out, value, whence, G_N_ELEMENTS(whence), NULL);
        break;
    case 'c':
        strace_put_value(out, (uint32_t)value, clocks, G_N_ELEMENTS(clocks), NULL);
        break;
    case 'r':
        strace_put_value(out, value, arch_codes, G_N_ELEMENTS(arch_codes), NULL);
        break;
    case 'F':
        strace_put_value(out, (uint32_t)value, fcntl_commands, G_N_ELEMENTS(fcntl_commands), NULL);
        break;
    case 'i':
        strace_put_value(out, (uint32_t)value, ioctls, G_N_ELEMENTS(ioctls), NULL);
        break;
    case 'h':
        strace_put_value(out, value, hows, G_N_ELEMENTS(hows), NULL);
        break;
    case 'R':
        strace_put_value(out, (uint32_t)value, resources, G_N_ELEMENTS(resources), NULL);
        break;
    case 'G':
        strace_put_flags(out, value, random_flags, G_N_ELEMENTS(random_flags), "0");
        break;
    case 'E':
        strace_put_value(out, (uint32_t)value, itimers, G_N_ELEMENTS(itimers), NULL);
        break;
    }
}

/* fcntl's third argument, which only some commands read. Returns false when
 * the command takes none (nothing is printed then). */
static bool put_fcntl_argument(GString *out, uint64_t command, uint64_t value)
{
    switch ((int)command) {
    case F_GETFD:
    case F_GETFL:
    case F_GETOWN:
    case F_GETSIG:
    case F_GETLEASE:
    case F_GETPIPE_SZ:
    case F_GET_SEALS:
        return false;
    case F_SETFD:
        g_string_append(out, value & FD_CLOEXEC ? "FD_CLOEXEC" : "0");
        return true;
    case F_SETFL:
        put_open_flags(out, value);
        return true;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
    case F_SETPIPE_SZ:
        g_string_append_printf(out, "%d", (int)value);
        return true;
    case F_ADD_SEALS: {
        static const struct strace_flag seals[] = {FLAG(F_SEAL_SEAL), FLAG(F_SEAL_SHRINK),
                                                   FLAG(F_SEAL_GROW), FLAG(F_SEAL_WRITE),
                                                   FLAG(F_SEAL_FUTURE_WRITE)};
        strace_put_flags(out, value, seals, G_N_ELEMENTS(seals), "0");
        return true;
    }
    default:
        g_string_append_printf(out, "%#" G_GINT64_MODIFIER "x", value);
        return true;
    }
}

/* fcntl's F_GETFD, F_GETFL and F_GET_SEALS results: in hex, with what
 * they hold named, "= 0x8000 (flags O_RDONLY|O_LARGEFILE)". False for the
 * other calls and failures. */
static bool put_fcntl_result(GString *out, const struct linux_syscall *call, long result)
{
    static const struct strace_flag seals[] = {FLAG(F_SEAL_SEAL), FLAG(F_SEAL_SHRINK),
                                               FLAG(F_SEAL_GROW), FLAG(F_SEAL_WRITE),
                                               FLAG(F_SEAL_FUTURE_WRITE)};
    int command = (int)call->args[1];
    if (call->number != SYS_fcntl || result < 0 ||
        (command != F_GETFD && command != F_GETFL && command != F_GET_SEALS))
        return false;
    g_string_append_printf(out, result ? " = %#lx" : " = 0", result);
    if (command == F_GETFL) {
        /* The access mode is named even when it is all there is. */
        g_string_append(out, " (flags ");
        put_open_flags(out, (uint64_t)result);
        g_string_append_c(out, ')');
    } else if (result && command == F_GETFD) {
        g_string_append(out, " (flags ");
        strace_put_flags(out, (uint64_t)result, &(struct strace_flag)FLAG(FD_CLOEXEC), 1, "0");
        g_string_append_c(out, ')');
    } else if (result) {
        g_string_append(out, " (seals ");
        strace_put_flags(out, (uint64_t)result, seals, G_N_ELEMENTS(seals), "0");
        g_string_append_c(out, ')');
    }
    return true;
}

/* si_code's name, as strace prints it: the codes anyone may send, then the
 * kernel's own per signal; NULL for a number it would print as such. */
static const char *signal_code_name(int signal, int code)
{
    static const char *const general[] = {"SI_USER",    "SI_QUEUE", "SI_TIMER", "SI_MESGQ",
                                          "SI_ASYNCIO", "SI_SIGIO", "SI_TKILL", "SI_DETHREAD"};
    static const char *const segv[] = {"SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR"};
    static const char *const bus[] = {"BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR"};
    static const char *const ill[] = {"ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP",
                                      "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK"};
    static const char *const fpe[] = {"FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF",
                                      "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB"};
    static const char *const trap[] = {"TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT"};
    static const char *const chld[] = {"CLD_EXITED",  "CLD_KILLED",  "CLD_DUMPED",
                                       "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"};
    if (code == 0x80)
        return "SI_KERNEL";
    if (code <= 0 && -code < (int)G_N_ELEMENTS(general))
        return general[-code];
    const char *const *names = NULL;
    size_t count = 0;
#define NAMES(table) (names = (table), count = G_N_ELEMENTS(table))
    switch (signal) {
    case SIGSEGV:
        NAMES(segv);
        break;
    case SIGBUS:
        NAMES(bus);
        break;
    case SIGILL:
        NAMES(ill);
        break;
    case SIGFPE:
        NAMES(fpe);
        break;
    case SIGTRAP:
        NAMES(trap);
        break;
    case SIGCHLD:
        NAMES(chld);
        break;
    default:
        break;
    }
#undef NAMES
    return code > 0 && (size_t)code <= count ? names[code - 1] : NULL;
}

/* The siginfo fields strace shows for each kind of sender. */
static void put_siginfo(GString *out, const struct linux_siginfo *info)
{
    g_string_append(out, "{si_signo=");
    put_signal(out, (uint64_t)info->signo);
    const char *code = signal_code_name(info->signo, info->code);
    if (code)
        g_string_append_printf(out, ", si_code=%s", code);
    else
        g_string_append_printf(out, ", si_code=%d", info->code);
    if (info->code <= 0) {
        /* Sent by a process (kill, tgkill, sigqueue) or a timer. */
        if (info->code == -2) {
            g_string_append_printf(out, ", si_timerid=%#x, si_overrun=%d", info->fields.timer.id,
                                   info->fields.timer.overrun);
        } else {
            g_string_append_printf(out, ", si_pid=%d, si_uid=%u", info->fields.kill.pid,
                                   info->fields.kill.uid);
        }
        if (info->code == -1 || info->code == -2 || info->code == -3) {
            uint64_t value = info->code == -2 ? info->fields.timer.value : info->fields.kill.value;
            g_string_append_printf(out, ", si_int=%d, si_ptr=", (int32_t)value);
            strace_put_pointer(out, value);
        }
    } else if (info->signo == SIGCHLD) {
        /* A child's report: its status is a signal unless it exited. */
        g_string_append_printf(out, ", si_pid=%d, si_uid=%u, si_status=", info->fields.child.pid,
                               info->fields.child.uid);
        if (info->code == CLD_EXITED)
            g_string_append_printf(out, "%d", info->fields.child.status);
        else
            put_signal(out, (uint64_t)info->fields.child.status);
        g_string_append_printf(out, ", si_utime=%" G_GINT64_FORMAT ", si_stime=%" G_GINT64_FORMAT,
                               info->fields.child.utime, info->fields.child.stime);
    } else if (info->signo == SIGSEGV || info->signo == SIGBUS || info->signo == SIGILL ||
               info->signo == SIGFPE || info->signo == SIGTRAP) {
        g_string_append(out, ", si_addr=");
        strace_put_pointer(out, info->fields.fault.address);
    }
    g_string_append_c(out, '}');
}

/* One argument, by its format letter. */
void strace_put_argument(struct linux_process *process, GString *out, const char *format,
                         const uint64_t *args, int index, long result)
{
    uint64_t value = args[index];
    bool failed = result < 0 && result > -4096;
    switch (format[index]) {
    case 'd':
        g_string_append_printf(out, "%d", (int32_t)value);
        break;
    case 'l':
        g_string_append_printf(out, "%" G_GINT64_FORMAT, (int64_t)value);
        break;
    case 'u':
        g_string_append_printf(out, "%" G_GUINT64_FORMAT, value);
        break;
    case 'x':
        g_string_append_printf(out, "%#" G_GINT64_MODIFIER "x", value);
        break;
    case 'f':
    case 'D':
        put_fd(out, value, format[index] == 'D');
        break;
    case 's':
        put_path(process, out, value);
        break;
    case 'z':
        put_string_array(process, out, value);
        break;
    case 'Z':
        put_environment(process, out, value);
        break;
    case 'b':
        strace_put_buffer(process, out, value, args[index + 1], false);
        break;
    case 'B':
    case 'H':
        if (failed)
            strace_put_pointer(out, value);
        else
            strace_put_buffer(process, out, value, (uint64_t)result, format[index] == 'H');
        break;
    case 'o':
        put_open_flags(out, value);
        break;
    case 'm':
        put_mode(out, value);
        break;
    case 'P':
        put_prot(out, value);
        break;
    case 'M':
        put_map_flags(out, value);
        break;
    case 'S':
    case 'T':
        if (failed)
            strace_put_pointer(out, value);
        else if (format[index] == 'S')
            put_stat(process, out, value);
        else
            strace_put_timespec(process, out, value);
        break;
    case 't':
        strace_put_timespec(process, out, value);
        break;
    case 'v':
    case 'V':
        strace_put_iovec(process, out, value, args[index + 1], result, format[index] == 'V');
        break;
    case 'g':
        put_signal(out, value);
        break;
    case 'a':
        put_access_mode(out, value);
        break;
    case 'A':
        put_at_flags(out, value);
        break;
    case 'k':
        strace_put_sigset(process, out, value);
        break;
    case 'j':
        put_rlimit(process, out, value);
        break;
    case 'L':
        if (failed)
            strace_put_pointer(out, value);
        else
            put_rlimit(process, out, value);
        break;
    case 'K':
        if (failed)
            strace_put_pointer(out, value);
        else
            strace_put_sigset(process, out, value);
        break;
    case 'Q':
    case 'q':
        if (failed && format[index] == 'q')
            strace_put_pointer(out, value);
        else
            put_sigaction(process, out, value);
        break;
    case 'I': {
        struct linux_siginfo info;
        if (linux_copy_in(process, value, &info, sizeof(info)) != 0)
            strace_put_pointer(out, value);
        else
            put_siginfo(out, &info);
        break;
    }
    case 'E':
        put_symbolic(out, 'E', value);
        break;
    case 'Y':
    case 'y':
        if (failed && format[index] == 'y')
            strace_put_pointer(out, value);
        else
            put_itimerval(process, out, value);
        break;
    case 'W':
        put_wait_status(process, out, value, result);
        break;
    case 'O':
        put_wait_options(out, value);
        break;
    case 'C':
        put_clone(out, args);
        break;
    case 'U':
        strace_put_flag_set(out, value, clone_flags, G_N_ELEMENTS(clone_flags), "CLONE_???");
        break;
    case 'N': {
        static const struct strace_flag close_range[] = {{2, "CLOSE_RANGE_UNSHARE"},
                                                         {4, "CLOSE_RANGE_CLOEXEC"}};
        strace_put_flag_set(out, (uint32_t)value, close_range, G_N_ELEMENTS(close_range),
                            "CLOSE_RANGE_???");
        break;
    }
    case 'e': {
        static const struct strace_flag advice[] = {
            {0, "MADV_NORMAL"},           {1, "MADV_RANDOM"},         {2, "MADV_SEQUENTIAL"},
            {3, "MADV_WILLNEED"},         {4, "MADV_DONTNEED"},       {8, "MADV_FREE"},
            {9, "MADV_REMOVE"},           {10, "MADV_DONTFORK"},      {11, "MADV_DOFORK"},
            {12, "MADV_MERGEABLE"},       {13, "MADV_UNMERGEABLE"},   {14, "MADV_HUGEPAGE"},
            {15, "MADV_NOHUGEPAGE"},      {16, "MADV_DONTDUMP"},      {17, "MADV_DODUMP"},
            {18, "MADV_WIPEONFORK"},      {19, "MADV_KEEPONFORK"},    {20, "MADV_COLD"},
            {21, "MADV_PAGEOUT"},         {22, "MADV_POPULATE_READ"}, {23, "MADV_POPULATE_WRITE"},
            {24, "MADV_DONTNEED_LOCKED"}, {25, "MADV_COLLAPSE"},      {100, "MADV_HWPOISON"},
            {101, "MADV_SOFT_OFFLINE"},
        };
        strace_put_value(out, (uint32_t)value, advice, G_N_ELEMENTS(advice), "MADV_???");
        break;
    }
    case 'J':
        /* ioctl's argument: FICLONE's is the source fd, the others an
         * address or a number strace shows in hex. */
        if ((uint32_t)args[1] == 0x40049409) {
            g_string_append_printf(out, "%d", (int32_t)value);
        } else if (((uint32_t)args[1] == FIONREAD || (uint32_t)args[1] == FIONBIO) &&
                   !(failed && (uint32_t)args[1] == FIONREAD)) {
            /* The int FIONREAD fills, FIONBIO reads: [29]. */
            int32_t number;
            if (strace_copy_in(process, out, value, &number, sizeof(number)))
                g_string_append_printf(out, "[%d]", number);
        } else
            g_string_append_printf(out, "%#" G_GINT64_MODIFIER "x", value);
        break;
    default:
        if (strchr("wcrFihRG", format[index]))
            put_symbolic(out, format[index], value);
        else
            strace_put_pointer(out, value);
    }
}

/* The kernel's restart codes, as strace shows a call a signal interrupted. */
static bool put_restart_code(GString *out, long result)
{
    switch (-result) {
    case LINUX_ERESTARTSYS:
        g_string_append(out, " = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
        return true;
    case LINUX_ERESTARTNOINTR:
        g_string_append(out, " = ? ERESTARTNOINTR (To be restarted)");
        return true;
    case LINUX_ERESTARTNOHAND:
        g_string_append(out, " = ? ERESTARTNOHAND (To be restarted if no handler)");
        return true;
    case LINUX_ERESTART_RESTARTBLOCK:
        g_string_append(out, " = ? ERESTART_RESTARTBLOCK (Interrupted by signal)");
        return true;
    default:
        return false;
    }
}

static void put_result(GString *out, uint64_t number, const struct strace_format *format,
                       long result)
{
    if (put_restart_code(out, result))
        return;
    if (result < 0 && result > -4096) {
        int error = (int)-result;
        const char *name = strerrorname_np(error);
        if (error == ENOSYS || !name)
            g_string_append_printf(out, " = -1 %s (%s)", name ? name : "ENOSYS",
                                   "Function not implemented");
        else
            g_string_append_printf(out, " = -1 %s (%s)", name, strerror(error));
    } else if (format && format->hex_result) {
        g_string_append_printf(out, " = %#lx", result);
    } else if (number == SYS_umask) {
        /* The old mask, in octal as strace's RVAL_OCTAL. */
        g_string_append_printf(out, " = %#03lo", result);
    } else {
        g_string_append_printf(out, " = %ld", result);
    }
}

/* ---- sockets ------------------------------------------------------------------ */

static const char *const family_names[] = {
    "AF_UNSPEC",     "AF_UNIX",      "AF_INET",     "AF_AX25",  "AF_IPX",     "AF_APPLETALK",
    "AF_NETROM",     "AF_BRIDGE",    "AF_ATMPVC",   "AF_X25",   "AF_INET6",   "AF_ROSE",
    "AF_DECnet",     "AF_NETBEUI",   "AF_SECURITY", "AF_KEY",   "AF_NETLINK", "AF_PACKET",
    "AF_ASH",        "AF_ECONET",    "AF_ATMSVC",   "AF_RDS",   "AF_SNA",     "AF_IRDA",
    "AF_PPPOX",      "AF_WANPIPE",   "AF_LLC",      "AF_IB",    "AF_MPLS",    "AF_CAN",
    "AF_TIPC",       "AF_BLUETOOTH", "AF_IUCV",     "AF_RXRPC", "AF_ISDN",    "AF_PHONET",
    "AF_IEEE802154", "AF_CAIF",      "AF_ALG",      "AF_NFC",   "AF_VSOCK",   "AF_KCM",
    "AF_QIPCRTR",    "AF_SMC",       "AF_XDP",      "AF_MCTP",
};

void strace_put_family(GString *out, uint64_t family)
{
    if (family < G_N_ELEMENTS(family_names))
        g_string_append(out, family_names[family]);
    else
        g_string_append_printf(out, "%#" G_GINT64_MODIFIER "x /* AF_??? */", family);
}

void strace_put_interface(GString *out, uint32_t index)
{
    char name[IF_NAMESIZE];
    /* The program's sockets are the host's: so are its interfaces. */
    if (index && if_indextoname(index, name))
        g_string_append_printf(out, "if_nametoindex(\"%s\")", name);
    else
        g_string_append_printf(out, "%u", index);
}

/* ---- the trace -------------------------------------------------------------- */

/* A new line, with "[pid N] " once there are several threads or processes. */
static GString *line_start(struct linux_process *process, const struct linux_thread *thread)
{
    GString *line = g_string_new(NULL);
    if (__atomic_load_n(&process->strace_prefix, __ATOMIC_RELAXED))
        g_string_append_printf(line, "[pid %5d] ", thread->tid);
    return line;
}

static void emit(struct linux_process *process, GString *line)
{
    FILE *file = process->strace_file;
    fprintf(file, "%s\n", line->str);
    fflush(file);
    g_string_free(line, TRUE);
}

void linux_strace_syscall_entry(struct linux_thread *thread, const struct linux_syscall *call)
{
    linux_strace_forget_entry(thread);
    strace_net_entry(thread, call);
    strace_fs_entry(thread, call);
}

void linux_strace_forget_entry(struct linux_thread *thread)
{
    /* Every call passes here, traced or not: free only what is there. */
    for (size_t i = 0; i < G_N_ELEMENTS(thread->strace_entry); i++) {
        if (thread->strace_entry[i]) {
            g_free(thread->strace_entry[i]);
            thread->strace_entry[i] = NULL;
        }
    }
}

static void trace_call(struct linux_thread *thread, const struct linux_syscall *call, long result,
                       bool returned)
{
    struct linux_process *process = thread->process;
    bool creates = call->number == SYS_fork || call->number == SYS_vfork ||
                   call->number == SYS_clone || call->number == SYS_clone3;
    /* A new process or thread's own return from the call is not shown
     * (strace attaches to it after the call). */
    if (creates && returned && result == 0)
        return;
    /* As strace -f: once there are two threads, lines name theirs. */
    if (creates && returned && result > 0)
        __atomic_store_n(&process->strace_prefix, true, __ATOMIC_RELAXED);
    const char *name = linux_syscall_name(call->number);
    const struct strace_format *format = format_of(call->number);
    bool net = false;
    if (!format) {
        format = strace_net_format_of(call->number);
        net = format != NULL;
    }
    GString *line = line_start(process, thread);
    if (name)
        g_string_append_printf(line, "%s(", name);
    else
        g_string_append_printf(line, "syscall_%#" G_GINT64_MODIFIER "x(", call->number);
    if (strace_fs_arguments(thread, line, call->number, call->args, result)) {
        /* Printed whole. */
    } else if (format) {
        for (int i = 0; format->args[i] && i < 6; i++) {
            if (net) {
                if (i)
                    g_string_append(line, ", ");
                strace_net_argument(thread, line, format->args, call->args, i, result);
                continue;
            }
            if (format->args[i] == 'X') {
                GString *third = g_string_new(NULL);
                if (put_fcntl_argument(third, call->args[1], call->args[2]))
                    g_string_append_printf(line, ", %s", third->str);
                g_string_free(third, TRUE);
                continue;
            }
            /* open's mode is only read (and printed) when it creates: with
             * O_CREAT or the kernel's __O_TMPFILE bit (glibc's __O_TMPFILE
             * has O_DIRECTORY's bit in it, which creates nothing). */
            if (format->args[i] == 'm' && i > 0 && format->args[i - 1] == 'o' &&
                !(call->args[i - 1] & (O_CREAT | 020000000)))
                break;
            if (i)
                g_string_append(line, ", ");
            strace_put_argument(process, line, format->args, call->args, i, result);
        }
    } else {
        /* Not decoded: the six registers, as strace prints an unknown call. */
        for (int i = 0; i < 6; i++)
            g_string_append_printf(line, "%s%#" G_GINT64_MODIFIER "x", i ? ", " : "",
                                   call->args[i]);
    }
    /* rt_sigreturn shows the mask it restored. */
    if (call->number == SYS_rt_sigreturn) {
        g_string_append(line, "{mask=");
        put_sigset_value(line, thread->signal_mask);
        g_string_append_c(line, '}');
    }
    g_string_append_c(line, ')');
    /* strace lines the results up at column 40. */
    if (line->len < 39)
        g_string_append_printf(line, "%*s", (int)(39 - line->len), "");
    if (!returned || (format && format->no_return))
        g_string_append(line, " = ?");
    else if (!put_fcntl_result(line, call, result) &&
             !strace_fs_result(line, call->number, call->args, result))
        put_result(line, call->number, format, result);
    if (net && returned)
        strace_net_result_note(thread, line, call->number, call->args, result);
    emit(process, line);
}

void linux_strace_syscall(struct linux_thread *thread, const struct linux_syscall *call,
                          long result, bool returned)
{
    if (thread->process->strace_file)
        trace_call(thread, call, result, returned);
    linux_strace_forget_entry(thread);
}

void linux_strace_signal(struct linux_thread *thread, const struct linux_siginfo *info)
{
    struct linux_process *process = thread->process;
    if (!process->strace_file)
        return;
    GString *line = line_start(process, thread);
    g_string_append(line, "--- ");
    put_signal(line, (uint64_t)info->signo);
    g_string_append_c(line, ' ');
    put_siginfo(line, info);
    g_string_append(line, " ---");
    emit(process, line);
}

void linux_strace_end(struct linux_process *process, int status, int signal)
{
    linux_strace_thread_end(process->main_thread, status, signal);
}

void linux_strace_thread_end(struct linux_thread *thread, int status, int signal)
{
    struct linux_process *process = thread->process;
    if (!process->strace_file)
        return;
    GString *line = line_start(process, thread);
    if (signal) {
        g_string_append(line, "+++ killed by ");
        put_signal(line, (uint64_t)signal);
        g_string_append(line, " +++");
    } else {
        g_string_append_printf(line, "+++ exited with %d +++", status);
    }
    emit(process, line);
}

void linux_set_strace(struct linux_process *process, FILE *file)
{
    process->strace_file = file;
}
