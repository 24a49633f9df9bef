/*
 * vFile (Host I/O): the program's own files, in GDB's File-I/O terms.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "gdbstub/internal.h"

/* ---- vFile: the program's files, in GDB's File-I/O terms ----------------- */

/* GDB's errno values (File-I/O protocol) for a host errno. */
static int fileio_errno(int error)
{
    switch (error) {
    case EPERM:
    case ENOENT:
    case EINTR:
    case EBADF:
    case EACCES:
    case EFAULT:
    case EBUSY:
    case EEXIST:
    case ENODEV:
    case ENOTDIR:
    case EISDIR:
    case EINVAL:
    case ENFILE:
    case EMFILE:
    case EFBIG:
    case ENOSPC:
    case ESPIPE:
    case EROFS:
        return error;
    case ENAMETOOLONG:
        return 91;
    default:
        return 9999; /* EUNKNOWN */
    }
}

static void reply_fileio_error(struct gdbstub *stub, int error)
{
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "F-1,%x", fileio_errno(error));
    gdbstub_reply_string(stub, text);
}

/* GDB's open flags (File-I/O protocol) as the host's. */
static int host_open_flags(uint64_t flags)
{
    int host = (int)(flags & 3); /* O_RDONLY, O_WRONLY, O_RDWR */
    if (flags & 0x8)
        host |= O_APPEND;
    if (flags & 0x200)
        host |= O_CREAT;
    if (flags & 0x400)
        host |= O_TRUNC;
    if (flags & 0x800)
        host |= O_EXCL;
    return host;
}

static bool take_hex_string(struct gdbstub_cursor *args, char *out, size_t size)
{
    const char *end = memchr(args->next, ',', (size_t)(args->end - args->next));
    size_t hex_length = (size_t)((end ? end : args->end) - args->next);
    if (hex_length % 2 || hex_length / 2 >= size ||
        !gdbstub_decode_hex(args->next, hex_length, (uint8_t *)out))
        return false;
    out[hex_length / 2] = '\0';
    args->next += hex_length;
    return memchr(out, '\0', hex_length / 2) == NULL;
}

static bool session_file(const struct gdbstub *stub, uint64_t fd, guint *index)
{
    for (guint i = 0; i < stub->files->len; i++) {
        if ((uint64_t)g_array_index(stub->files, int, i) == fd) {
            *index = i;
            return true;
        }
    }
    return false;
}

void gdbstub_close_session_files(struct gdbstub *stub)
{
    for (guint i = 0; i < stub->files->len; i++)
        close(g_array_index(stub->files, int, i));
    g_array_set_size(stub->files, 0);
}

/* vFile:setfs:PID — one filesystem, the program's, whatever PID. */
static void file_setfs(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t pid;
    if (!gdbstub_take_hex(args, &pid) || !gdbstub_at_end(args))
        reply_fileio_error(stub, EINVAL);
    else
        gdbstub_reply(stub, "F0");
}

static void file_open(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    char path[4096];
    uint64_t flags, mode;
    if (!take_hex_string(args, path, sizeof path) || !gdbstub_take_char(args, ',') ||
        !gdbstub_take_hex(args, &flags) || !gdbstub_take_char(args, ',') ||
        !gdbstub_take_hex(args, &mode) || !gdbstub_at_end(args)) {
        reply_fileio_error(stub, EINVAL);
        return;
    }
    int fd = stub->ops->file_open(stub->opaque, path, host_open_flags(flags), (unsigned)mode);
    if (fd < 0) {
        reply_fileio_error(stub, -fd);
        return;
    }
    g_array_append_val(stub->files, fd);
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "F%x", fd);
    gdbstub_reply_string(stub, text);
}

