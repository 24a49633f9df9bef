/*
 * linux/strace_fs.c — `--strace` for the calls strace decodes whole rather
 * than argument by argument: futex (which arguments it shows depends on the
 * operation), directory reads (a count of the entries), statx, statfs,
 * extended attributes, uname, sysinfo, groups, CPU affinity and a few file
 * calls, as strace 6.1 prints them without -v.
 *
 * Each decoder prints the whole argument list at the call's return; guest
 * memory is read through the checked path only, and what cannot be read
 * prints as its address, as strace does.
 */
#include "linux/strace.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NAMES(table) (table), G_N_ELEMENTS(table)

/* One argument by strace.c's letter for it (s path, f fd, D dirfd, A AT_*
 * flags, m mode, t timespec in, b buffer with the next argument its length). */
static void put_as(struct linux_process *process, GString *out, char letter, const uint64_t *args,
                   int index, long result)
{
    char format[7] = "______";
    format[index] = letter;
    strace_put_argument(process, out, format, args, index, result);
}

static bool failed(long result)
{
    return result < 0 && result > -4096;
}

/* ---- futex ------------------------------------------------------------------ */

/* futex's op, as strace's futexops table names it: the operations, their
 * _PRIVATE forms, and the few it lists with FUTEX_CLOCK_REALTIME. */
static void put_futex_op(GString *out, uint32_t op)
{
    static const char *const commands[] = {
        "FUTEX_WAIT",           "FUTEX_WAKE",        "FUTEX_FD",          "FUTEX_REQUEUE",
        "FUTEX_CMP_REQUEUE",    "FUTEX_WAKE_OP",     "FUTEX_LOCK_PI",     "FUTEX_UNLOCK_PI",
        "FUTEX_TRYLOCK_PI",     "FUTEX_WAIT_BITSET", "FUTEX_WAKE_BITSET", "FUTEX_WAIT_REQUEUE_PI",
        "FUTEX_CMP_REQUEUE_PI", "FUTEX_LOCK_PI2",
    };
    uint32_t command = op & ~(uint32_t)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    bool private = op & FUTEX_PRIVATE_FLAG, realtime = op & FUTEX_CLOCK_REALTIME;
    /* Only the waits are listed with the clock flag. */
    bool listed = command < G_N_ELEMENTS(commands) &&
                  (!realtime || command == FUTEX_WAIT || command == FUTEX_WAIT_BITSET ||
                   command == FUTEX_WAIT_REQUEUE_PI);
    if (!listed) {
        g_string_append_printf(out, "%#x /* FUTEX_??? */", op);
        return;
    }
    g_string_append(out, commands[command]);
    /* strace's table spells FUTEX_FD's private form with the flag's name. */
    if (private)
        g_string_append(out, command == FUTEX_FD ? "|FUTEX_PRIVATE_FLAG" : "_PRIVATE");
    if (realtime)
        g_string_append(out, "|FUTEX_CLOCK_REALTIME");
}

static void put_bitset(GString *out, uint32_t bitset)
{
    if (bitset == FUTEX_BITSET_MATCH_ANY)
        g_string_append(out, "FUTEX_BITSET_MATCH_ANY");
    else
        g_string_append_printf(out, bitset ? "%#x" : "0", bitset);
}

/* FUTEX_WAKE_OP's encoded operation: FUTEX_OP_ADD<<28|0x1<<12|FUTEX_OP_CMP_GT<<24|0. */
static void put_wake_op(GString *out, uint32_t value)
{
    static const char *const ops[] = {"FUTEX_OP_SET", "FUTEX_OP_ADD", "FUTEX_OP_OR",
                                      "FUTEX_OP_ANDN", "FUTEX_OP_XOR"};
    static const char *const compares[] = {"FUTEX_OP_CMP_EQ", "FUTEX_OP_CMP_NE", "FUTEX_OP_CMP_LT",
                                           "FUTEX_OP_CMP_LE", "FUTEX_OP_CMP_GT", "FUTEX_OP_CMP_GE"};
    uint32_t op = (value >> 28) & 7, compare = (value >> 24) & 0xf;
    if ((value >> 28) & FUTEX_OP_OPARG_SHIFT)
        g_string_append(out, "FUTEX_OP_OPARG_SHIFT<<28|");
    if (op < G_N_ELEMENTS(ops))
        g_string_append_printf(out, "%s<<28", ops[op]);
    else
        g_string_append_printf(out, "%#x<<28 /* FUTEX_OP_??? */", op);
    uint32_t argument = (value >> 12) & 0xfff;
    g_string_append_printf(out, argument ? "|%#x<<12|" : "|0<<12|", argument);
    if (compare < G_N_ELEMENTS(compares))
        g_string_append_printf(out, "%s<<24", compares[compare]);
    else
        g_string_append_printf(out, "%#x<<24 /* FUTEX_OP_CMP_??? */", compare);
    g_string_append_printf(out, (value & 0xfff) ? "|%#x" : "|0", value & 0xfff);
}

static void put_futex(struct linux_process *process, GString *out, const uint64_t *args,
                      long result)
{
    uint32_t op = (uint32_t)args[1], value = (uint32_t)args[2], value2 = (uint32_t)args[3],
             value3 = (uint32_t)args[5];
    strace_put_pointer(out, args[0]);
    g_string_append(out, ", ");
    put_futex_op(out, op);
    switch (op & 127) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
    case FUTEX_WAIT_REQUEUE_PI:
        g_string_append_printf(out, ", %u, ", value);
        put_as(process, out, 't', args, 3, result);
        if ((op & 127) == FUTEX_WAIT_BITSET) {
            g_string_append(out, ", ");
            put_bitset(out, value3);
        } else if ((op & 127) == FUTEX_WAIT_REQUEUE_PI) {
            g_string_append(out, ", ");
            strace_put_pointer(out, args[4]);
        }
        break;
    case FUTEX_LOCK_PI:
    case 13: /* FUTEX_LOCK_PI2 */
        g_string_append(out, ", ");
        put_as(process, out, 't', args, 3, result);
        break;
    case FUTEX_WAKE_BITSET:
        g_string_append_printf(out, ", %u, ", value);
        put_bitset(out, value3);
        break;
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
    case FUTEX_CMP_REQUEUE_PI:
    case FUTEX_WAKE_OP:
        g_string_append_printf(out, ", %u, %u, ", value, value2);
        strace_put_pointer(out, args[4]);
        if ((op & 127) == FUTEX_WAKE_OP) {
            g_string_append(out, ", ");
            put_wake_op(out, value3);
        } else if ((op & 127) != FUTEX_REQUEUE) {
            g_string_append_printf(out, ", %u", value3);
        }
        break;
    case FUTEX_WAKE:
    case FUTEX_FD:
        g_string_append_printf(out, ", %u", value);
        break;
    case FUTEX_UNLOCK_PI:
    case FUTEX_TRYLOCK_PI:
        break;
    default:
        g_string_append_printf(out, ", %u, ", value);
        strace_put_pointer(out, args[3]);
        g_string_append(out, ", ");
        strace_put_pointer(out, args[4]);
        g_string_append_printf(out, value3 ? ", %#x" : ", 0", value3);
    }
}

