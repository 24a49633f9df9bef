/*
 * linux/net.c — sockets.
 *
 * The program's sockets are host sockets owned by the monitor: a server in
 * the guest listens on the host's port, a client connects from the host's
 * addresses. Only the guest's pointers need care: every sockaddr, msghdr,
 * iovec and control message is copied through the checked path, data moves
 * between the host socket and guest RAM through host iovecs (guest_iovec),
 * and file descriptors inside SCM_RIGHTS messages are translated between
 * guest and host numbers in both directions. Socket options are passed to the
 * host only when their value is plain data (no pointer or fd inside), so the
 * host kernel never follows a guest address. A guest fd that is open but not
 * a socket is passed as is: the host answers ENOTSOCK, as Linux does.
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Linux's UIO_MAXIOV: the most iovecs one msghdr may carry (EMSGSIZE
 * beyond), and the most messages one sendmmsg/recvmmsg handles. */
#define NET_UIO_MAXIOV 1024

/* Host iovecs per host call: guest buffers are described page run by page
 * run, and the host refuses more than UIO_MAXIOV. */
#define NET_HOST_IOV_MAX 1024

/* Largest control buffer passed through (Linux's optmem_max is 20 KiB by
 * default; a larger send gets ENOBUFS there too). */
#define NET_CONTROL_MAX 65536

/* Largest socket option value copied: most are an int, TCP_INFO is ~250
 * bytes, SO_PEERGROUPS a gid_t per group. */
#define NET_OPTION_MAX 4096

/* struct mmsghdr: a msghdr and the byte count the kernel writes back. */
struct guest_mmsghdr {
    struct guest_msghdr header;
    uint32_t len;
    uint32_t pad;
};

struct guest_iov {
    uint64_t base;
    uint64_t len;
};

_Static_assert(sizeof(struct guest_mmsghdr) == 64, "x86-64 mmsghdr");

/* ---- fds and addresses --------------------------------------------------- */

