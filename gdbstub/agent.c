/*
 * gdbstub/agent.c — gdb's agent expressions: the bytecode gdb sends with a
 * Z0/Z1 for the target to evaluate a breakpoint's condition and to run its
 * commands (dprintf-style agent), as gdbserver does (ConditionalBreakpoints+,
 * BreakpointCommands+). The GDB manual's "Agent Expressions" appendix is the
 * specification; semantics read off gdbserver's evaluator, no code from it.
 *
 * A pure interpreter: registers, memory and printf's output go through
 * struct gdb_agent_target, so it runs without a VM (tests/unit). Every
 * operand is bounds-checked against the expression's length, the stack and
 * the number of steps are bounded: hostile bytecode ends in an error, which
 * the caller takes for a true condition (a stop), as gdbserver does.
 */
#include "gdbstub/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#define AGENT_STACK_MAX  1024
#define AGENT_STEP_MAX   100000 /* a goto loop ends here */
#define AGENT_STRING_MAX 4096   /* bytes %s reads from the program */
#define AGENT_WIDTH_MAX  4096   /* a printf width or precision */
#define AGENT_EXPR_MAX   0x10000
#define AGENT_PIECE_MAX  32
#define AGENT_LIST_MAX   64 /* conditions or commands of one breakpoint */

enum agent_op {
    OP_FLOAT = 0x01,
    OP_ADD = 0x02,
    OP_SUB = 0x03,
    OP_MUL = 0x04,
    OP_DIV_SIGNED = 0x05,
    OP_DIV_UNSIGNED = 0x06,
    OP_REM_SIGNED = 0x07,
    OP_REM_UNSIGNED = 0x08,
    OP_LSH = 0x09,
    OP_RSH_SIGNED = 0x0a,
    OP_RSH_UNSIGNED = 0x0b,
    OP_TRACE = 0x0c,
    OP_TRACE_QUICK = 0x0d,
    OP_LOG_NOT = 0x0e,
    OP_BIT_AND = 0x0f,
    OP_BIT_OR = 0x10,
    OP_BIT_XOR = 0x11,
    OP_BIT_NOT = 0x12,
    OP_EQUAL = 0x13,
    OP_LESS_SIGNED = 0x14,
    OP_LESS_UNSIGNED = 0x15,
    OP_EXT = 0x16,
    OP_REF8 = 0x17,
    OP_REF16 = 0x18,
    OP_REF32 = 0x19,
    OP_REF64 = 0x1a,
    OP_IF_GOTO = 0x20,
    OP_GOTO = 0x21,
    OP_CONST8 = 0x22,
    OP_CONST16 = 0x23,
    OP_CONST32 = 0x24,
    OP_CONST64 = 0x25,
    OP_REG = 0x26,
    OP_END = 0x27,
    OP_DUP = 0x28,
    OP_POP = 0x29,
    OP_ZERO_EXT = 0x2a,
    OP_SWAP = 0x2b,
    OP_GETV = 0x2c,
    OP_SETV = 0x2d,
    OP_TRACEV = 0x2e,
    OP_TRACENZ = 0x2f,
    OP_TRACE16 = 0x30,
    OP_PICK = 0x32,
    OP_ROT = 0x33,
    OP_PRINTF = 0x34,
};

struct agent_machine {
    const struct gdb_agent_expr *expr;
    const struct gdb_agent_target *target;
    size_t pc;
    size_t sp; /* entries in stack */
    uint64_t stack[AGENT_STACK_MAX];
};

/* ---- stack and operands --------------------------------------------------- */

static enum gdb_agent_status agent_push(struct agent_machine *m, uint64_t value)
{
    if (m->sp == AGENT_STACK_MAX)
        return GDB_AGENT_STACK;
    m->stack[m->sp++] = value;
    return GDB_AGENT_OK;
}

static enum gdb_agent_status agent_pop(struct agent_machine *m, uint64_t *value)
{
    if (m->sp == 0)
        return GDB_AGENT_STACK;
    *value = m->stack[--m->sp];
    return GDB_AGENT_OK;
}

/* A big-endian operand of size bytes after the opcode. */
static enum gdb_agent_status agent_operand(struct agent_machine *m, size_t size, uint64_t *value)
{
    if (m->expr->length - m->pc < size)
        return GDB_AGENT_BAD;
    *value = 0;
    for (size_t i = 0; i < size; i++)
        *value = (*value << 8) | m->expr->bytes[m->pc++];
    return GDB_AGENT_OK;
}