/* ---- directories ------------------------------------------------------------ */

/*
 * getdents64(fd, ADDR /+ 158 entries +/, count): strace without -v counts
 * the entries of the result's bytes, walking their d_reclen; a record that
 * claims more than is left or less than its header is noted, as strace
 * does, and the walk stops at bytes it cannot read.
 */
static void put_dirents(struct linux_process *process, GString *out, const uint64_t *args,
                        long result, size_t header_size)
{
    uint64_t address = args[1];
    uint32_t count = (uint32_t)args[2];
    strace_put_pointer(out, address);
    if (failed(result) || (uint64_t)result > count) {
        g_string_append_printf(out, ", %u", count);
        return;
    }
    uint64_t left = (uint64_t)result;
    unsigned entries = 0;
    /* d_reclen follows d_ino and d_off in both layouts. */
    while (left >= header_size) {
        uint16_t length;
        if (linux_copy_in(process, address + 16, &length, sizeof(length)) != 0)
            break;
        entries++;
        if (length > left) {
            g_string_append_printf(out, " /* d_reclen %" G_GUINT64_FORMAT " bytes overflow */",
                                   (uint64_t)length - left);
            left = 0;
            break;
        }
        if (length < header_size) {
            g_string_append_printf(out, " /* d_reclen %u bytes underflow */",
                                   (unsigned)(header_size - length));
            length = (uint16_t)header_size;
        }
        left -= length;
        address += length;
        if (!left)
            break;
    }
    g_string_append_printf(out, " /* %u%s entries */, %u", entries, left ? "+" : "", count);
}

/* ---- statx and statfs --------------------------------------------------------- */

static const struct strace_flag statx_masks[] = {
    {0xfff, "STATX_ALL"},       {0x7ff, "STATX_BASIC_STATS"}, {0x1, "STATX_TYPE"},
    {0x2, "STATX_MODE"},        {0x4, "STATX_NLINK"},         {0x8, "STATX_UID"},
    {0x10, "STATX_GID"},        {0x20, "STATX_ATIME"},        {0x40, "STATX_MTIME"},
    {0x80, "STATX_CTIME"},      {0x100, "STATX_INO"},         {0x200, "STATX_SIZE"},
    {0x400, "STATX_BLOCKS"},    {0x800, "STATX_BTIME"},       {0x1000, "STATX_MNT_ID"},
    {0x2000, "STATX_DIOALIGN"},
};

static void put_statx_flags(struct linux_process *process, GString *out, const uint64_t *args,
                            long result)
{
    static const struct strace_flag sync[] = {{0x2000, "AT_STATX_FORCE_SYNC"},
                                              {0x4000, "AT_STATX_DONT_SYNC"}};
    uint32_t flags = (uint32_t)args[2];
    if (flags & 0x6000)
        strace_put_flag_set(out, flags & 0x6000, NAMES(sync), NULL);
    else
        g_string_append(out, "AT_STATX_SYNC_AS_STAT");
    if (flags & ~0x6000u) {
        uint64_t rest[6] = {0, 0, flags & ~0x6000u};
        g_string_append_c(out, '|');
        put_as(process, out, 'A', rest, 2, result);
    }
}

/* statx's buffer without -v: mask, attributes, mode and size, "...". */
static void put_statx_buffer(struct linux_process *process, GString *out, uint64_t address,
                             long result)
{
    static const struct strace_flag attributes[] = {
        {0x4, "STATX_ATTR_COMPRESSED"},    {0x10, "STATX_ATTR_IMMUTABLE"},
        {0x20, "STATX_ATTR_APPEND"},       {0x40, "STATX_ATTR_NODUMP"},
        {0x800, "STATX_ATTR_ENCRYPTED"},   {0x1000, "STATX_ATTR_AUTOMOUNT"},
        {0x2000, "STATX_ATTR_MOUNT_ROOT"}, {0x100000, "STATX_ATTR_VERITY"},
        {0x200000, "STATX_ATTR_DAX"},
    };
    struct {
        uint32_t mask, blksize;
        uint64_t attributes;
        uint32_t nlink, uid, gid;
        uint16_t mode, pad;
        uint64_t ino, size;
    } head;
    if (failed(result)) {
        strace_put_pointer(out, address);
        return;
    }
    if (!strace_copy_in(process, out, address, &head, sizeof(head)))
        return;
    g_string_append(out, "{stx_mask=");
    strace_put_flag_set(out, head.mask, NAMES(statx_masks), "STATX_???");
    g_string_append(out, ", stx_attributes=");
    strace_put_flag_set(out, head.attributes, NAMES(attributes), "STATX_ATTR_???");
    if (head.mask & 0x3) {
        g_string_append(out, ", stx_mode=");
        strace_put_file_mode(out, head.mode);
    }
    if (head.mask & 0x200)
        g_string_append_printf(out, ", stx_size=%" G_GUINT64_FORMAT, head.size);
    g_string_append(out, ", ...}");
}

static void put_statx(struct linux_process *process, GString *out, const uint64_t *args,
                      long result)
{
    put_as(process, out, 'D', args, 0, result);
    g_string_append(out, ", ");
    put_as(process, out, 's', args, 1, result);
    g_string_append(out, ", ");
    put_statx_flags(process, out, args, result);
    g_string_append(out, ", ");
    strace_put_flag_set(out, (uint32_t)args[3], NAMES(statx_masks), "STATX_???");
    g_string_append(out, ", ");
    put_statx_buffer(process, out, args[4], result);
}