static bool net_same_directory(int first, int second)
{
    struct stat a, b;
    return fstatat(first, "", &a, AT_EMPTY_PATH) == 0 &&
           fstatat(second, "", &b, AT_EMPTY_PATH) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

long linux_path_for_host(struct linux_process *process, const char *path, bool follow, char *out,
                         size_t size)
{
    struct linux_path resolved;
    long error = linux_path_resolve(process, LINUX_AT_FDCWD, path, follow, &resolved);
    if (!error && process->root_fd >= 0) /* the host's lookup must not leave --root */
        error = linux_path_anchor(process, &resolved, follow);
    if (error)
        return error;
    /* A generated /proc object has nothing on the host to bind or watch. */
    if (resolved.kind != LINUX_PATH_HOST)
        return -ENOENT;
    int written;
    if (resolved.path[0] == '/' || resolved.dirfd == AT_FDCWD ||
        net_same_directory(resolved.dirfd, AT_FDCWD))
        written = snprintf(out, size, "%s", resolved.path);
    else
        written = snprintf(out, size, "/proc/self/fd/%d/%s", resolved.dirfd, resolved.path);
    return written < 0 || (size_t)written >= size ? -ENAMETOOLONG : 0;
}

/* A name bound as `host` for the program's `guest`: what getsockname,
 * getpeername, accept and recvfrom give back is the program's own, as
 * natively the string it bound (not the monitor's /proc/self/fd/N/...). */
static void net_unix_remember(struct linux_process *process, const char *host, const char *guest)
{
    g_mutex_lock(&process->misc_lock);
    if (!process->unix_names)
        process->unix_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_replace(process->unix_names, g_strdup(host), g_strdup(guest));
    g_mutex_unlock(&process->misc_lock);
}

/* A host AF_UNIX address made the program's again, where it was bound here. */
static void net_unix_address_to_guest(struct linux_process *process,
                                      struct sockaddr_storage *storage, socklen_t *length)
{
    struct sockaddr_un *address = (struct sockaddr_un *)storage;
    size_t offset = offsetof(struct sockaddr_un, sun_path);
    if (address->sun_family != AF_UNIX || *length <= offset || address->sun_path[0] == '\0')
        return;
    char host[sizeof(address->sun_path) + 1] = {0};
    memcpy(host, address->sun_path, MIN(*length - offset, sizeof(address->sun_path)));
    g_mutex_lock(&process->misc_lock);
    const char *guest = process->unix_names ? g_hash_table_lookup(process->unix_names, host) : NULL;
    if (guest) {
        memset(address->sun_path, 0, sizeof(address->sun_path));
        memcpy(address->sun_path, guest, strlen(guest));
        *length = (socklen_t)(offset + strlen(guest) + 1);
    }
    g_mutex_unlock(&process->misc_lock);
}

/* An AF_UNIX path is looked up by the host relative to the monitor's cwd;
 * the program's cwd is its own (proc.c), so its relative paths are
 * rewritten (linux_path_for_host), and under --root every path. Abstract
 * names (a leading NUL) and unnamed addresses are left alone. */
static long net_unix_address_to_host(struct linux_process *process,
                                     struct sockaddr_storage *storage, socklen_t *length,
                                     bool follow)
{
    struct sockaddr_un *address = (struct sockaddr_un *)storage;
    size_t offset = offsetof(struct sockaddr_un, sun_path);
    if (address->sun_family != AF_UNIX || *length <= offset || address->sun_path[0] == '\0')
        return 0;
    char path[sizeof(address->sun_path) + 1] = {0};
    memcpy(path, address->sun_path, MIN(*length - offset, sizeof(address->sun_path)));
    char host[sizeof(address->sun_path)];
    long error = linux_path_for_host(process, path, follow, host, sizeof(host));
    if (error)
        return error == -ENAMETOOLONG ? -EINVAL : error;
    if (strcmp(host, path) == 0)
        return 0;
    if (!follow) /* bind */
        net_unix_remember(process, host, path);
    memset(address->sun_path, 0, sizeof(address->sun_path));
    memcpy(address->sun_path, host, strlen(host));
    *length = (socklen_t)(offset + strlen(host) + 1);
    return 0;
}

/* Copies a sockaddr argument in (move_addr_to_kernel): EINVAL for a length
 * beyond sockaddr_storage, EFAULT for a bad pointer. follow: whether a final
 * symlink in an AF_UNIX path is followed (not by bind, which creates it). */
static long net_address_in(struct linux_process *process, uint64_t address, uint64_t length,
                           struct sockaddr_storage *storage, socklen_t *storage_length, bool follow)
{
    int32_t len = (int32_t)length;
    if (len < 0 || (size_t)len > sizeof(*storage))
        return -EINVAL;
    memset(storage, 0, sizeof(*storage));
    if (len && linux_copy_in(process, address, storage, (size_t)len) != 0)
        return -EFAULT;
    *storage_length = (socklen_t)len;
    return net_unix_address_to_host(process, storage, storage_length, follow);
}

/* A sockaddr result the program asked for (accept, getsockname, recvfrom):
 * address 0 means "not wanted". */
struct net_address_out {
    uint64_t address, length_address;
    int32_t room; /* the length the program offered */
    struct sockaddr_storage storage;
    socklen_t length; /* in: sizeof(storage); out: the host's full length */
};

static long net_address_out_begin(struct linux_process *process, struct net_address_out *out,
                                  uint64_t address, uint64_t length_address)
{
    memset(out, 0, sizeof(*out));
    out->address = address;
    out->length_address = length_address;
    out->length = sizeof(out->storage);
    if (!address)
        return 0;
    if (linux_copy_in(process, length_address, &out->room, sizeof(out->room)) != 0)
        return -EFAULT;
    if (out->room < 0)
        return -EINVAL;
    return 0;
}

/* The host's struct sockaddr pointer for a result, NULL when not wanted. */
static struct sockaddr *net_address_out_host(struct net_address_out *out, socklen_t **length)
{
    *length = out->address ? &out->length : NULL;
    return out->address ? (struct sockaddr *)&out->storage : NULL;
}

/* move_addr_to_user: as much as fits, then the full length. */
static long net_address_out_end(struct linux_process *process, struct net_address_out *out)
{
    if (!out->address)
        return 0;
    net_unix_address_to_guest(process, &out->storage, &out->length);
    size_t copy = MIN((size_t)out->room, (size_t)out->length);
    copy = MIN(copy, sizeof(out->storage));
    if (copy && linux_copy_out(process, out->address, &out->storage, copy) != 0)
        return -EFAULT;
    int32_t full = (int32_t)out->length;
    if (linux_copy_out(process, out->length_address, &full, sizeof(full)) != 0)
        return -EFAULT;
    return 0;
}

/* ---- guest buffers as host iovecs --------------------------------------- */

static bool net_in_user_space(uint64_t address, uint64_t len)
{
    return address <= GUEST_USER_TOP && len <= GUEST_USER_TOP - address;
}

/*
 * Describes the guest iovecs as host iovecs, from the front, stopping when
 * NET_HOST_IOV_MAX are used or at the first page that fails `access`.
 * Returns the number of host iovecs; *covered is how many bytes they hold and
 * *fault whether a bad page ended the walk.
 */
static int net_describe(struct linux_process *process, const struct guest_iov *segments,
                        uint64_t count, enum guest_access access, struct iovec *iov,
                        uint64_t *covered, bool *fault)
{
    int used = 0;
    *covered = 0;
    *fault = false;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t address = segments[i].base, left = segments[i].len;
        if (left && !net_in_user_space(address, left)) {
            *fault = true;
            return used;
        }
        int whole = left ? guest_iovec(process->memory, address, left, access, iov + used,
                                       NET_HOST_IOV_MAX - used)
                         : 0;
        if (whole >= 0) {
            used += whole;
            *covered += left;
            continue;
        }
        /* Too many pieces or a bad page: page by page up to either. */
        while (left) {
            if (used == NET_HOST_IOV_MAX)
                return used;
            uint64_t piece = MIN(left, GUEST_PAGE_SIZE - address % GUEST_PAGE_SIZE);
            if (guest_iovec(process->memory, address, piece, access, iov + used, 1) != 1) {
                *fault = true;
                return used;
            }
            used++;
            *covered += piece;
            address += piece;
            left -= piece;
        }
    }
    return used;
}

/* Reads and checks a msghdr's iovec array: EMSGSIZE beyond UIO_MAXIOV,
 * EINVAL when the lengths overflow a ssize_t, EFAULT for a bad pointer. The
 * total is clipped to Linux's MAX_RW_COUNT. */
static long net_read_iovecs(struct linux_process *process, uint64_t address, uint64_t count,
                            struct guest_iov **segments)
{
    *segments = NULL;
    if (count > NET_UIO_MAXIOV)
        return -EMSGSIZE;
    struct guest_iov *array = g_new(struct guest_iov, count ? count : 1);
    if (count && linux_copy_in(process, address, array, count * sizeof(*array)) != 0) {
        g_free(array);
        return -EFAULT;
    }
    uint64_t total = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (array[i].len > INT64_MAX || array[i].len > (uint64_t)INT64_MAX - total) {
            g_free(array);
            return -EINVAL;
        }
        if (array[i].len > LINUX_MAX_RW_COUNT - MIN(total, LINUX_MAX_RW_COUNT))
            array[i].len = LINUX_MAX_RW_COUNT - MIN(total, LINUX_MAX_RW_COUNT);
        total += array[i].len;
    }
    *segments = array;
    return 0;
}

