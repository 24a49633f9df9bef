/*
 * linux/strace.h — what strace.c (the trace, file and process calls) and
 * strace_net.c (sockets, polling, the calls that make descriptors) share:
 * the format of a call and the pieces every decoder prints with.
 */
#ifndef HERMITUX_LINUX_STRACE_H
#define HERMITUX_LINUX_STRACE_H

#include "linux/internal.h"

/* strace's default -s: strings longer than this are cut and followed by "...". */
#define STRACE_STRING_LIMIT 32
/* strace prints at most this many iovec elements and array members. */
#define STRACE_ARRAY_LIMIT 1024

/* How a call prints: one format letter per argument (strace.c and
 * strace_net.c each list theirs). */
struct strace_format {
    const char *args;
    bool hex_result;
    bool no_return; /* exit, exit_group: "= ?" */
};

struct strace_flag {
    uint64_t value;
    const char *name;
};

#define FLAG(name)                                                                                 \
    {                                                                                              \
        name, #name                                                                                \
    }

void strace_put_string_bytes(GString *out, const uint8_t *bytes, size_t length, bool cut, bool hex);
/* An address, or NULL. */
void strace_put_pointer(GString *out, uint64_t address);
/* Copies size bytes at address into into; false when there is nothing to
 * decode, having printed what strace does then (NULL, or the address). */
bool strace_copy_in(struct linux_process *process, GString *out, uint64_t address, void *into,
                    size_t size);
/* length bytes at address as a string, cut at STRACE_STRING_LIMIT. */
void strace_put_buffer(struct linux_process *process, GString *out, uint64_t address,
                       uint64_t length, bool hex);
/* value's name in names; else in hex ("0" for zero), with " /+ unknown +/"
 * after it when unknown is given (strace's printxval). */
void strace_put_value(GString *out, uint64_t value, const struct strace_flag *names, size_t count,
                      const char *unknown);
/* Named bits of value joined with '|', what remains in hex; zero as zero_name. */
void strace_put_flags(GString *out, uint64_t value, const struct strace_flag *flags, size_t count,
                      const char *zero_name);
/* A NUL-terminated string, cut at STRACE_STRING_LIMIT (printstr). */
void strace_put_c_string(struct linux_process *process, GString *out, uint64_t address);
/* A file's st_mode as strace: S_IFDIR|S_ISVTX|0777. */
void strace_put_file_mode(GString *out, uint64_t mode);
void strace_put_sigset(struct linux_process *process, GString *out, uint64_t address);
void strace_put_timespec(struct linux_process *process, GString *out, uint64_t address);
void strace_put_itimerspec(struct linux_process *process, GString *out, uint64_t address);
/* count iovecs at address; output ones show the result's bytes in all. */
void strace_put_iovec(struct linux_process *process, GString *out, uint64_t address, uint64_t count,
                      long result, bool output);
/* How an iovec element's data prints when it is not a string: the shown
 * bytes at address (netlink messages). */
typedef void (*strace_data_printer)(struct linux_process *process, GString *out, uint64_t address,
                                    uint64_t length, void *context);
void strace_put_iovec_with(struct linux_process *process, GString *out, uint64_t address,
                           uint64_t count, long result, bool output, strace_data_printer put_data,
                           void *context);
/* clone3's struct clone_args, what the kernel wrote back, and its size. */
void strace_put_clone3(struct linux_process *process, GString *out, const uint64_t *args,
                       long result);
/* One argument by strace.c's letters. */
void strace_put_argument(struct linux_process *process, GString *out, const char *format,
                         const uint64_t *args, int index, long result);

/* An address family's name: AF_INET. */
void strace_put_family(GString *out, uint64_t family);
/* An interface index as strace shows it: if_nametoindex("lo"), else the number. */
void strace_put_interface(GString *out, uint32_t index);
/* Flags as strace's printflags: the names, what is left in hex; when no
 * name matches, the number and " /+ unknown +/". */
void strace_put_flag_set(GString *out, uint64_t value, const struct strace_flag *names,
                         size_t count, const char *unknown);
/* A netlink socket's data (strace_netlink.c): messages of protocol
 * (NETLINK_ROUTE...) in the length bytes at data. */
void strace_netlink_put(GString *out, const uint8_t *data, size_t length, int protocol);

/* ---- strace_net.c ---- */

/* The format of a call strace_net.c decodes, in its own letters; NULL for
 * the others. */
const struct strace_format *strace_net_format_of(uint64_t number);
/* At the call's entry: what its arguments held before the kernel wrote
 * them (a length in and out, select's sets), kept in thread->strace_entry. */
void strace_net_entry(struct linux_thread *thread, const struct linux_syscall *call);
/* One argument by strace_net.c's letters (strace.c's for those it lacks). */
void strace_net_argument(struct linux_thread *thread, GString *out, const char *format,
                         const uint64_t *args, int index, long result);
/* What strace adds after the result: poll's revents, select's ready sets. */
void strace_net_result_note(struct linux_thread *thread, GString *out, uint64_t number,
                            const uint64_t *args, long result);

/* ---- strace_fs.c ---- */

/* The whole argument list of the calls strace_fs.c decodes (futex,
 * getdents, statx, statfs, xattrs, uname, sysinfo, groups, affinity, a few
 * file calls); false for the others, which print nothing then. */
/* At the call's entry: what strace reads before the call (copy_file_range's
 * offsets), kept in thread->strace_entry. */
void strace_fs_entry(struct linux_thread *thread, const struct linux_syscall *call);
/* " = 1 (SUID_DUMP_USER)": the results strace_fs.c names; false for others. */
bool strace_fs_result(GString *out, uint64_t number, const uint64_t *args, long result);
bool strace_fs_arguments(struct linux_thread *thread, GString *out, uint64_t number,
                         const uint64_t *args, long result);

#endif
