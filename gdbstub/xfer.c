/*
 * qXfer: the objects gdb reads in pieces (target.xml, exec-file, auxv,
 * libraries, ...).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "gdbstub/internal.h"

/* ---- qXfer ------------------------------------------------------------- */

/* One qXfer object: its bytes (owned or not) for an annex. */
struct transfer_object {
    const char *data;
    size_t length;
    char *owned;
};

static char *libraries_xml(struct gdbstub *stub)
{
    uint64_t text_address = 0;
    const char *path = stub->ops->kernel_file(stub->opaque, &text_address);
    GString *xml = g_string_new("<library-list>");
    if (path) {
        char *escaped = g_markup_escape_text(path, -1);
        g_string_append_printf(
            xml, "<library name=\"%s\"><section address=\"0x%" G_GINT64_MODIFIER "x\"/></library>",
            escaped, text_address);
        g_free(escaped);
    }
    g_string_append(xml, "</library-list>");
    return g_string_free(xml, FALSE);
}

/* "start=HEX;prev=HEX;lmid=HEX" (any of them): gdb's request for the part
 * of the link map from start on, after it stopped at a loader probe. */
static uint64_t annex_start(const char *annex)
{
    for (const char *field = annex; field && *field;) {
        if (strncmp(field, "start=", 6) == 0)
            return g_ascii_strtoull(field + 6, NULL, 16);
        field = strchr(field, ';');
        if (field)
            field++;
    }
    return 0;
}

static void append_svr4_library(GString *xml, const char *name, uint64_t lm, uint64_t l_addr,
                                uint64_t l_ld)
{
    char *escaped = g_markup_escape_text(name, -1);
    g_string_append_printf(xml,
                           "<library name=\"%s\" lm=\"0x%" G_GINT64_MODIFIER
                           "x\" l_addr=\"0x%" G_GINT64_MODIFIER "x\" l_ld=\"0x%" G_GINT64_MODIFIER
                           "x\" lmid=\"0x0\"/>",
                           escaped, lm, l_addr, l_ld);
    g_free(escaped);
}

/*
 * The SVR4 link map, as gdbserver serves it: gdb's GNU/Linux support
 * (chosen by the org.gnu.gdb.i386.linux feature) reads this list, not the
 * generic one. The dynamic loader's own list (the first entry is the
 * program: main-lm), then the guest kernel (l_addr 0: it runs where it is
 * linked; its lm is not an address in guest memory, gdb only uses it as an
 * identity). A request from `start` on gets just that part of ld.so's list.
 */
static char *libraries_svr4_xml(struct gdbstub *stub, const char *annex)
{
    uint64_t start = annex_start(annex);
    struct gdb_library *libraries = NULL;
    size_t count = stub->ops->link_map ? stub->ops->link_map(stub->opaque, start, &libraries) : 0;
    GString *xml = g_string_new("<library-list-svr4 version=\"1.0\"");
    size_t first = 0;
    if (!start && count > 0) {
        g_string_append_printf(xml, " main-lm=\"0x%" G_GINT64_MODIFIER "x\"", libraries[0].lm);
        first = 1;
    }
    g_string_append(xml, ">");
    for (size_t i = first; i < count; i++)
        if (libraries[i].name[0]) /* ld.so's entries without a file: nothing to load */
            append_svr4_library(xml, libraries[i].name, libraries[i].lm, libraries[i].l_addr,
                                libraries[i].l_ld);
    for (size_t i = 0; i < count; i++)
        g_free(libraries[i].name);
    g_free(libraries);
    uint64_t text_address = 0;
    const char *path = start ? NULL : stub->ops->kernel_file(stub->opaque, &text_address);
    if (path)
        append_svr4_library(xml, path, text_address, 0, 0);
    g_string_append(xml, "</library-list-svr4>");
    return g_string_free(xml, FALSE);
}

/* Fills *object for object:annex; false when there is no such thing. */
static bool find_transfer_object(struct gdbstub *stub, const char *object, const char *annex,
                                 struct transfer_object *found)
{
    const struct gdb_target_ops *ops = stub->ops;
    memset(found, 0, sizeof *found);
    if (strcmp(object, "features") == 0) {
        if (strcmp(annex, "target.xml") != 0)
            return false;
        found->data = gdb_target_xml(gdbstub_avx512(stub));
    } else if (strcmp(object, "exec-file") == 0 && ops->exec_file) {
        found->data = ops->exec_file(stub->opaque);
    } else if (strcmp(object, "libraries") == 0 && ops->kernel_file && !*annex) {
        found->owned = libraries_xml(stub);
        found->data = found->owned;
    } else if (strcmp(object, "libraries-svr4") == 0 && ops->kernel_file) {
        found->owned = libraries_svr4_xml(stub, annex);
        found->data = found->owned;
    } else if (strcmp(object, "threads") == 0 && !*annex) {
        found->owned = gdbstub_threads_xml(stub);
        found->data = found->owned;
    } else if (strcmp(object, "auxv") == 0 && ops->auxv && !*annex) {
        found->data = ops->auxv(stub->opaque, &found->length);
        return found->data != NULL;
    } else {
        return false;
    }
    if (!found->data)
        return false;
    found->length = strlen(found->data);
    return true;
}

/* "NAME:" with the name copied out; false without a ':' or with a NUL. */
static bool take_field(struct gdbstub_cursor *args, char *out, size_t out_size)
{
    const char *colon = memchr(args->next, ':', (size_t)(args->end - args->next));
    if (!colon || (size_t)(colon - args->next) >= out_size ||
        memchr(args->next, '\0', (size_t)(colon - args->next)))
        return false;
    memcpy(out, args->next, (size_t)(colon - args->next));
    out[colon - args->next] = '\0';
    args->next = colon + 1;
    return true;
}

/* qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH */
void gdbstub_handle_transfer(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    char object[32], operation[16], annex[64];
    uint64_t offset, length;
    struct transfer_object found;
    if (!gdbstub_take_char(args, ':') || !take_field(args, object, sizeof object) ||
        !take_field(args, operation, sizeof operation)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    if (strcmp(operation, "read") != 0) {
        gdbstub_reply_empty(stub);
        return;
    }
    if (!take_field(args, annex, sizeof annex) || !gdbstub_take_hex(args, &offset) ||
        !gdbstub_take_char(args, ',') || !gdbstub_take_hex(args, &length) ||
        !gdbstub_at_end(args)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    if (!find_transfer_object(stub, object, annex, &found)) {
        gdbstub_reply(stub, "E00"); /* gdbserver's answer for an unknown object or annex */
        return;
    }
    if (length > MAX_REPLY_DATA)
        length = MAX_REPLY_DATA;
    size_t start = offset < found.length ? (size_t)offset : found.length;
    size_t chunk = found.length - start < length ? found.length - start : (size_t)length;
    /* 'm': there is more after this chunk; 'l': this is the last of it. */
    GString *text = g_string_new(start + chunk < found.length ? "m" : "l");
    gdbstub_append_escaped(text, (const uint8_t *)found.data + start, chunk);
    gdbstub_reply_string(stub, text);
    g_free(found.owned);
}