/* The file systems strace names most often met; others print in hex. */
static void put_fs_type(GString *out, uint64_t type)
{
    static const struct strace_flag names[] = {
        {0xef53, "EXT2_SUPER_MAGIC"},
        {0x01021994, "TMPFS_MAGIC"},
        {0x9fa0, "PROC_SUPER_MAGIC"},
        {0x62656572, "SYSFS_MAGIC"},
        {0x58465342, "XFS_SUPER_MAGIC"},
        {0x9123683e, "BTRFS_SUPER_MAGIC"},
        {0x794c7630, "OVERLAYFS_SUPER_MAGIC"},
        {0x6969, "NFS_SUPER_MAGIC"},
        {0x1cd1, "DEVPTS_SUPER_MAGIC"},
        {0x63677270, "CGROUP2_SUPER_MAGIC"},
        {0x27e0eb, "CGROUP_SUPER_MAGIC"},
        {0xf97cff8c, "SELINUX_MAGIC"},
        {0x73636673, "SECURITYFS_MAGIC"},
        {0x64626720, "DEBUGFS_MAGIC"},
        {0x74726163, "TRACEFS_MAGIC"},
        {0x958458f6, "HUGETLBFS_MAGIC"},
        {0x19800202, "MQUEUE_MAGIC"},
        {0x50495045, "PIPEFS_MAGIC"},
        {0x534f434b, "SOCKFS_MAGIC"},
        {0x65735546, "FUSE_SUPER_MAGIC"},
        {0x4d44, "MSDOS_SUPER_MAGIC"},
        {0x5346544e, "NTFS_SB_MAGIC"},
        {0x9660, "ISOFS_SUPER_MAGIC"},
        {0x73717368, "SQUASHFS_MAGIC"},
        {0x858458f6, "RAMFS_MAGIC"},
        {0x01021997, "V9FS_MAGIC"},
        {0x6e736673, "NSFS_MAGIC"},
        {0xcafe4a11, "BPF_FS_MAGIC"},
        {0x2011bab0, "EXFAT_SUPER_MAGIC"},
        {0xf2f52010, "F2FS_SUPER_MAGIC"},
        {0xff534d42, "SMB2_MAGIC_NUMBER"},
        {0x42494e4d, "BINFMTFS_MAGIC"},
        {0x6165676c, "PSTOREFS_MAGIC"},
        {0xde5e81e4, "EFIVARFS_MAGIC"},
        {0x2fc12fc1, "ZFS_SUPER_MAGIC"},
        {0x15013346, "AUTOFS_SUPER_MAGIC"},
    };
    strace_put_value(out, type, NAMES(names), NULL);
}

/* struct statfs: every field but the spare ones, f_flags when ST_VALID. */
static void put_statfs_buffer(struct linux_process *process, GString *out, uint64_t address,
                              long result)
{
    static const struct strace_flag flags[] = {
        {0x20, "ST_VALID"},      {0x1, "ST_RDONLY"},         {0x2, "ST_NOSUID"},
        {0x4, "ST_NODEV"},       {0x8, "ST_NOEXEC"},         {0x10, "ST_SYNCHRONOUS"},
        {0x40, "ST_MANDLOCK"},   {0x400, "ST_NOATIME"},      {0x800, "ST_NODIRATIME"},
        {0x1000, "ST_RELATIME"}, {0x2000, "ST_NOSYMFOLLOW"},
    };
    struct {
        int64_t type, bsize;
        uint64_t blocks, bfree, bavail, files, ffree;
        int32_t fsid[2];
        int64_t namelen, frsize, flags, spare[4];
    } buffer;
    if (failed(result)) {
        strace_put_pointer(out, address);
        return;
    }
    if (!strace_copy_in(process, out, address, &buffer, sizeof(buffer)))
        return;
    g_string_append(out, "{f_type=");
    put_fs_type(out, (uint64_t)buffer.type);
    g_string_append_printf(
        out,
        ", f_bsize=%" G_GINT64_FORMAT ", f_blocks=%" G_GUINT64_FORMAT ", f_bfree=%" G_GUINT64_FORMAT
        ", f_bavail=%" G_GUINT64_FORMAT ", f_files=%" G_GUINT64_FORMAT
        ", f_ffree=%" G_GUINT64_FORMAT ", f_fsid={val=[",
        buffer.bsize, buffer.blocks, buffer.bfree, buffer.bavail, buffer.files, buffer.ffree);
    for (int i = 0; i < 2; i++)
        g_string_append_printf(out, buffer.fsid[i] ? "%s%#x" : "%s0", i ? ", " : "",
                               (uint32_t)buffer.fsid[i]);
    g_string_append_printf(out, "]}, f_namelen=%" G_GINT64_FORMAT ", f_frsize=%" G_GINT64_FORMAT,
                           buffer.namelen, buffer.frsize);
    if (buffer.flags & 0x20) {
        g_string_append(out, ", f_flags=");
        strace_put_flag_set(out, (uint64_t)buffer.flags, NAMES(flags), "ST_???");
    }
    g_string_append_c(out, '}');
}

/* ---- extended attributes ------------------------------------------------------ */

/* An attribute's value of size bytes (strace drops one trailing NUL), or
 * its address when there is no size to trust; then the size given. */
static void put_xattr_value(struct linux_process *process, GString *out, uint64_t address,
                            uint64_t size_given, uint64_t size)
{
    if (size > 65536) {
        strace_put_pointer(out, address);
    } else if (address == 0) {
        g_string_append(out, "NULL");
    } else {
        uint8_t bytes[STRACE_STRING_LIMIT + 1];
        size_t shown = size < sizeof(bytes) ? (size_t)size : sizeof(bytes);
        if (linux_copy_in(process, address, bytes, shown) != 0) {
            strace_put_pointer(out, address);
        } else {
            if (shown == size && shown && bytes[shown - 1] == 0)
                shown--, size--;
            bool cut = size > STRACE_STRING_LIMIT;
            strace_put_string_bytes(out, bytes, cut ? STRACE_STRING_LIMIT : shown, cut, false);
        }
    }
    g_string_append_printf(out, ", %" G_GUINT64_FORMAT, size_given);
}

/* The object an xattr call names: a path, or an fd for the f* forms. */
static void put_xattr_object(struct linux_process *process, GString *out, const uint64_t *args,
                             bool fd, long result)
{
    put_as(process, out, fd ? 'f' : 's', args, 0, result);
}

static void put_xattr(struct linux_process *process, GString *out, uint64_t number,
                      const uint64_t *args, long result)
{
    static const struct strace_flag flags[] = {{1, "XATTR_CREATE"}, {2, "XATTR_REPLACE"}};
    bool fd = number == SYS_fgetxattr || number == SYS_fsetxattr || number == SYS_flistxattr ||
              number == SYS_fremovexattr;
    put_xattr_object(process, out, args, fd, result);
    g_string_append(out, ", ");
    switch (number) {
    case SYS_listxattr:
    case SYS_llistxattr:
    case SYS_flistxattr:
        if (args[2] == 0 || failed(result))
            strace_put_pointer(out, args[1]);
        else
            strace_put_buffer(process, out, args[1], (uint64_t)result, false);
        g_string_append_printf(out, ", %" G_GUINT64_FORMAT, args[2]);
        return;
    default:
        break;
    }
    strace_put_c_string(process, out, args[1]);
    switch (number) {
    case SYS_getxattr:
    case SYS_lgetxattr:
    case SYS_fgetxattr:
        g_string_append(out, ", ");
        put_xattr_value(process, out, args[2], args[3], (uint64_t)result);
        break;
    case SYS_setxattr:
    case SYS_lsetxattr:
    case SYS_fsetxattr:
        g_string_append(out, ", ");
        put_xattr_value(process, out, args[2], args[3], args[3]);
        g_string_append(out, ", ");
        strace_put_flag_set(out, (uint32_t)args[4], NAMES(flags), "XATTR_???");
        break;
    default: /* removexattr */
        break;
    }
}

/* ---- system information ------------------------------------------------------- */

