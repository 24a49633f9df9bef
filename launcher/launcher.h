/*
 * launcher/launcher.h — how the launcher (launcher/launcher.c, the
 * `hermitux-run` users start) hands the program's environment to the
 * monitor it executes, and how the monitor takes it back. Header-only: the
 * launcher is a separate static program.
 *
 * The monitor's environment is the user's, in order, with every entry
 * meant only for the program (launcher_is_program_only) renamed to
 * LAUNCHER_ENV_PREFIX + entry, then G_SLICE=always-malloc and
 * LAUNCHER_MARK_ENTRY. The program's is the monitor's with the renamed
 * entries back as they were and the two added ones left out
 * (launcher_program_entry); a user entry that already starts with the
 * prefix is renamed too, so nothing the user gave is mistaken for the
 * launcher's.
 */
#ifndef HERMITUX_LAUNCHER_H
#define HERMITUX_LAUNCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define LAUNCHER_MONITOR_NAME "hermitux-run-monitor"
#define LAUNCHER_ENV_PREFIX   "HERMITUX_PROGRAM_"
/* Present, exactly so, only in a monitor the launcher started. */
#define LAUNCHER_MARK_ENTRY  LAUNCHER_ENV_PREFIX "ENV=renamed"
#define LAUNCHER_SLICE_ENTRY "G_SLICE=always-malloc"

static inline bool launcher_has_prefix(const char *entry, const char *prefix)
{
    return strncmp(entry, prefix, strlen(prefix)) == 0;
}

/* An entry the program's ld.so or C library acts on (and so would the
 * monitor's), the user's G_SLICE, or one that looks renamed already. */
static inline bool launcher_is_program_only(const char *entry)
{
    static const char *const prefixes[] = {
        "LD_",             /* glibc's and musl's ld.so: LD_PRELOAD, LD_DEBUG... */
        "MALLOC_",         /* glibc's malloc: MALLOC_CHECK_, MALLOC_PERTURB_... */
        "GLIBC_TUNABLES=", /* glibc */
        "G_SLICE=",        /* the monitor has its own */
        LAUNCHER_ENV_PREFIX,
    };
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (launcher_has_prefix(entry, prefixes[i]))
            return true;
    return false;
}

/* In a monitor the launcher started: the program's entry for the
 * monitor's entry, or NULL for one the launcher added. */
static inline const char *launcher_program_entry(const char *entry)
{
    if (strcmp(entry, LAUNCHER_MARK_ENTRY) == 0 || launcher_has_prefix(entry, "G_SLICE="))
        return NULL;
    if (launcher_has_prefix(entry, LAUNCHER_ENV_PREFIX))
        return entry + strlen(LAUNCHER_ENV_PREFIX);
    return entry;
}

#endif