static void file_pread(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t fd, count, offset;
    guint index;
    if (!gdbstub_take_hex(args, &fd) || !gdbstub_take_char(args, ',') ||
        !gdbstub_take_hex(args, &count) || !gdbstub_take_char(args, ',') ||
        !gdbstub_take_hex(args, &offset) || !gdbstub_at_end(args)) {
        reply_fileio_error(stub, EINVAL);
        return;
    }
    if (!session_file(stub, fd, &index)) {
        reply_fileio_error(stub, EBADF);
        return;
    }
    /* Escaping may double every byte: half a packet is always safe. */
    count = MIN(count, (uint64_t)GDB_PACKET_SIZE / 2 - 32);
    uint8_t *buffer = g_malloc(count ? count : 1);
    ssize_t got = pread((int)fd, buffer, count, (off_t)offset);
    if (got < 0) {
        reply_fileio_error(stub, errno);
    } else {
        GString *text = g_string_new(NULL);
        g_string_append_printf(text, "F%zx;", (size_t)got);
        gdbstub_append_escaped(text, buffer, (size_t)got);
        gdbstub_reply_string(stub, text);
    }
    g_free(buffer);
}

static void file_close(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t fd;
    guint index;
    if (!gdbstub_take_hex(args, &fd) || !gdbstub_at_end(args)) {
        reply_fileio_error(stub, EINVAL);
    } else if (!session_file(stub, fd, &index)) {
        reply_fileio_error(stub, EBADF);
    } else {
        close((int)fd);
        g_array_remove_index_fast(stub->files, index);
        gdbstub_reply(stub, "F0");
    }
}

static void put_be(uint8_t *out, uint64_t value, size_t size)
{
    for (size_t i = 0; i < size; i++)
        out[i] = (uint8_t)(value >> (8 * (size - 1 - i)));
}

/* struct stat in GDB's File-I/O form: big-endian, 32-bit fields but for
 * size, blksize and blocks. */
static void file_fstat(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t fd;
    guint index;
    struct stat st;
    if (!gdbstub_take_hex(args, &fd) || !gdbstub_at_end(args)) {
        reply_fileio_error(stub, EINVAL);
        return;
    }
    if (!session_file(stub, fd, &index) || fstat((int)fd, &st) < 0) {
        reply_fileio_error(stub, EBADF);
        return;
    }
    uint8_t out[64];
    const uint64_t fields32a[] = {st.st_dev, st.st_ino, st.st_mode, st.st_nlink,
                                  st.st_uid, st.st_gid, st.st_rdev};
    for (size_t i = 0; i < G_N_ELEMENTS(fields32a); i++)
        put_be(out + 4 * i, fields32a[i], 4);
    put_be(out + 28, (uint64_t)st.st_size, 8);
    put_be(out + 36, (uint64_t)st.st_blksize, 8);
    put_be(out + 44, (uint64_t)st.st_blocks, 8);
    put_be(out + 52, (uint64_t)st.st_atime, 4);
    put_be(out + 56, (uint64_t)st.st_mtime, 4);
    put_be(out + 60, (uint64_t)st.st_ctime, 4);
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "F%zx;", sizeof out);
    gdbstub_append_escaped(text, out, sizeof out);
    gdbstub_reply_string(stub, text);
}

static void file_readlink(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    char path[4096], target[4096];
    if (!take_hex_string(args, path, sizeof path) || !gdbstub_at_end(args)) {
        reply_fileio_error(stub, EINVAL);
        return;
    }
    long length = stub->ops->file_readlink(stub->opaque, path, target, sizeof target);
    if (length < 0) {
        reply_fileio_error(stub, (int)-length);
        return;
    }
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "F%lx;", length);
    gdbstub_append_escaped(text, (const uint8_t *)target, (size_t)length);
    gdbstub_reply_string(stub, text);
}

void gdbstub_handle_file(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    static const struct {
        const char *name;
        void (*handler)(struct gdbstub *stub, struct gdbstub_cursor *args);
    } operations[] = {
        {"setfs:", file_setfs}, {"open:", file_open},   {"pread:", file_pread},
        {"close:", file_close}, {"fstat:", file_fstat}, {"readlink:", file_readlink},
    };
    if (!stub->ops->file_open || !gdbstub_take_char(args, ':')) {
        gdbstub_reply_empty(stub);
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(operations); i++) {
        size_t length = strlen(operations[i].name);
        if ((size_t)(args->end - args->next) >= length &&
            memcmp(args->next, operations[i].name, length) == 0) {
            args->next += length;
            operations[i].handler(stub, args);
            return;
        }
    }
    gdbstub_reply_empty(stub); /* pwrite, unlink...: gdb falls back or says so */
}