/* uname without -v: {sysname="Linux", nodename="vm", ...}. */
static void put_uname(struct linux_process *process, GString *out, uint64_t address, long result)
{
    char names[2][65];
    if (failed(result)) {
        strace_put_pointer(out, address);
        return;
    }
    if (!strace_copy_in(process, out, address, names, sizeof(names)))
        return;
    g_string_append(out, "{sysname=");
    strace_put_string_bytes(out, (const uint8_t *)names[0], strnlen(names[0], 65), false, false);
    g_string_append(out, ", nodename=");
    strace_put_string_bytes(out, (const uint8_t *)names[1], strnlen(names[1], 65), false, false);
    g_string_append(out, ", ...}");
}

static void put_sysinfo(struct linux_process *process, GString *out, uint64_t address, long result)
{
    struct {
        int64_t uptime;
        uint64_t loads[3], totalram, freeram, sharedram, bufferram, totalswap, freeswap;
        uint16_t procs, pad;
        uint32_t pad2;
        uint64_t totalhigh, freehigh;
        uint32_t mem_unit;
    } info;
    if (failed(result)) {
        strace_put_pointer(out, address);
        return;
    }
    if (!strace_copy_in(process, out, address, &info, sizeof(info)))
        return;
    g_string_append_printf(
        out,
        "{uptime=%" G_GINT64_FORMAT ", loads=[%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
        ", %" G_GUINT64_FORMAT "], totalram=%" G_GUINT64_FORMAT ", freeram=%" G_GUINT64_FORMAT
        ", sharedram=%" G_GUINT64_FORMAT ", bufferram=%" G_GUINT64_FORMAT
        ", totalswap=%" G_GUINT64_FORMAT ", freeswap=%" G_GUINT64_FORMAT
        ", procs=%u, totalhigh=%" G_GUINT64_FORMAT ", freehigh=%" G_GUINT64_FORMAT ", mem_unit=%u}",
        info.uptime, info.loads[0], info.loads[1], info.loads[2], info.totalram, info.freeram,
        info.sharedram, info.bufferram, info.totalswap, info.freeswap, info.procs, info.totalhigh,
        info.freehigh, info.mem_unit);
}

/* A list of count 32-bit numbers (group ids), at most strace's 32 shown. */
static void put_id_list(struct linux_process *process, GString *out, uint64_t address,
                        uint64_t count)
{
    if (address == 0) {
        g_string_append(out, "NULL");
        return;
    }
    if (count == 0) {
        g_string_append(out, "[]");
        return;
    }
    for (uint64_t i = 0; i < count; i++) {
        uint32_t id;
        if (linux_copy_in(process, address + i * 4, &id, sizeof(id)) != 0) {
            if (i == 0)
                strace_put_pointer(out, address);
            else
                g_string_append_printf(out, ", ... /* %#" G_GINT64_MODIFIER "x */]",
                                       address + i * 4);
            return;
        }
        g_string_append(out, i ? ", " : "[");
        if (i >= STRACE_STRING_LIMIT) {
            g_string_append(out, "...");
            break;
        }
        g_string_append_printf(out, "%u", id);
    }
    g_string_append_c(out, ']');
}

/* The kernel's CPU mask size, which strace reads no more of: what
 * sched_getaffinity returns for the monitor (the guest's CPUs are the
 * host's). */
static size_t cpu_set_size(void)
{
    static size_t size;
    size_t known = __atomic_load_n(&size, __ATOMIC_RELAXED);
    if (!known) {
        uint64_t mask[128];
        long got = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);
        known = got > 0 ? (size_t)got : sizeof(mask);
        __atomic_store_n(&size, known, __ATOMIC_RELAXED);
    }
    return known;
}

/* A CPU set of length bytes as strace's print_affinitylist: the numbers of
 * its CPUs, [0 1], from no more than the kernel's mask size ("..." then). */
static void put_cpu_set(struct linux_process *process, GString *out, uint64_t address,
                        uint32_t length)
{
    if (address == 0) {
        g_string_append(out, "NULL");
        return;
    }
    if (length == 0) {
        g_string_append(out, "[]");
        return;
    }
    size_t size = length < cpu_set_size() ? length : cpu_set_size();
    g_autofree uint8_t *bytes = g_malloc0((size + 7) & ~(size_t)7);
    if (!strace_copy_in(process, out, address, bytes, size))
        return;
    g_string_append_c(out, '[');
    bool first = true;
    size_t rounded = (size + 7) & ~(size_t)7;
    for (size_t bit = 0; bit < rounded * 8; bit++) {
        if (bytes[bit / 8] & (1u << (bit % 8))) {
            g_string_append_printf(out, "%s%zu", first ? "" : " ", bit);
            first = false;
        }
    }
    if (rounded < length)
        g_string_append(out, first ? "..." : " ...");
    g_string_append_c(out, ']');
}

static void put_fadvise(GString *out, uint64_t advice)
{
    static const struct strace_flag names[] = {
        {0, "POSIX_FADV_NORMAL"},   {1, "POSIX_FADV_RANDOM"},   {2, "POSIX_FADV_SEQUENTIAL"},
        {3, "POSIX_FADV_WILLNEED"}, {4, "POSIX_FADV_DONTNEED"}, {5, "POSIX_FADV_NOREUSE"},
    };
    strace_put_value(out, (uint32_t)advice, NAMES(names), "POSIX_FADV_???");
}

/* copy_file_range's offset at address: NULL, or [N]. */
static char *offset_text(struct linux_process *process, uint64_t address)
{
    int64_t offset;
    GString *text = g_string_new(NULL);
    if (address == 0)
        g_string_append(text, "NULL");
    else if (strace_copy_in(process, text, address, &offset, sizeof(offset)))
        g_string_append_printf(text, "[%" G_GINT64_FORMAT "]", offset);
    return g_string_free(text, FALSE);
}

/* The offset as the call found it (strace reads it at the entry; the
 * call moves it), else as it is now. */
static void put_offset_pointer(struct linux_thread *thread, GString *out, const uint64_t *args,
                               int index)
{
    if (thread->strace_entry[index]) {
        g_string_append(out, thread->strace_entry[index]);
        return;
    }
    g_autofree char *now = offset_text(thread->process, args[index]);
    g_string_append(out, now);
}

void strace_fs_entry(struct linux_thread *thread, const struct linux_syscall *call)
{
    if (call->number != SYS_copy_file_range && call->number != SYS_splice)
        return;
    for (int index = 1; index <= 3; index += 2) {
        g_free(thread->strace_entry[index]);
        thread->strace_entry[index] = offset_text(thread->process, call->args[index]);
    }
}

/* utimensat's times: NULL, or [atime, mtime], each UTIME_NOW, UTIME_OMIT
 * or a timespec with strace's date comment in the local time zone. */