static uint64_t net_total(const struct guest_iov *segments, uint64_t count)
{
    uint64_t total = 0;
    for (uint64_t i = 0; i < count; i++)
        total += segments[i].len;
    return total;
}

/* Drops the first `done` bytes of the segments (a stream send continues). */
static void net_advance(struct guest_iov *segments, uint64_t count, uint64_t done)
{
    for (uint64_t i = 0; i < count && done; i++) {
        uint64_t step = MIN(done, segments[i].len);
        segments[i].base += step;
        segments[i].len -= step;
        done -= step;
    }
}

/* ---- control messages ---------------------------------------------------- */

/*
 * Walks a control buffer as the kernel's for_each_cmsghdr does. Returns the
 * next header at *offset (advanced past it), or NULL at the end; *malformed
 * is set for a header whose length is impossible (Linux: EINVAL).
 */
static struct cmsghdr *net_next_cmsg(uint8_t *control, size_t length, size_t *offset,
                                     bool *malformed)
{
    *malformed = false;
    if (*offset + sizeof(struct cmsghdr) > length)
        return NULL;
    struct cmsghdr *header = (struct cmsghdr *)(control + *offset);
    if (header->cmsg_len < sizeof(struct cmsghdr) || header->cmsg_len > length - *offset) {
        *malformed = true;
        return NULL;
    }
    *offset += CMSG_ALIGN(header->cmsg_len);
    return header;
}

static size_t net_cmsg_data_length(const struct cmsghdr *header)
{
    return header->cmsg_len - CMSG_LEN(0);
}

/* Outgoing control messages: guest fds become host fds; nothing
 * untranslated reaches the host. SCM_CREDENTIALS needs nothing: the guest's
 * pid is the monitor's host pid (docs/DESIGN.md, Identity). */
static long net_control_to_host(struct linux_process *process, uint8_t *control, size_t length)
{
    size_t offset = 0;
    bool malformed;
    struct cmsghdr *header;
    while ((header = net_next_cmsg(control, length, &offset, &malformed))) {
        if (header->cmsg_level != SOL_SOCKET)
            continue;
        if (header->cmsg_type == SCM_RIGHTS) {
            int *fds = (int *)CMSG_DATA(header);
            size_t count = net_cmsg_data_length(header) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int host_fd = fds[i] < 0 ? -1 : linux_fd_host(process, (uint64_t)fds[i]);
                if (host_fd < 0)
                    return -EBADF;
                fds[i] = host_fd;
            }
        }
    }
    return malformed ? -EINVAL : 0;
}

/* Installs the fds of one received SCM_RIGHTS message in the guest table;
 * when the table is full the rest are closed and the message shortened, as
 * scm_detach_fds does (MSG_CTRUNC). */
static void net_install_received_fds(struct linux_process *process, struct cmsghdr *header,
                                     bool cloexec, int *flags)
{
    int *fds = (int *)CMSG_DATA(header);
    size_t count = net_cmsg_data_length(header) / sizeof(int);
    size_t installed = 0;
    for (size_t i = 0; i < count; i++) {
        long guest_fd = installed == i ? linux_fd_install(process, fds[i], 0, cloexec) : -EMFILE;
        if (guest_fd < 0) {
            if (installed != i)
                close(fds[i]);
            *flags |= MSG_CTRUNC;
            continue;
        }
        fds[installed++] = (int)guest_fd;
    }
    header->cmsg_len = CMSG_LEN(installed * sizeof(int));
}

/* Incoming control messages: host fds become guest fds. */
static void net_control_from_host(struct linux_process *process, uint8_t *control, size_t length,
                                  bool cloexec, int *flags)
{
    size_t offset = 0;
    bool malformed;
    struct cmsghdr *header;
    while ((header = net_next_cmsg(control, length, &offset, &malformed))) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS)
            net_install_received_fds(process, header, cloexec, flags);
    }
}

/* Undoes the installs of a received control buffer that could not be
 * delivered (the program's buffer faulted). */
static void net_release_received_fds(struct linux_process *process, uint8_t *control, size_t length)
{
    size_t offset = 0;
    bool malformed;
    struct cmsghdr *header;
    while ((header = net_next_cmsg(control, length, &offset, &malformed))) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
            continue;
        int *fds = (int *)CMSG_DATA(header);
        for (size_t i = 0; i < net_cmsg_data_length(header) / sizeof(int); i++)
            linux_fd_release(process, fds[i]);
    }
}

/* ---- socket, socketpair, bind, listen, accept, connect ------------------ */

/* Address families the program may use: those real programs need (netlink
 * for getifaddrs and getaddrinfo's AI_ADDRCONFIG). --net=none refuses the
 * internet ones with EACCES, as a sandbox's LSM would. */
static long net_check_family(struct linux_process *process, int family)
{
    switch (family) {
    case AF_UNIX:
    case AF_NETLINK:
        return 0;
    case AF_INET:
    case AF_INET6:
        return process->config.net_none ? -EACCES : 0;
    default:
        if (process->config.verbose)
            fprintf(stderr, "hermitux-run: unsupported socket address family %d\n", family);
        return -EAFNOSUPPORT;
    }
}