static uint64_t sign_extend(uint64_t value, uint64_t bits)
{
    if (bits == 0 || bits >= 64)
        return value;
    uint64_t sign = 1ULL << (bits - 1);
    value &= (sign << 1) - 1;
    return (value ^ sign) - sign;
}

static uint64_t zero_extend(uint64_t value, uint64_t bits)
{
    return bits >= 64 ? value : value & ((1ULL << bits) - 1);
}

/* ---- arithmetic: a b => a OP b --------------------------------------------- */

static enum gdb_agent_status agent_divide(uint8_t op, uint64_t a, uint64_t b, uint64_t *result)
{
    if (b == 0)
        return GDB_AGENT_DIVIDE;
    int64_t sa = (int64_t)a, sb = (int64_t)b;
    bool overflow = sa == INT64_MIN && sb == -1; /* C leaves it undefined: it wraps */
    switch (op) {
    case OP_DIV_SIGNED:
        *result = overflow ? a : (uint64_t)(sa / sb);
        break;
    case OP_DIV_UNSIGNED:
        *result = a / b;
        break;
    case OP_REM_SIGNED:
        *result = overflow ? 0 : (uint64_t)(sa % sb);
        break;
    default:
        *result = a % b;
        break;
    }
    return GDB_AGENT_OK;
}

static uint64_t agent_shift(uint8_t op, uint64_t a, uint64_t b)
{
    switch (op) {
    case OP_LSH:
        return b >= 64 ? 0 : a << b;
    case OP_RSH_SIGNED:
        return b >= 64 ? (uint64_t)((int64_t)a >> 63) : (uint64_t)((int64_t)a >> b);
    default:
        return b >= 64 ? 0 : a >> b;
    }
}

static enum gdb_agent_status agent_binary(struct agent_machine *m, uint8_t op)
{
    uint64_t a, b, result = 0;
    if (agent_pop(m, &b) || agent_pop(m, &a))
        return GDB_AGENT_STACK;
    switch (op) {
    case OP_ADD:
        result = a + b;
        break;
    case OP_SUB:
        result = a - b;
        break;
    case OP_MUL:
        result = a * b;
        break;
    case OP_DIV_SIGNED:
    case OP_DIV_UNSIGNED:
    case OP_REM_SIGNED:
    case OP_REM_UNSIGNED: {
        enum gdb_agent_status status = agent_divide(op, a, b, &result);
        if (status)
            return status;
        break;
    }
    case OP_LSH:
    case OP_RSH_SIGNED:
    case OP_RSH_UNSIGNED:
        result = agent_shift(op, a, b);
        break;
    case OP_BIT_AND:
        result = a & b;
        break;
    case OP_BIT_OR:
        result = a | b;
        break;
    case OP_BIT_XOR:
        result = a ^ b;
        break;
    case OP_EQUAL:
        result = a == b;
        break;
    case OP_LESS_SIGNED:
        result = (int64_t)a < (int64_t)b;
        break;
    default: /* OP_LESS_UNSIGNED */
        result = a < b;
        break;
    }
    return agent_push(m, result);
}

/* ---- memory and registers --------------------------------------------------- */

static enum gdb_agent_status agent_ref(struct agent_machine *m, size_t size)
{
    uint64_t address;
    if (agent_pop(m, &address))
        return GDB_AGENT_STACK;
    uint8_t bytes[8] = {0};
    if (m->target->read_memory(m->target->opaque, address, bytes, size) < 0)
        return GDB_AGENT_MEMORY;
    uint64_t value = 0;
    for (size_t i = size; i > 0; i--) /* x86-64 is little-endian */
        value = (value << 8) | bytes[i - 1];
    return agent_push(m, value);
}

static enum gdb_agent_status agent_register(struct agent_machine *m)
{
    uint64_t regnum, value;
    if (agent_operand(m, 2, &regnum))
        return GDB_AGENT_BAD;
    if (m->target->read_register(m->target->opaque, (int)regnum, &value) < 0)
        return GDB_AGENT_MEMORY;
    return agent_push(m, value);
}

/* ---- printf ------------------------------------------------------------------ */