static void put_utimes(struct linux_process *process, GString *out, uint64_t address)
{
    struct {
        int64_t seconds, nanoseconds;
    } times[2];
    if (address == 0) {
        g_string_append(out, "NULL");
        return;
    }
    if (!strace_copy_in(process, out, address, times, sizeof(times)))
        return;
    g_string_append_c(out, '[');
    for (int i = 0; i < 2; i++) {
        if (i)
            g_string_append(out, ", ");
        if (times[i].nanoseconds == ((1l << 30) - 1)) {
            g_string_append(out, "UTIME_NOW");
            continue;
        }
        if (times[i].nanoseconds == ((1l << 30) - 2)) {
            g_string_append(out, "UTIME_OMIT");
            continue;
        }
        g_string_append_printf(out, "{tv_sec=%" G_GINT64_FORMAT ", tv_nsec=%" G_GUINT64_FORMAT "}",
                               times[i].seconds, (uint64_t)times[i].nanoseconds);
        time_t seconds = (time_t)times[i].seconds;
        struct tm local;
        char date[64], zone[16];
        if (localtime_r(&seconds, &local) && strftime(date, sizeof(date), "%FT%T", &local) &&
            strftime(zone, sizeof(zone), "%z", &local))
            g_string_append_printf(out, " /* %s.%09" G_GUINT64_FORMAT "%s */", date,
                                   (uint64_t)times[i].nanoseconds, zone);
    }
    g_string_append_c(out, ']');
}

/* getcwd's buffer: the path it filled (the result counts its NUL), whole. */
static void put_cwd(struct linux_process *process, GString *out, const uint64_t *args, long result)
{
    if (failed(result) || result <= 0 || result > 65536) {
        strace_put_pointer(out, args[0]);
    } else {
        g_autofree uint8_t *path = g_malloc((size_t)result);
        if (strace_copy_in(process, out, args[0], path, (size_t)result))
            strace_put_string_bytes(out, path, strnlen((const char *)path, (size_t)result - 1),
                                    false, false);
    }
    g_string_append_printf(out, ", %" G_GUINT64_FORMAT, args[1]);
}

/* ---- capabilities ----------------------------------------------------------------- */

/* The capabilities by number, without their CAP_ prefix. */
static const char *const capability_names[] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};

/* One half of a capability set: 1<<CAP_CHOWN|1<<CAP_KILL, bit 0 being
 * capability first. */
static void put_cap_half(GString *out, uint32_t bits, unsigned first)
{

    struct strace_flag flags[32];
    size_t count = 0;
    for (unsigned bit = 0; bit < 32 && first + bit < G_N_ELEMENTS(capability_names); bit++)
        flags[count++] = (struct strace_flag){1u << bit, capability_names[first + bit]};
    GString *named = g_string_new(NULL);
    strace_put_flag_set(named, bits, flags, count, "CAP_???");
    /* strace writes each capability as 1<<CAP_NAME; a remainder stays hex. */
    gchar **parts = g_strsplit(named->str, "|", -1);
    for (gchar **part = parts; *part; part++) {
        bool name = g_ascii_isalpha((*part)[0]);
        g_string_append_printf(out, "%s%s%s", part == parts ? "" : "|", name ? "1<<CAP_" : "",
                               *part);
    }
    g_strfreev(parts);
    g_string_free(named, TRUE);
}

static void put_cap_bits(GString *out, uint32_t low, uint32_t high)
{
    if (low || !high)
        put_cap_half(out, low, 0);
    if (high) {
        if (low)
            g_string_append_c(out, '|');
        put_cap_half(out, high, 32);
    }
}

/* capget/capset: the header, and the data as its version lays it out (a
 * NULL header: the data's address). */
static void put_capabilities(struct linux_process *process, GString *out, const uint64_t *args,
                             bool get, long result)
{
    static const struct strace_flag versions[] = {{0x19980330, "_LINUX_CAPABILITY_VERSION_1"},
                                                  {0x20071026, "_LINUX_CAPABILITY_VERSION_2"},
                                                  {0x20080522, "_LINUX_CAPABILITY_VERSION_3"}};
    struct {
        uint32_t version;
        int32_t pid;
    } header;
    bool have_header = args[0] && linux_copy_in(process, args[0], &header, sizeof(header)) == 0;
    if (!have_header) {
        strace_put_pointer(out, args[0]);
    } else {
        g_string_append(out, "{version=");
        strace_put_value(out, header.version, NAMES(versions), "_LINUX_CAPABILITY_VERSION_???");
        g_string_append_printf(out, ", pid=%d}", header.pid);
    }
    g_string_append(out, ", ");
    struct {
        uint32_t effective, permitted, inheritable;
    } data[2] = {0};
    size_t sets =
        have_header && (header.version == 0x20071026 || header.version == 0x20080522) ? 2 : 1;
    if (!have_header || args[1] == 0 || (get && failed(result))) {
        strace_put_pointer(out, args[1]);
        return;
    }
    if (!strace_copy_in(process, out, args[1], data, sets * sizeof(data[0])))
        return;
    g_string_append(out, "{effective=");
    put_cap_bits(out, data[0].effective, data[1].effective);
    g_string_append(out, ", permitted=");
    put_cap_bits(out, data[0].permitted, data[1].permitted);
    g_string_append(out, ", inheritable=");
    put_cap_bits(out, data[0].inheritable, data[1].inheritable);
    g_string_append_c(out, '}');
}

/* ---- POSIX timers ------------------------------------------------------------------ */

/* struct sigevent: its value when set, the signal, how it notifies. */
static void put_sigevent(struct linux_process *process, GString *out, uint64_t address)
{
    static const struct strace_flag notify[] = {{SIGEV_SIGNAL, "SIGEV_SIGNAL"},
                                                {SIGEV_NONE, "SIGEV_NONE"},
                                                {SIGEV_THREAD, "SIGEV_THREAD"},
                                                {4, "SIGEV_THREAD_ID"}};
    struct {
        uint64_t value;
        int32_t signo, notify;
        union {
            int32_t tid;
            struct {
                uint64_t function, attributes;
            } thread;
        } how;
    } event;
    if (!strace_copy_in(process, out, address, &event, sizeof(event)))
        return;
    g_string_append_c(out, '{');
    if (event.value)
        g_string_append_printf(out,
                               "sigev_value={sival_int=%d, sival_ptr=%#" G_GINT64_MODIFIER "x}, ",
                               (int32_t)event.value, event.value);
    g_string_append(out, "sigev_signo=");
    if (event.notify == SIGEV_SIGNAL || event.notify == SIGEV_THREAD || event.notify == 4) {
        uint64_t signal[6] = {(uint32_t)event.signo};
        put_as(process, out, 'g', signal, 0, 0);
    } else {
        g_string_append_printf(out, "%u", (uint32_t)event.signo);
    }
    g_string_append(out, ", sigev_notify=");
    strace_put_value(out, (uint32_t)event.notify, NAMES(notify), "SIGEV_???");
    if (event.notify == 4) {
        g_string_append_printf(out, ", sigev_notify_thread_id=%d", event.how.tid);
    } else if (event.notify == SIGEV_THREAD) {
        g_string_append(out, ", sigev_notify_function=");
        strace_put_pointer(out, event.how.thread.function);
        g_string_append(out, ", sigev_notify_attributes=");
        strace_put_pointer(out, event.how.thread.attributes);
    }
    g_string_append_c(out, '}');
}