static long sys_socket(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int family = (int)args[0], type = (int)args[1], protocol = (int)args[2];
    long refused = net_check_family(process, family);
    if (refused)
        return refused;
    int host_fd = socket(family, type | SOCK_CLOEXEC, protocol);
    if (host_fd < 0)
        return linux_host_error();
    return linux_fd_install(process, host_fd, 0, type & SOCK_CLOEXEC);
}

static long sys_socketpair(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int family = (int)args[0], type = (int)args[1], protocol = (int)args[2];
    long refused = net_check_family(process, family);
    if (refused)
        return refused;
    int host_fds[2];
    if (socketpair(family, type | SOCK_CLOEXEC, protocol, host_fds) != 0)
        return linux_host_error();
    bool cloexec = type & SOCK_CLOEXEC;
    long first = linux_fd_install(process, host_fds[0], 0, cloexec);
    if (first < 0) {
        close(host_fds[1]);
        return first;
    }
    long second = linux_fd_install(process, host_fds[1], 0, cloexec);
    if (second < 0) {
        linux_fd_release(process, (int)first);
        return second;
    }
    int guest_fds[2] = {(int)first, (int)second};
    if (linux_copy_out(process, args[3], guest_fds, sizeof(guest_fds)) != 0) {
        linux_fd_release(process, (int)first);
        linux_fd_release(process, (int)second);
        return -EFAULT;
    }
    return 0;
}

/* bind and connect: a socket and an address in. */
static long net_with_address(struct linux_process *process, const uint64_t *args, bool is_connect)
{
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    struct sockaddr_storage storage;
    socklen_t length;
    long error = net_address_in(process, args[1], args[2], &storage, &length, is_connect);
    if (error)
        return error;
    const struct sockaddr *address = (const struct sockaddr *)&storage;
    int result = is_connect ? connect(host_fd, address, length) : bind(host_fd, address, length);
    return linux_host_result(result);
}

static long sys_bind(struct linux_thread *thread, const uint64_t *args)
{
    return net_with_address(thread->process, args, false);
}

static long sys_connect(struct linux_thread *thread, const uint64_t *args)
{
    return net_with_address(thread->process, args, true);
}

/* listen and shutdown: a socket and an int. */
static long net_with_int(struct linux_process *process, const uint64_t *args, int (*call)(int, int))
{
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    return linux_host_result(call(host_fd, (int)args[1]));
}

static long sys_listen(struct linux_thread *thread, const uint64_t *args)
{
    return net_with_int(thread->process, args, listen);
}

static long net_accept(struct linux_process *process, const uint64_t *args, int flags)
{
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return -EINVAL;
    /* Linux takes the fd first: with the table full the connection stays
     * in the backlog for a later accept. */
    long free_fd = linux_fd_free_slot(process, 0);
    if (free_fd < 0)
        return free_fd;
    struct net_address_out peer;
    long error = net_address_out_begin(process, &peer, args[1], args[2]);
    if (error)
        return error;
    socklen_t *length;
    struct sockaddr *address = net_address_out_host(&peer, &length);
    int accepted = accept4(host_fd, address, length, flags | SOCK_CLOEXEC);
    if (accepted < 0)
        return linux_host_error();
    /* Linux hands out the address before installing the fd: a bad pointer
     * loses the connection. */
    if (net_address_out_end(process, &peer) != 0) {
        close(accepted);
        return -EFAULT;
    }
    return linux_fd_install(process, accepted, 0, flags & SOCK_CLOEXEC);
}

static long sys_accept(struct linux_thread *thread, const uint64_t *args)
{
    return net_accept(thread->process, args, 0);
}

static long sys_accept4(struct linux_thread *thread, const uint64_t *args)
{
    return net_accept(thread->process, args, (int)args[3]);
}

/* getsockname and getpeername. */
static long net_name(struct linux_process *process, const uint64_t *args, bool peer)
{
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    struct net_address_out name;
    long error = net_address_out_begin(process, &name, args[1], args[2]);
    if (error)
        return error;
    if (!name.address)
        return -EFAULT;
    socklen_t *length;
    struct sockaddr *address = net_address_out_host(&name, &length);
    int result =
        peer ? getpeername(host_fd, address, length) : getsockname(host_fd, address, length);
    if (result < 0)
        return linux_host_error();
    return net_address_out_end(process, &name);
}

static long sys_getsockname(struct linux_thread *thread, const uint64_t *args)
{
    return net_name(thread->process, args, false);
}

static long sys_getpeername(struct linux_thread *thread, const uint64_t *args)
{
    return net_name(thread->process, args, true);
}

static long sys_shutdown(struct linux_thread *thread, const uint64_t *args)
{
    return net_with_int(thread->process, args, shutdown);
}

/* ---- sending and receiving ---------------------------------------------- */

/* One message on its way, with everything the host call needs copied in. */
struct net_message {
    struct guest_iov *segments;
    uint64_t segment_count;
    struct sockaddr_storage name;
    socklen_t name_length;
    bool has_name;
    uint64_t name_address; /* receive: where the peer's address goes */
    int32_t name_room;
    uint8_t *control;
    size_t control_length;
    uint64_t control_address;
};

static void net_message_free(struct net_message *message)
{
    g_free(message->segments);
    g_free(message->control);
    memset(message, 0, sizeof(*message));
}