/* One conversion of a printf format, checked: flags, width, precision,
 * length and a conversion this evaluator takes. No '*', no %n. */
struct agent_piece {
    char format[AGENT_PIECE_MAX];
    char conversion;
    int length;     /* 0 int, 1 long, 2 long long, 3 size_t; -1 short or char (int) */
    long precision; /* -1: none */
};

static bool parse_number(const char **p, const char *end, long *value)
{
    *value = 0;
    const char *start = *p;
    while (*p < end && **p >= '0' && **p <= '9') {
        *value = *value * 10 + (**p - '0');
        if (*value > AGENT_WIDTH_MAX)
            return false;
        (*p)++;
    }
    return *p > start;
}

/* Parses the conversion at *p (just past the '%'); false if not taken. */
static bool parse_piece(const char **p, const char *end, struct agent_piece *piece)
{
    const char *start = *p - 1;
    long number;
    while (*p < end && strchr("-+ #0", **p) && **p)
        (*p)++;
    parse_number(p, end, &number);
    if (*p < end && **p == '.') {
        (*p)++;
        if (!parse_number(p, end, &piece->precision))
            piece->precision = 0;
    }
    piece->length = 0;
    if (*p < end && **p == 'h') {
        piece->length = -1;
        (*p)++;
        if (*p < end && **p == 'h')
            (*p)++;
    } else if (*p < end && **p == 'l') {
        piece->length = 1;
        (*p)++;
        if (*p < end && **p == 'l') {
            piece->length = 2;
            (*p)++;
        }
    } else if (*p < end && (**p == 'z' || **p == 'j' || **p == 't')) {
        piece->length = **p == 'z' ? 3 : 1;
        (*p)++;
    }
    if (*p >= end || !**p || !strchr("diouxXcsp", **p))
        return false;
    piece->conversion = *(*p)++;
    if (piece->length != 0 && strchr("csp", piece->conversion))
        return false; /* wide characters and strings: not taken */
    size_t size = (size_t)(*p - start);
    if (size >= sizeof piece->format)
        return false;
    memcpy(piece->format, start, size);
    piece->format[size] = '\0';
    return true;
}