/* An int the call wrote (timer_create's id): [0], else the address. */
static void put_int_out(struct linux_process *process, GString *out, uint64_t address, long result)
{
    int32_t value;
    if (failed(result) || address == 0)
        strace_put_pointer(out, address);
    else if (strace_copy_in(process, out, address, &value, sizeof(value)))
        g_string_append_printf(out, "[%d]", value);
}

/* An itimerspec the call filled (old or current value). */
static void put_itimerspec_out(struct linux_process *process, GString *out, uint64_t address,
                               long result)
{
    if (failed(result) || address == 0)
        strace_put_pointer(out, address);
    else
        strace_put_itimerspec(process, out, address);
}

static void put_timer_call(struct linux_process *process, GString *out, uint64_t number,
                           const uint64_t *args, long result)
{
    if (number == SYS_timer_create) {
        put_as(process, out, 'c', args, 0, result);
        g_string_append(out, ", ");
        put_sigevent(process, out, args[1]);
        g_string_append(out, ", ");
        put_int_out(process, out, args[2], result);
        return;
    }
    g_string_append_printf(out, "%d, ", (int32_t)args[0]);
    if (number == SYS_timer_gettime) {
        put_itimerspec_out(process, out, args[1], result);
        return;
    }
    static const struct strace_flag flags[] = {{1, "TIMER_ABSTIME"}};
    strace_put_flag_set(out, (uint32_t)args[1], NAMES(flags), "TIMER_???");
    g_string_append(out, ", ");
    if (args[2])
        strace_put_itimerspec(process, out, args[2]);
    else
        g_string_append(out, "NULL");
    g_string_append(out, ", ");
    put_itimerspec_out(process, out, args[3], result);
}

/* ---- prctl ------------------------------------------------------------------------- */

static void put_prctl_option(GString *out, uint32_t option)
{
    static const char *const names[] = {
        NULL,
        "PR_SET_PDEATHSIG",
        "PR_GET_PDEATHSIG",
        "PR_GET_DUMPABLE",
        "PR_SET_DUMPABLE",
        "PR_GET_UNALIGN",
        "PR_SET_UNALIGN",
        "PR_GET_KEEPCAPS",
        "PR_SET_KEEPCAPS",
        "PR_GET_FPEMU",
        "PR_SET_FPEMU",
        "PR_GET_FPEXC",
        "PR_SET_FPEXC",
        "PR_GET_TIMING",
        "PR_SET_TIMING",
        "PR_SET_NAME",
        "PR_GET_NAME",
        NULL,
        NULL,
        "PR_GET_ENDIAN",
        "PR_SET_ENDIAN",
        "PR_GET_SECCOMP",
        "PR_SET_SECCOMP",
        "PR_CAPBSET_READ",
        "PR_CAPBSET_DROP",
        "PR_GET_TSC",
        "PR_SET_TSC",
        "PR_GET_SECUREBITS",
        "PR_SET_SECUREBITS",
        "PR_SET_TIMERSLACK",
        "PR_GET_TIMERSLACK",
        "PR_TASK_PERF_EVENTS_DISABLE",
        "PR_TASK_PERF_EVENTS_ENABLE",
        "PR_MCE_KILL",
        "PR_MCE_KILL_GET",
        "PR_SET_MM",
        "PR_SET_CHILD_SUBREAPER",
        "PR_GET_CHILD_SUBREAPER",
        "PR_SET_NO_NEW_PRIVS",
        "PR_GET_NO_NEW_PRIVS",
        "PR_GET_TID_ADDRESS",
        "PR_SET_THP_DISABLE",
        "PR_GET_THP_DISABLE",
        "PR_MPX_ENABLE_MANAGEMENT",
        "PR_MPX_DISABLE_MANAGEMENT",
        "PR_SET_FP_MODE",
        "PR_GET_FP_MODE",
        "PR_CAP_AMBIENT",
        NULL,
        NULL,
        "PR_SVE_SET_VL",
        "PR_SVE_GET_VL",
        "PR_GET_SPECULATION_CTRL",
        "PR_SET_SPECULATION_CTRL",
        "PR_PAC_RESET_KEYS",
        "PR_SET_TAGGED_ADDR_CTRL",
        "PR_GET_TAGGED_ADDR_CTRL",
        "PR_SET_IO_FLUSHER",
        "PR_GET_IO_FLUSHER",
        "PR_SET_SYSCALL_USER_DISPATCH",
        "PR_PAC_SET_ENABLED_KEYS",
        "PR_PAC_GET_ENABLED_KEYS",
        "PR_SCHED_CORE",
        "PR_SME_SET_VL",
        "PR_SME_GET_VL",
    };
    if (option < G_N_ELEMENTS(names) && names[option])
        g_string_append(out, names[option]);
    else if (option == 0x59616d61)
        g_string_append(out, "PR_SET_PTRACER");
    else if (option == 0x53564d41)
        g_string_append(out, "PR_SET_VMA");
    else
        strace_put_value(out, option, NULL, 0, "PR_???");
}

/* The arguments from first on in hex, as strace shows what it does not decode. */
static void put_hex_arguments(GString *out, const uint64_t *args, int first, int count)
{
    for (int i = first; i < count; i++)
        g_string_append_printf(out, ", %#" G_GINT64_MODIFIER "x", args[i]);
}

/* A string of at most limit characters up to its NUL: "name", cut with "...". */
static void put_short_string(struct linux_process *process, GString *out, uint64_t address,
                             size_t limit)
{
    char text[32];
    if (address == 0) {
        g_string_append(out, "NULL");
        return;
    }
    size_t got = 0;
    while (got < limit + 1 && got < sizeof(text) &&
           linux_copy_in(process, address + got, &text[got], 1) == 0 && text[got])
        got++;
    if (got == 0 && linux_copy_in(process, address, text, 1) != 0) {
        strace_put_pointer(out, address);
        return;
    }
    bool cut = got > limit;
    strace_put_string_bytes(out, (const uint8_t *)text, cut ? limit : got, cut, false);
}