static int net_socket_type(int host_fd)
{
    int type = 0;
    socklen_t length = sizeof(type);
    if (getsockopt(host_fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0)
        return -1;
    return type;
}

/*
 * Sends a message: one host sendmsg per NET_HOST_IOV_MAX pieces of guest
 * buffer. A stream socket continues with the rest after a complete piece (a
 * blocking send sends everything); a datagram must fit one call. The host
 * never raises SIGPIPE (MSG_NOSIGNAL); the program gets it as Linux would
 * send it.
 */
static long net_send(struct linux_process *process, int host_fd, struct net_message *message,
                     int flags)
{
    struct iovec *iov = g_new(struct iovec, NET_HOST_IOV_MAX);
    uint64_t total = net_total(message->segments, message->segment_count), done = 0;
    long result;
    bool stream = false, first = true;
    for (;;) {
        uint64_t covered;
        bool fault;
        int count = net_describe(process, message->segments, message->segment_count,
                                 GUEST_ACCESS_USER_READ, iov, &covered, &fault);
        if (first && covered < total) {
            /* A datagram goes whole or not at all. */
            stream = net_socket_type(host_fd) == SOCK_STREAM;
            if (!stream) {
                result = fault ? -EFAULT : -EMSGSIZE;
                break;
            }
        }
        if (fault && covered == 0) {
            result = done ? (long)done : -EFAULT;
            break;
        }
        struct msghdr header = {
            .msg_name = message->has_name ? &message->name : NULL,
            .msg_namelen = message->has_name ? message->name_length : 0,
            .msg_iov = iov,
            .msg_iovlen = (size_t)count,
            .msg_control = message->control_length ? message->control : NULL,
            .msg_controllen = message->control_length,
        };
        ssize_t sent = sendmsg(host_fd, &header, flags | MSG_NOSIGNAL);
        if (sent < 0) {
            result = done ? (long)done : linux_host_error();
            if (!done && errno == EPIPE && !(flags & MSG_NOSIGNAL))
                linux_broken_pipe(process);
            break;
        }
        first = false;
        done += (uint64_t)sent;
        /* Control messages go with the first piece only. */
        message->control_length = 0;
        net_advance(message->segments, message->segment_count, (uint64_t)sent);
        if ((uint64_t)sent < covered || done >= total || fault || !stream) {
            result = (long)done;
            break;
        }
    }
    g_free(iov);
    return result;
}

/* Receives one message into guest memory; the name, control buffer and
 * flags the host reports are delivered by net_deliver. */
static long net_receive(struct linux_process *process, int host_fd, struct net_message *message,
                        int flags, int *out_flags)
{
    struct iovec *iov = g_new(struct iovec, NET_HOST_IOV_MAX);
    uint64_t covered;
    bool fault;
    int count = net_describe(process, message->segments, message->segment_count,
                             GUEST_ACCESS_USER_WRITE, iov, &covered, &fault);
    long result;
    if (fault && covered == 0) {
        result = -EFAULT;
    } else {
        struct msghdr header = {
            .msg_name = message->name_address ? &message->name : NULL,
            .msg_namelen = message->name_address ? sizeof(message->name) : 0,
            .msg_iov = iov,
            .msg_iovlen = (size_t)count,
            .msg_control = message->control_length ? message->control : NULL,
            .msg_controllen = message->control_length,
        };
        /* Received fds must be close-on-exec in the monitor whatever the
         * program asked for its own copies. */
        ssize_t received = recvmsg(host_fd, &header, flags | MSG_CMSG_CLOEXEC);
        result = received < 0 ? linux_host_error() : received;
        if (received >= 0) {
            message->name_length = header.msg_namelen;
            if (message->name_address)
                net_unix_address_to_guest(process, &message->name, &message->name_length);
            message->control_length = header.msg_controllen;
            /* The flag the monitor added shows only if the program asked. */
            *out_flags = header.msg_flags & ~(MSG_CMSG_CLOEXEC & ~flags);
            net_control_from_host(process, message->control, message->control_length,
                                  flags & MSG_CMSG_CLOEXEC, out_flags);
        } else {
            message->control_length = 0;
        }
    }
    g_free(iov);
    return result;
}

/* Copies a guest msghdr's parts in: iovecs, name (send) or the room for it
 * (receive), control buffer. */
static long net_message_in(struct linux_process *process, const struct guest_msghdr *header,
                           bool is_send, struct net_message *message)
{
    memset(message, 0, sizeof(*message));
    long error = net_read_iovecs(process, header->iov, header->iovlen, &message->segments);
    if (error)
        return error;
    message->segment_count = header->iovlen;
    if (is_send && header->name) {
        error = net_address_in(process, header->name, header->namelen, &message->name,
                               &message->name_length, true);
        if (error)
            return error;
        message->has_name = true;
    } else if (!is_send && header->name) {
        message->name_address = header->name;
        message->name_room = (int32_t)header->namelen;
        if (message->name_room < 0)
            return -EINVAL;
    }
    if (header->control && header->controllen) {
        /* A receive takes what fits in NET_CONTROL_MAX (the rest would be
         * MSG_CTRUNC); a send beyond it is refused as optmem_max does. */
        if (is_send && header->controllen > NET_CONTROL_MAX)
            return -ENOBUFS;
        message->control_length = MIN(header->controllen, NET_CONTROL_MAX);
        message->control_address = header->control;
        message->control = g_malloc0(message->control_length);
        if (is_send &&
            linux_copy_in(process, header->control, message->control, message->control_length) != 0)
            return -EFAULT;
        if (is_send)
            return net_control_to_host(process, message->control, message->control_length);
    }
    return 0;
}

/* Writes a received message's name, control buffer and flags back into the
 * program's msghdr at header_address (0: a recvfrom, name only). */
static long net_deliver(struct linux_process *process, struct net_message *message,
                        uint64_t header_address, uint64_t name_length_address, int flags)
{
    long error = 0;
    if (message->name_address) {
        struct net_address_out name = {
            .address = message->name_address,
            .length_address = name_length_address,
            .room = message->name_room,
            .storage = message->name,
            .length = message->name_length,
        };
        if (header_address) {
            name.length_address = 0;
            size_t copy = MIN((size_t)name.room, (size_t)name.length);
            if (copy && linux_copy_out(process, name.address, &name.storage, copy) != 0)
                error = -EFAULT;
        } else {
            error = net_address_out_end(process, &name);
        }
    }
    if (!header_address)
        return error;
    if (!error && message->control_length &&
        linux_copy_out(process, message->control_address, message->control,
                       message->control_length) != 0)
        error = -EFAULT;
    struct guest_msghdr written;
    if (!error && linux_copy_in(process, header_address, &written, sizeof(written)) != 0)
        error = -EFAULT;
    if (!error) {
        if (message->name_address)
            written.namelen = message->name_length;
        written.controllen = message->control_length;
        written.flags = flags;
        if (linux_copy_out(process, header_address, &written, sizeof(written)) != 0)
            error = -EFAULT;
    }
    if (error)
        net_release_received_fds(process, message->control, message->control_length);
    return error;
}

/* The message of sendto and recvfrom: one buffer, no control data. */
static struct net_message net_one_segment(uint64_t buffer, uint64_t length)
{
    struct net_message message = {0};
    struct guest_iov segment = {buffer, MIN(length, LINUX_MAX_RW_COUNT)};
    message.segments = g_memdup2(&segment, sizeof(segment));
    message.segment_count = 1;
    return message;
}

static long sys_sendto(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    struct net_message message = net_one_segment(args[1], args[2]);
    long result = 0;
    if (args[4]) {
        result =
            net_address_in(process, args[4], args[5], &message.name, &message.name_length, true);
        message.has_name = true;
    }
    if (!result)
        result = net_send(process, host_fd, &message, (int)args[3]);
    net_message_free(&message);
    return result;
}

static long sys_recvfrom(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    struct net_message message = net_one_segment(args[1], args[2]);
    long result = 0;
    if (args[4]) {
        struct net_address_out room;
        result = net_address_out_begin(process, &room, args[4], args[5]);
        message.name_address = args[4];
        message.name_room = room.room;
    }
    int flags = 0;
    if (!result)
        result = net_receive(process, host_fd, &message, (int)args[3], &flags);
    if (result >= 0) {
        long error = net_deliver(process, &message, 0, args[5], flags);
        if (error)
            result = error;
    }
    net_message_free(&message);
    return result;
}

static long net_sendmsg(struct linux_process *process, int host_fd, uint64_t header_address,
                        int flags)
{
    struct guest_msghdr header;
    if (linux_copy_in(process, header_address, &header, sizeof(header)) != 0)
        return -EFAULT;
    struct net_message message;
    long result = net_message_in(process, &header, true, &message);
    if (!result)
        result = net_send(process, host_fd, &message, flags);
    net_message_free(&message);
    return result;
}

static long net_recvmsg(struct linux_process *process, int host_fd, uint64_t header_address,
                        int flags)
{
    struct guest_msghdr header;
    if (linux_copy_in(process, header_address, &header, sizeof(header)) != 0)
        return -EFAULT;
    struct net_message message;
    long result = net_message_in(process, &header, false, &message);
    int out_flags = 0;
    if (!result)
        result = net_receive(process, host_fd, &message, flags, &out_flags);
    if (result >= 0) {
        long error = net_deliver(process, &message, header_address, 0, out_flags);
        if (error)
            result = error;
    }
    net_message_free(&message);
    return result;
}

static long sys_sendmsg(struct linux_thread *thread, const uint64_t *args)
{
    int host_fd = linux_fd_host(thread->process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    return net_sendmsg(thread->process, host_fd, args[1], (int)args[2]);
}

static long sys_recvmsg(struct linux_thread *thread, const uint64_t *args)
{
    int host_fd = linux_fd_host(thread->process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    return net_recvmsg(thread->process, host_fd, args[1], (int)args[2]);
}

/* Records one message's byte count in its mmsghdr. */
static long net_store_length(struct linux_process *process, uint64_t vector, uint64_t index,
                             long length)
{
    uint32_t value = (uint32_t)length;
    uint64_t address = vector + index * sizeof(struct guest_mmsghdr);
    return linux_copy_out(process, address + offsetof(struct guest_mmsghdr, len), &value,
                          sizeof(value)) != 0
               ? -EFAULT
               : 0;
}

static long sys_sendmmsg(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    uint64_t count = MIN((uint32_t)args[2], NET_UIO_MAXIOV);
    uint64_t sent = 0;
    long result = 0;
    for (; sent < count; sent++) {
        uint64_t address = args[1] + sent * sizeof(struct guest_mmsghdr);
        result = net_sendmsg(process, host_fd, address, (int)args[3]);
        if (result < 0)
            break;
        result = net_store_length(process, args[1], sent, result);
        if (result < 0)
            break;
    }
    /* As Linux: the error only when nothing was sent. */
    return sent ? (long)sent : result;
}

static long sys_recvmmsg(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    int flags = (int)args[3];
    struct timespec timeout, deadline, now;
    if (args[4]) {
        if (linux_copy_in(process, args[4], &timeout, sizeof(timeout)) != 0)
            return -EFAULT;
        if (timeout.tv_sec < 0 || timeout.tv_nsec < 0 || timeout.tv_nsec >= 1000000000L)
            return -EINVAL;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += MIN(timeout.tv_sec, (time_t)1 << 40);
        deadline.tv_nsec += timeout.tv_nsec;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    uint64_t count = MIN((uint32_t)args[2], NET_UIO_MAXIOV);
    uint64_t received = 0;
    long result = 0;
    for (; received < count; received++) {
        uint64_t address = args[1] + received * sizeof(struct guest_mmsghdr);
        result = net_recvmsg(process, host_fd, address, flags & ~MSG_WAITFORONE);
        if (result < 0)
            break;
        result = net_store_length(process, args[1], received, result);
        if (result < 0)
            break;
        if (flags & MSG_WAITFORONE)
            flags |= MSG_DONTWAIT;
        /* Linux checks the timeout only after each datagram. */
        if (args[4]) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec > deadline.tv_sec ||
                (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
                received++;
                break;
            }
        }
    }
    return received ? (long)received : result;
}

/* ---- socket options ------------------------------------------------------- */

#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif
#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct net_option {
    int level;
    int name;
};

/* Options whose value is plain data, passed to the host as is. Left out on
 * purpose: filters (SO_ATTACH_FILTER & co. carry a pointer or an fd),
 * netfilter's IPT_SO_* and IP6T_SO_* (pointers), TCP_ZEROCOPY_RECEIVE (an
 * address), TCP_ULP and TLS (kernel crypto). */
static const struct net_option net_options[] = {
    {SOL_SOCKET, SO_DEBUG},
    {SOL_SOCKET, SO_REUSEADDR},
    {SOL_SOCKET, SO_TYPE},
    {SOL_SOCKET, SO_ERROR},
    {SOL_SOCKET, SO_DONTROUTE},
    {SOL_SOCKET, SO_BROADCAST},
    {SOL_SOCKET, SO_SNDBUF},
    {SOL_SOCKET, SO_RCVBUF},
    {SOL_SOCKET, SO_SNDBUFFORCE},
    {SOL_SOCKET, SO_RCVBUFFORCE},
    {SOL_SOCKET, SO_KEEPALIVE},
    {SOL_SOCKET, SO_OOBINLINE},
    {SOL_SOCKET, SO_NO_CHECK},
    {SOL_SOCKET, SO_PRIORITY},
    {SOL_SOCKET, SO_LINGER},
    {SOL_SOCKET, SO_BSDCOMPAT},
    {SOL_SOCKET, SO_REUSEPORT},
    {SOL_SOCKET, SO_PASSCRED},
    {SOL_SOCKET, SO_PEERCRED},
    {SOL_SOCKET, SO_RCVLOWAT},
    {SOL_SOCKET, SO_SNDLOWAT},
    {SOL_SOCKET, SO_RCVTIMEO},
    {SOL_SOCKET, SO_SNDTIMEO},
    {SOL_SOCKET, SO_RCVTIMEO_NEW},
    {SOL_SOCKET, SO_SNDTIMEO_NEW},
    {SOL_SOCKET, SO_BINDTODEVICE},
    {SOL_SOCKET, SO_BINDTOIFINDEX},
    {SOL_SOCKET, SO_TIMESTAMP},
    {SOL_SOCKET, SO_TIMESTAMPNS},
    {SOL_SOCKET, SO_ACCEPTCONN},
    {SOL_SOCKET, SO_PEERSEC},
    {SOL_SOCKET, SO_PASSSEC},
    {SOL_SOCKET, SO_MARK},
    {SOL_SOCKET, SO_PROTOCOL},
    {SOL_SOCKET, SO_DOMAIN},
    {SOL_SOCKET, SO_RXQ_OVFL},
    {SOL_SOCKET, SO_PEEK_OFF},
    {SOL_SOCKET, SO_BUSY_POLL},
    {SOL_SOCKET, SO_INCOMING_CPU},
    {SOL_SOCKET, SO_COOKIE},
    {SOL_SOCKET, SO_PEERGROUPS},
    {IPPROTO_TCP, TCP_NODELAY},
    {IPPROTO_TCP, TCP_MAXSEG},
    {IPPROTO_TCP, TCP_CORK},
    {IPPROTO_TCP, TCP_KEEPIDLE},
    {IPPROTO_TCP, TCP_KEEPINTVL},
    {IPPROTO_TCP, TCP_KEEPCNT},
    {IPPROTO_TCP, TCP_SYNCNT},
    {IPPROTO_TCP, TCP_LINGER2},
    {IPPROTO_TCP, TCP_DEFER_ACCEPT},
    {IPPROTO_TCP, TCP_WINDOW_CLAMP},
    {IPPROTO_TCP, TCP_INFO},
    {IPPROTO_TCP, TCP_QUICKACK},
    {IPPROTO_TCP, TCP_CONGESTION},
    {IPPROTO_TCP, TCP_USER_TIMEOUT},
    {IPPROTO_TCP, TCP_FASTOPEN},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT},
    {IPPROTO_TCP, TCP_FASTOPEN_CONNECT},
    {IPPROTO_IP, IP_TOS},
    {IPPROTO_IP, IP_TTL},
    {IPPROTO_IP, IP_OPTIONS},
    {IPPROTO_IP, IP_RECVOPTS},
    {IPPROTO_IP, IP_RETOPTS},
    {IPPROTO_IP, IP_PKTINFO},
    {IPPROTO_IP, IP_MTU_DISCOVER},
    {IPPROTO_IP, IP_RECVERR},
    {IPPROTO_IP, IP_RECVTTL},
    {IPPROTO_IP, IP_RECVTOS},
    {IPPROTO_IP, IP_MTU},
    {IPPROTO_IP, IP_FREEBIND},
    {IPPROTO_IP, IP_TRANSPARENT},
    {IPPROTO_IP, IP_RECVORIGDSTADDR},
    {IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT},
    {IPPROTO_IP, IP_MULTICAST_IF},
    {IPPROTO_IP, IP_MULTICAST_TTL},
    {IPPROTO_IP, IP_MULTICAST_LOOP},
    {IPPROTO_IP, IP_ADD_MEMBERSHIP},
    {IPPROTO_IP, IP_DROP_MEMBERSHIP},
    {IPPROTO_IP, IP_MULTICAST_ALL},
    {IPPROTO_IPV6, IPV6_V6ONLY},
    {IPPROTO_IPV6, IPV6_UNICAST_HOPS},
    {IPPROTO_IPV6, IPV6_MULTICAST_IF},
    {IPPROTO_IPV6, IPV6_MULTICAST_HOPS},
    {IPPROTO_IPV6, IPV6_MULTICAST_LOOP},
    {IPPROTO_IPV6, IPV6_JOIN_GROUP},
    {IPPROTO_IPV6, IPV6_LEAVE_GROUP},
    {IPPROTO_IPV6, IPV6_MTU_DISCOVER},
    {IPPROTO_IPV6, IPV6_MTU},
    {IPPROTO_IPV6, IPV6_RECVERR},
    {IPPROTO_IPV6, IPV6_RECVPKTINFO},
    {IPPROTO_IPV6, IPV6_PKTINFO},
    {IPPROTO_IPV6, IPV6_RECVHOPLIMIT},
    {IPPROTO_IPV6, IPV6_HOPLIMIT},
    {IPPROTO_IPV6, IPV6_RECVTCLASS},
    {IPPROTO_IPV6, IPV6_TCLASS},
    {IPPROTO_UDP, UDP_CORK},
    {IPPROTO_UDP, UDP_SEGMENT},
    {IPPROTO_UDP, UDP_GRO},
    {SOL_NETLINK, NETLINK_ADD_MEMBERSHIP},
    {SOL_NETLINK, NETLINK_DROP_MEMBERSHIP},
    {SOL_NETLINK, NETLINK_PKTINFO},
    {SOL_NETLINK, NETLINK_BROADCAST_ERROR},
    {SOL_NETLINK, NETLINK_NO_ENOBUFS},
    {SOL_NETLINK, NETLINK_CAP_ACK},
    {SOL_NETLINK, NETLINK_EXT_ACK},
    {SOL_NETLINK, NETLINK_GET_STRICT_CHK},
};

/* Whether an option may reach the host; the others are refused with
 * ENOPROTOOPT (Linux's answer for an option a socket does not know) and
 * logged with -v. */
static bool net_option_allowed(struct linux_process *process, int level, int name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(net_options); i++) {
        if (net_options[i].level == level && net_options[i].name == name)
            return true;
    }
    if (process->config.verbose)
        fprintf(stderr, "hermitux-run: unsupported socket option level %d name %d\n", level, name);
    return false;
}

