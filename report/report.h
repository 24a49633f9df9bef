/*
 * report/ — what the user reads when the program dies: the one-line summary,
 * and with --verbose HermiTux's kernel-log lines followed by what HermiTux
 * left to objdump and addr2line.
 */
#ifndef HERMITUX_REPORT_H
#define HERMITUX_REPORT_H

#include <stdio.h>

#include "accel/accel.h"

#ifdef __cplusplus
extern "C" {
#endif

struct guest;

/* The signal a native run would die of for an exception vector (SIGSEGV for
 * #PF and #GP, SIGFPE for #DE, ...). */
int report_signal_for_vector(unsigned vector);

/*
 * Reports a fatal exception of the program (or of the guest kernel) on out:
 * one line, or the full report when verbose. Returns the exit status to use:
 * 128 + the signal a native run would die of.
 */
int report_fault(FILE *out, struct guest *guest, const struct accel_exit *exit,
                 const struct cpu_state *state, bool verbose);

/* Reports an accelerator or guest-kernel failure (exit->message) on out. */
void report_error(FILE *out, struct guest *guest, const struct accel_exit *exit,
                  const struct cpu_state *state, bool verbose);

#ifdef __cplusplus
}
#endif

#endif