static void put_prctl(struct linux_process *process, GString *out, const uint64_t *args,
                      long result)
{
    static const struct strace_flag dumpable[] = {
        {0, "SUID_DUMP_DISABLE"}, {1, "SUID_DUMP_USER"}, {2, "SUID_DUMP_ROOT"}};
    uint32_t option = (uint32_t)args[0];
    put_prctl_option(out, option);
    switch (option) {
    case 7: /* PR_GET_KEEPCAPS */
    case 21:
    case 30:
    case 13:
    case 31:
    case 32:
    case 3: /* PR_GET_DUMPABLE: its result is the value */
        return;
    case 37: /* PR_GET_CHILD_SUBREAPER */
    case 19:
    case 9:
    case 11:
        g_string_append(out, ", ");
        put_int_out(process, out, args[1], result);
        return;
    case 16: /* PR_GET_NAME */
        g_string_append(out, ", ");
        if (failed(result))
            strace_put_pointer(out, args[1]);
        else
            put_short_string(process, out, args[1], 16);
        return;
    case 2: { /* PR_GET_PDEATHSIG */
        int32_t signal;
        g_string_append(out, ", ");
        if (failed(result)) {
            strace_put_pointer(out, args[1]);
        } else if (strace_copy_in(process, out, args[1], &signal, sizeof(signal))) {
            uint64_t number[6] = {(uint32_t)signal};
            g_string_append_c(out, '[');
            put_as(process, out, 'g', number, 0, 0);
            g_string_append_c(out, ']');
        }
        return;
    }
    case 15: /* PR_SET_NAME */
        g_string_append(out, ", ");
        put_short_string(process, out, args[1], 15);
        return;
    case 1: /* PR_SET_PDEATHSIG */
        g_string_append(out, ", ");
        if (args[1] > 128)
            g_string_append_printf(out, "%" G_GUINT64_FORMAT, args[1]);
        else
            put_as(process, out, 'g', args, 1, result);
        return;
    case 4: /* PR_SET_DUMPABLE */
        g_string_append(out, ", ");
        strace_put_value(out, args[1], NAMES(dumpable), "SUID_DUMP_???");
        return;
    case 36: /* PR_SET_CHILD_SUBREAPER */
    case 20:
    case 10:
    case 12:
    case 8:
    case 14:
        g_string_append_printf(out, ", %" G_GUINT64_FORMAT, args[1]);
        return;
    case 38: /* PR_SET_NO_NEW_PRIVS */
    case 41:
    case 57:
        g_string_append_printf(out, ", %" G_GUINT64_FORMAT, args[1]);
        put_hex_arguments(out, args, 2, 5);
        return;
    case 29: /* PR_SET_TIMERSLACK */
        g_string_append_printf(out, ", %" G_GINT64_FORMAT, (int64_t)args[1]);
        return;
    case 23: /* PR_CAPBSET_READ */
    case 24:
        g_string_append(out, ", ");
        if (args[1] < G_N_ELEMENTS(capability_names))
            g_string_append_printf(out, "CAP_%s", capability_names[args[1]]);
        else
            strace_put_value(out, args[1], NULL, 0, "CAP_???");
        return;
    case 0x59616d61: /* PR_SET_PTRACER */
        if ((int32_t)args[1] == -1)
            g_string_append(out, ", PR_SET_PTRACER_ANY");
        else
            g_string_append_printf(out, ", %d", (int32_t)args[1]);
        return;
    case 0x53564d41: /* PR_SET_VMA */
        if (args[1] == 0) {
            g_string_append(out, ", PR_SET_VMA_ANON_NAME, ");
            strace_put_pointer(out, args[2]);
            g_string_append_printf(out, ", %" G_GUINT64_FORMAT ", ", args[3]);
            strace_put_c_string(process, out, args[4]);
        } else {
            g_string_append(out, ", ");
            strace_put_value(out, args[1], NULL, 0, "PR_SET_VMA_???");
            put_hex_arguments(out, args, 2, 5);
        }
        return;
    default:
        put_hex_arguments(out, args, 1, 5);
    }
}

bool strace_fs_result(GString *out, uint64_t number, const uint64_t *args, long result)
{
    static const char *const dumpable[] = {"SUID_DUMP_DISABLE", "SUID_DUMP_USER", "SUID_DUMP_ROOT"};
    /* PR_GET_DUMPABLE's result, named after it as strace's auxstr. */
    if (number != SYS_prctl || (uint32_t)args[0] != 3 || result < 0)
        return false;
    g_string_append_printf(out, " = %ld", result);
    if ((unsigned long)result < G_N_ELEMENTS(dumpable))
        g_string_append_printf(out, " (%s)", dumpable[result]);
    return true;
}

/* ---- the calls ------------------------------------------------------------------ */

/* The flags of preadv2 and pwritev2, flock, mlock2, mlockall, splice and
 * tee, and inotify's event mask, in strace's order. */
static const struct strace_flag rwf_flags[] = {
    FLAG(RWF_HIPRI), FLAG(RWF_DSYNC), FLAG(RWF_SYNC), FLAG(RWF_NOWAIT), FLAG(RWF_APPEND),
};
static const struct strace_flag flock_operations[] = {
    FLAG(LOCK_SH),
    FLAG(LOCK_EX),
    FLAG(LOCK_NB),
    FLAG(LOCK_UN),
};
static const struct strace_flag mlock2_flags[] = {FLAG(MLOCK_ONFAULT)};
static const struct strace_flag mlockall_flags[] = {
    FLAG(MCL_CURRENT),
    FLAG(MCL_FUTURE),
    FLAG(MCL_ONFAULT),
};
static const struct strace_flag splice_flags[] = {
    FLAG(SPLICE_F_MOVE),
    FLAG(SPLICE_F_NONBLOCK),
    FLAG(SPLICE_F_MORE),
    FLAG(SPLICE_F_GIFT),
};
static const struct strace_flag inotify_mask[] = {
    FLAG(IN_ACCESS),        FLAG(IN_MODIFY),      FLAG(IN_ATTRIB),      FLAG(IN_CLOSE_WRITE),
    FLAG(IN_CLOSE_NOWRITE), FLAG(IN_OPEN),        FLAG(IN_MOVED_FROM),  FLAG(IN_MOVED_TO),
    FLAG(IN_CREATE),        FLAG(IN_DELETE),      FLAG(IN_DELETE_SELF), FLAG(IN_MOVE_SELF),
    FLAG(IN_UNMOUNT),       FLAG(IN_Q_OVERFLOW),  FLAG(IN_IGNORED),     FLAG(IN_ONLYDIR),
    FLAG(IN_DONT_FOLLOW),   FLAG(IN_EXCL_UNLINK), FLAG(IN_MASK_CREATE), FLAG(IN_MASK_ADD),
    FLAG(IN_ISDIR),         FLAG(IN_ONESHOT),
};
#define PUT_FLAGS(out, value, table, unknown)                                                      \
    strace_put_flag_set(out, value, table, G_N_ELEMENTS(table), unknown)

/* "FD, SECOND": an fd, then the second argument as the letter says. */
static void put_fd_and(struct linux_process *process, GString *out, char second,
                       const uint64_t *args, long result)
{
    put_as(process, out, 'f', args, 0, result);
    g_string_append(out, ", ");
    put_as(process, out, second, args, 1, result);
}

/* Calls of the I/O and memory-locking families: fd, buffers, counts and
 * their flags, as strace prints them. false for any other call. */