static long sys_setsockopt(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    int level = (int)args[1], name = (int)args[2];
    int32_t length = (int32_t)args[4];
    if (length < 0)
        return -EINVAL;
    if (!net_option_allowed(process, level, name))
        return -ENOPROTOOPT;
    /* Options read a prefix of their value; a longer one is cut to what
     * any option reads. */
    uint8_t value[NET_OPTION_MAX] = {0};
    size_t copy = MIN((size_t)length, sizeof(value));
    if (copy && linux_copy_in(process, args[3], value, copy) != 0)
        return -EFAULT;
    return linux_host_result(
        setsockopt(host_fd, level, name, args[3] ? value : NULL, (socklen_t)copy));
}

static long sys_getsockopt(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    int level = (int)args[1], name = (int)args[2];
    int32_t room;
    if (linux_copy_in(process, args[4], &room, sizeof(room)) != 0)
        return -EFAULT;
    if (room < 0)
        return -EINVAL;
    if (!net_option_allowed(process, level, name))
        return -ENOPROTOOPT;
    uint8_t value[NET_OPTION_MAX] = {0};
    socklen_t length = (socklen_t)MIN((size_t)room, sizeof(value));
    if (getsockopt(host_fd, level, name, value, &length) != 0)
        return linux_host_error();
    length = MIN(length, (socklen_t)sizeof(value));
    if (length && linux_copy_out(process, args[3], value, length) != 0)
        return -EFAULT;
    int32_t written = (int32_t)length;
    if (linux_copy_out(process, args[4], &written, sizeof(written)) != 0)
        return -EFAULT;
    return 0;
}

void linux_register_net(linux_handler *table)
{
    table[SYS_socket] = sys_socket;
    table[SYS_socketpair] = sys_socketpair;
    table[SYS_bind] = sys_bind;
    table[SYS_connect] = sys_connect;
    table[SYS_listen] = sys_listen;
    table[SYS_accept] = sys_accept;
    table[SYS_accept4] = sys_accept4;
    table[SYS_getsockname] = sys_getsockname;
    table[SYS_getpeername] = sys_getpeername;
    table[SYS_shutdown] = sys_shutdown;
    table[SYS_sendto] = sys_sendto;
    table[SYS_recvfrom] = sys_recvfrom;
    table[SYS_sendmsg] = sys_sendmsg;
    table[SYS_recvmsg] = sys_recvmsg;
    table[SYS_sendmmsg] = sys_sendmmsg;
    table[SYS_recvmmsg] = sys_recvmmsg;
    table[SYS_setsockopt] = sys_setsockopt;
    table[SYS_getsockopt] = sys_getsockopt;
}