/* %s: the program's string at address, at most precision bytes. */
static enum gdb_agent_status read_string(struct agent_machine *m, uint64_t address, long precision,
                                         GString *text)
{
    size_t limit =
        precision >= 0 && precision < AGENT_STRING_MAX ? (size_t)precision : AGENT_STRING_MAX;
    for (size_t i = 0; i < limit; i++) {
        char c;
        if (m->target->read_memory(m->target->opaque, address + i, &c, 1) < 0)
            return GDB_AGENT_MEMORY;
        if (!c)
            break;
        g_string_append_c(text, c);
    }
    return GDB_AGENT_OK;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static enum gdb_agent_status format_piece(struct agent_machine *m, const struct agent_piece *piece,
                                          uint64_t arg, GString *out)
{
    switch (piece->conversion) {
    case 's': {
        if (arg == 0) {
            g_string_append(out, "(null)");
            return GDB_AGENT_OK;
        }
        GString *string = g_string_new(NULL);
        enum gdb_agent_status status = read_string(m, arg, piece->precision, string);
        if (status == GDB_AGENT_OK)
            g_string_append_printf(out, piece->format, string->str);
        g_string_free(string, TRUE);
        return status;
    }
    case 'p':
        g_string_append_printf(out, piece->format, (void *)(uintptr_t)arg);
        return GDB_AGENT_OK;
    default:
        break;
    }
    switch (piece->length) {
    case 1:
        g_string_append_printf(out, piece->format, (long)arg);
        break;
    case 2:
        g_string_append_printf(out, piece->format, (long long)arg);
        break;
    case 3:
        g_string_append_printf(out, piece->format, (size_t)arg);
        break;
    default:
        g_string_append_printf(out, piece->format, (int)arg);
        break;
    }
    return GDB_AGENT_OK;
}
#pragma GCC diagnostic pop

#define ESCAPES "\\abefnrtv\"'"
static const char ESCAPED[] = "\\\a\b\033\f\n\r\t\v\"'";

static enum gdb_agent_status agent_format(struct agent_machine *m, const char *format,
                                          const uint64_t *args, size_t count, GString *out)
{
    const char *p = format, *end = format + strlen(format);
    size_t used = 0;
    while (p < end) {
        if (*p == '\\') {
            /* gdb sends the format as typed: its escapes are the target's
             * to process (gdb's format_pieces takes these). */
            const char *escape = ++p < end ? strchr(ESCAPES, *p) : NULL;
            if (!escape || !*p)
                return GDB_AGENT_FORMAT;
            g_string_append_c(out, ESCAPED[escape - ESCAPES]);
            p++;
            continue;
        }
        if (*p != '%') {
            g_string_append_c(out, *p++);
            continue;
        }
        p++;
        if (p < end && *p == '%') {
            g_string_append_c(out, *p++);
            continue;
        }
        struct agent_piece piece = {.precision = -1};
        if (!parse_piece(&p, end, &piece) || used == count)
            return GDB_AGENT_FORMAT;
        enum gdb_agent_status status = format_piece(m, &piece, args[used++], out);
        if (status)
            return status;
    }
    return GDB_AGENT_OK;
}

/* printf nargs slen format: pops the function and channel gdb pushed last,
 * then the arguments, the first argument on top. */
static enum gdb_agent_status agent_printf(struct agent_machine *m)
{
    uint64_t count, length, function, channel;
    if (agent_operand(m, 1, &count) || agent_operand(m, 2, &length) ||
        m->expr->length - m->pc < length || length == 0 ||
        m->expr->bytes[m->pc + length - 1] != '\0')
        return GDB_AGENT_BAD;
    const char *format = (const char *)&m->expr->bytes[m->pc];
    m->pc += length;
    if (agent_pop(m, &function) || agent_pop(m, &channel) || m->sp < count)
        return GDB_AGENT_STACK;
    uint64_t args[256];
    for (size_t i = 0; i < count; i++)
        args[i] = m->stack[m->sp - 1 - i];
    m->sp -= count;
    GString *out = g_string_new(NULL);
    enum gdb_agent_status status = agent_format(m, format, args, count, out);
    if (status == GDB_AGENT_OK && m->target->output)
        m->target->output(m->target->opaque, out->str, out->len);
    g_string_free(out, TRUE);
    return status;
}

/* ---- the stack words ----------------------------------------------------------- */

static enum gdb_agent_status agent_stack_op(struct agent_machine *m, uint8_t op)
{
    uint64_t a, b, c;
    switch (op) {
    case OP_DUP:
        if (m->sp == 0)
            return GDB_AGENT_STACK;
        return agent_push(m, m->stack[m->sp - 1]);
    case OP_POP:
        return agent_pop(m, &a);
    case OP_SWAP:
        if (m->sp < 2)
            return GDB_AGENT_STACK;
        a = m->stack[m->sp - 1];
        m->stack[m->sp - 1] = m->stack[m->sp - 2];
        m->stack[m->sp - 2] = a;
        return GDB_AGENT_OK;
    case OP_ROT: /* a b c => c a b */
        if (m->sp < 3)
            return GDB_AGENT_STACK;
        a = m->stack[m->sp - 3], b = m->stack[m->sp - 2], c = m->stack[m->sp - 1];
        m->stack[m->sp - 3] = c, m->stack[m->sp - 2] = a, m->stack[m->sp - 1] = b;
        return GDB_AGENT_OK;
    default: { /* OP_PICK n: a copy of the item n below the top */
        uint64_t n;
        if (agent_operand(m, 1, &n))
            return GDB_AGENT_BAD;
        if (n >= m->sp)
            return GDB_AGENT_STACK;
        return agent_push(m, m->stack[m->sp - 1 - n]);
    }
    }
}

/* ext n, zero_ext n, log_not, bit_not: on the top. */
static enum gdb_agent_status agent_unary(struct agent_machine *m, uint8_t op)
{
    uint64_t bits = 0;
    if ((op == OP_EXT || op == OP_ZERO_EXT) && agent_operand(m, 1, &bits))
        return GDB_AGENT_BAD;
    if (m->sp == 0)
        return GDB_AGENT_STACK;
    uint64_t *top = &m->stack[m->sp - 1];
    switch (op) {
    case OP_EXT:
        *top = sign_extend(*top, bits);
        break;
    case OP_ZERO_EXT:
        *top = zero_extend(*top, bits);
        break;
    case OP_LOG_NOT:
        *top = !*top;
        break;
    default:
        *top = ~*top;
        break;
    }
    return GDB_AGENT_OK;
}

/* if_goto and goto: the operand is an offset from the expression's start. */
static enum gdb_agent_status agent_jump(struct agent_machine *m, uint8_t op)
{
    uint64_t target, condition = 1;
    if (agent_operand(m, 2, &target))
        return GDB_AGENT_BAD;
    if (op == OP_IF_GOTO && agent_pop(m, &condition))
        return GDB_AGENT_STACK;
    if (target >= m->expr->length)
        return GDB_AGENT_BAD;
    if (condition)
        m->pc = target;
    return GDB_AGENT_OK;
}

/* Tracepoint collection has nothing to collect into at a breakpoint: the
 * operands are checked and the stack kept as the manual says. */
static enum gdb_agent_status agent_trace(struct agent_machine *m, uint8_t op)
{
    uint64_t ignored;
    switch (op) {
    case OP_TRACE:
    case OP_TRACENZ:
        return agent_pop(m, &ignored) ? GDB_AGENT_STACK : agent_pop(m, &ignored);
    case OP_TRACE_QUICK:
        return agent_operand(m, 1, &ignored);
    default: /* trace16, tracev */
        return agent_operand(m, 2, &ignored);
    }
}

static enum gdb_agent_status agent_constant(struct agent_machine *m, uint8_t op)
{
    uint64_t value;
    if (agent_operand(m, (size_t)1 << (op - OP_CONST8), &value))
        return GDB_AGENT_BAD;
    return agent_push(m, value);
}

/* One instruction; GDB_AGENT_OK to go on. *done at `end`. */
static enum gdb_agent_status agent_step(struct agent_machine *m, bool *done)
{
    uint8_t op = m->expr->bytes[m->pc++];
    if ((op >= OP_ADD && op <= OP_RSH_UNSIGNED) || (op >= OP_BIT_AND && op <= OP_BIT_XOR) ||
        (op >= OP_EQUAL && op <= OP_LESS_UNSIGNED))
        return agent_binary(m, op);
    switch (op) {
    case OP_LOG_NOT:
    case OP_BIT_NOT:
    case OP_EXT:
    case OP_ZERO_EXT:
        return agent_unary(m, op);
    case OP_REF8:
    case OP_REF16:
    case OP_REF32:
    case OP_REF64:
        return agent_ref(m, (size_t)1 << (op - OP_REF8));
    case OP_IF_GOTO:
    case OP_GOTO:
        return agent_jump(m, op);
    case OP_CONST8:
    case OP_CONST16:
    case OP_CONST32:
    case OP_CONST64:
        return agent_constant(m, op);
    case OP_REG:
        return agent_register(m);
    case OP_END:
        *done = true;
        return GDB_AGENT_OK;
    case OP_DUP:
    case OP_POP:
    case OP_SWAP:
    case OP_ROT:
    case OP_PICK:
        return agent_stack_op(m, op);
    case OP_TRACE:
    case OP_TRACE_QUICK:
    case OP_TRACEV:
    case OP_TRACENZ:
    case OP_TRACE16:
        return agent_trace(m, op);
    case OP_PRINTF:
        return agent_printf(m);
    default:
        /* float, ref_float..d_to_l (gdb never emits them), getv/setv
         * (trace state variables: there are none without tracepoints),
         * invalid2 and anything unknown. */
        return GDB_AGENT_BAD;
    }
}

enum gdb_agent_status gdb_agent_eval(const struct gdb_agent_expr *expr,
                                     const struct gdb_agent_target *target, uint64_t *value)
{
    struct agent_machine *m = g_new(struct agent_machine, 1);
    m->expr = expr;
    m->target = target;
    m->pc = 0;
    m->sp = 0;
    enum gdb_agent_status status = GDB_AGENT_TOO_LONG;
    bool done = false;
    for (unsigned steps = 0; steps < AGENT_STEP_MAX && m->pc < expr->length; steps++) {
        status = agent_step(m, &done);
        if (status || done)
            break;
        status = GDB_AGENT_TOO_LONG;
    }
    if (done && m->sp == 0)
        status = GDB_AGENT_EMPTY_STACK;
    else if (done)
        *value = m->stack[m->sp - 1];
    g_free(m);
    return status;
}

/* ---- a breakpoint's lists ---------------------------------------------------------- */

bool gdb_agent_conditions_hold(const struct gdb_breakpoint_actions *actions,
                               const struct gdb_agent_target *target)
{
    if (!actions || actions->condition_count == 0)
        return true;
    for (size_t i = 0; i < actions->condition_count; i++) {
        uint64_t value = 0;
        if (gdb_agent_eval(&actions->conditions[i], target, &value) != GDB_AGENT_OK || value)
            return true;
    }
    return false;
}

void gdb_agent_run_commands(const struct gdb_breakpoint_actions *actions,
                            const struct gdb_agent_target *target)
{
    for (size_t i = 0; actions && i < actions->command_count; i++) {
        uint64_t value;
        enum gdb_agent_status status = gdb_agent_eval(&actions->commands[i], target, &value);
        if (status != GDB_AGENT_OK && status != GDB_AGENT_EMPTY_STACK)
            return;
    }
}

/* "Xlen,hexbytes" at *p into one more entry of *list. */
static bool parse_expr(const char **p, const char *end, struct gdb_agent_expr **list, size_t *count)
{
    if (*p >= end || **p != 'X' || *count == AGENT_LIST_MAX)
        return false;
    (*p)++;
    size_t length = 0;
    const char *digits = *p;
    while (*p < end && g_ascii_xdigit_value(**p) >= 0) {
        length = length * 16 + (size_t)g_ascii_xdigit_value(**p);
        if (length > AGENT_EXPR_MAX)
            return false;
        (*p)++;
    }
    if (*p == digits || *p >= end || **p != ',' || length == 0)
        return false;
    (*p)++;
    if ((size_t)(end - *p) / 2 < length)
        return false;
    uint8_t *bytes = g_malloc(length);
    if (!gdbstub_decode_hex(*p, 2 * length, bytes)) {
        g_free(bytes);
        return false;
    }
    *p += 2 * length;
    *list = g_renew(struct gdb_agent_expr, *list, *count + 1);
    (*list)[(*count)++] = (struct gdb_agent_expr){bytes, length};
    return true;
}

bool gdb_agent_parse_actions(const char *text, size_t length,
                             struct gdb_breakpoint_actions *actions)
{
    const char *p = text, *end = text + length;
    memset(actions, 0, sizeof *actions);
    while (p < end) {
        if (*p++ != ';')
            goto bad;
        if (p < end && *p == 'X') {
            while (p < end && *p == 'X') {
                if (!parse_expr(&p, end, &actions->conditions, &actions->condition_count))
                    goto bad;
            }
        } else if ((size_t)(end - p) >= 7 && memcmp(p, "cmds:", 5) == 0 &&
                   (p[5] == '0' || p[5] == '1') && p[6] == ',') {
            actions->persist = p[5] == '1';
            p += 7;
            do {
                if (!parse_expr(&p, end, &actions->commands, &actions->command_count))
                    goto bad;
            } while (p < end && *p == 'X');
        } else {
            goto bad;
        }
    }
    return true;
bad:
    gdb_agent_clear_actions(actions);
    return false;
}

static struct gdb_agent_expr *copy_list(const struct gdb_agent_expr *list, size_t count)
{
    if (count == 0)
        return NULL;
    struct gdb_agent_expr *copy = g_new(struct gdb_agent_expr, count);
    for (size_t i = 0; i < count; i++)
        copy[i] = (struct gdb_agent_expr){g_memdup2(list[i].bytes, list[i].length), list[i].length};
    return copy;
}

void gdb_agent_copy_actions(struct gdb_breakpoint_actions *to,
                            const struct gdb_breakpoint_actions *from)
{
    *to = *from;
    to->conditions = copy_list(from->conditions, from->condition_count);
    to->commands = copy_list(from->commands, from->command_count);
}

void gdb_agent_clear_actions(struct gdb_breakpoint_actions *actions)
{
    if (!actions)
        return;
    for (size_t i = 0; i < actions->condition_count; i++)
        g_free(actions->conditions[i].bytes);
    for (size_t i = 0; i < actions->command_count; i++)
        g_free(actions->commands[i].bytes);
    g_free(actions->conditions);
    g_free(actions->commands);
    memset(actions, 0, sizeof *actions);
}