static bool put_io_call(struct linux_thread *thread, GString *out, uint64_t number,
                        const uint64_t *args, long result)
{
    struct linux_process *process = thread->process;
    switch (number) {
    case SYS_preadv2:
    case SYS_pwritev2: /* the offset's high half (args[4]) is not shown */
        put_as(process, out, 'f', args, 0, result);
        g_string_append(out, ", ");
        put_as(process, out, number == SYS_preadv2 ? 'V' : 'v', args, 1, result);
        g_string_append_printf(out, ", %d, %" G_GINT64_FORMAT ", ", (int32_t)args[2],
                               (int64_t)args[3]);
        PUT_FLAGS(out, (uint32_t)args[5], rwf_flags, "RWF_???");
        return true;
    case SYS_readahead:
        put_as(process, out, 'f', args, 0, result);
        g_string_append_printf(out, ", %" G_GINT64_FORMAT ", %" G_GUINT64_FORMAT, (int64_t)args[1],
                               args[2]);
        return true;
    case SYS_flock:
        put_as(process, out, 'f', args, 0, result);
        g_string_append(out, ", ");
        PUT_FLAGS(out, (uint32_t)args[1], flock_operations, "LOCK_???");
        return true;
    case SYS_mlock:
    case SYS_munlock:
    case SYS_mlock2:
        strace_put_pointer(out, args[0]);
        g_string_append_printf(out, ", %" G_GUINT64_FORMAT, args[1]);
        if (number == SYS_mlock2) {
            g_string_append(out, ", ");
            PUT_FLAGS(out, (uint32_t)args[2], mlock2_flags, "MLOCK_???");
        }
        return true;
    case SYS_mlockall:
        PUT_FLAGS(out, (uint32_t)args[0], mlockall_flags, "MCL_???");
        return true;
    case SYS_munlockall:
        return true;
    case SYS_splice:
        for (int index = 0; index <= 2; index += 2) {
            put_as(process, out, 'f', args, index, result);
            g_string_append(out, ", ");
            put_offset_pointer(thread, out, args, index + 1);
            g_string_append(out, ", ");
        }
        g_string_append_printf(out, "%" G_GUINT64_FORMAT ", ", args[4]);
        PUT_FLAGS(out, (uint32_t)args[5], splice_flags, "SPLICE_F_???");
        return true;
    case SYS_tee:
        put_fd_and(process, out, 'f', args, result);
        g_string_append_printf(out, ", %" G_GUINT64_FORMAT ", ", args[2]);
        PUT_FLAGS(out, (uint32_t)args[3], splice_flags, "SPLICE_F_???");
        return true;
    case SYS_inotify_add_watch:
        put_fd_and(process, out, 's', args, result);
        g_string_append(out, ", ");
        PUT_FLAGS(out, (uint32_t)args[2], inotify_mask, "IN_???");
        return true;
    default:
        return false;
    }
}

bool strace_fs_arguments(struct linux_thread *thread, GString *out, uint64_t number,
                         const uint64_t *args, long result)
{
    if (put_io_call(thread, out, number, args, result))
        return true;
    struct linux_process *process = thread->process;
    switch (number) {
    case SYS_utimensat:
        put_as(process, out, 'D', args, 0, result);
        g_string_append(out, ", ");
        put_as(process, out, 's', args, 1, result);
        g_string_append(out, ", ");
        put_utimes(process, out, args[2]);
        g_string_append(out, ", ");
        put_as(process, out, 'A', args, 3, result);
        return true;
    case SYS_getcwd:
        put_cwd(process, out, args, result);
        return true;
    case SYS_prctl:
        put_prctl(process, out, args, result);
        return true;
    case SYS_timer_create:
    case SYS_timer_settime:
    case SYS_timer_gettime:
        put_timer_call(process, out, number, args, result);
        return true;
    case SYS_capget:
    case SYS_capset:
        put_capabilities(process, out, args, number == SYS_capget, result);
        return true;
    case SYS_clone3:
        strace_put_clone3(process, out, args, result);
        return true;
    case SYS_futex:
        put_futex(process, out, args, result);
        return true;
    case SYS_getdents64:
    case SYS_getdents:
        put_as(process, out, 'f', args, 0, result);
        g_string_append(out, ", ");
        /* The record header: d_ino, d_off, d_reclen (and getdents64's d_type). */
        put_dirents(process, out, args, result, number == SYS_getdents64 ? 19 : 18);
        return true;
    case SYS_statx:
        put_statx(process, out, args, result);
        return true;
    case SYS_statfs:
    case SYS_fstatfs:
        put_as(process, out, number == SYS_statfs ? 's' : 'f', args, 0, result);
        g_string_append(out, ", ");
        put_statfs_buffer(process, out, args[1], result);
        return true;
    case SYS_getxattr:
    case SYS_lgetxattr:
    case SYS_fgetxattr:
    case SYS_setxattr:
    case SYS_lsetxattr:
    case SYS_fsetxattr:
    case SYS_listxattr:
    case SYS_llistxattr:
    case SYS_flistxattr:
    case SYS_removexattr:
    case SYS_lremovexattr:
    case SYS_fremovexattr:
        put_xattr(process, out, number, args, result);
        return true;
    case SYS_uname:
        put_uname(process, out, args[0], result);
        return true;
    case SYS_sysinfo:
        put_sysinfo(process, out, args[0], result);
        return true;
    case SYS_getgroups:
        g_string_append_printf(out, "%d, ", (int32_t)args[0]);
        /* The list as filled: the result's count of ids (strace reads them
         * even when the call only counted them). */
        if (failed(result) || result > 65536)
            strace_put_pointer(out, args[1]);
        else
            put_id_list(process, out, args[1], (uint64_t)result);
        return true;
    case SYS_setgroups:
        g_string_append_printf(out, "%d, ", (int32_t)args[0]);
        if ((uint32_t)args[0] > 65536)
            strace_put_pointer(out, args[1]);
        else
            put_id_list(process, out, args[1], (uint32_t)args[0]);
        return true;
    case SYS_creat:
        put_as(process, out, 's', args, 0, result);
        g_string_append(out, ", ");
        put_as(process, out, 'm', args, 1, result);
        return true;
    case SYS_fadvise64:
        put_as(process, out, 'f', args, 0, result);
        g_string_append_printf(out, ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", ",
                               (int64_t)args[1], (int64_t)args[2]);
        put_fadvise(out, args[3]);
        return true;
    case SYS_copy_file_range:
        put_as(process, out, 'f', args, 0, result);
        g_string_append(out, ", ");
        put_offset_pointer(thread, out, args, 1);
        g_string_append(out, ", ");
        put_as(process, out, 'f', args, 2, result);
        g_string_append(out, ", ");
        put_offset_pointer(thread, out, args, 3);
        g_string_append_printf(out, ", %" G_GUINT64_FORMAT ", %u", args[4], (uint32_t)args[5]);
        return true;
    case SYS_sched_getaffinity:
    case SYS_sched_setaffinity:
        g_string_append_printf(out, "%d, %u, ", (int32_t)args[0], (uint32_t)args[1]);
        if (number == SYS_sched_getaffinity && failed(result))
            strace_put_pointer(out, args[2]);
        else
            put_cpu_set(process, out, args[2],
                        number == SYS_sched_getaffinity ? (uint32_t)result : (uint32_t)args[1]);
        return true;
    default:
        return false;
    }
}
