/*
 * accel/insn_length.h — the length of an x86-64 instruction, without a
 * disassembler.
 *
 * The tcg backend must know where each instruction of a translated block
 * starts (accel/tcg.c: far branches on a register). Capstone knows, but
 * loading it costs every start of a monitor about 6 ms on these hosts (its
 * 80,000 relocations and the pages they write), so the common instructions
 * are measured here and capstone is asked only from the first one this
 * decoder does not claim to know.
 *
 * Pure, thread-safe, no allocation. Checked against capstone over whole
 * host binaries by the unit tests (test_accel).
 */
#ifndef HERMITUX_ACCEL_INSN_LENGTH_H
#define HERMITUX_ACCEL_INSN_LENGTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The length in bytes of the 64-bit-mode instruction at code (size bytes
 * readable), or 0 when this decoder cannot tell: an opcode it does not
 * know (VEX, EVEX, XOP, 3DNow!, AMD's SSE4a, operand-size-prefixed
 * relative branches, whose length differs between vendors), one invalid
 * in 64-bit mode, more than 15 bytes, or one that does not fit in size.
 * A non-zero answer is exact. */
size_t accel_insn_length(const uint8_t *code, size_t size);

#ifdef __cplusplus
}
#endif

#endif
