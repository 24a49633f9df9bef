/*
 * gdbstub/internal.h — what the stub's layers share; not part of the
 * contract (that is gdbstub/gdbstub.h).
 *
 * Layers, bottom up:
 *   transport.c  sockets: listen, accept, non-blocking output, closing
 *   packet.c     framing: checksums, acks, run-length coding, escaping,
 *                hex, the receive state machine, parsing helpers
 *   commands.c   the command table (one line per packet) and the
 *                handlers for execution, registers, memory, breakpoints,
 *                threads and the session
 *   agent.c      agent expressions: breakpoint conditions and commands
 *   hostio.c     vFile (Host I/O)
 *   xfer.c       qXfer objects
 *   threads.c    thread ids, Hg/Hc, the thread list and names
 *   gdbstub.c    the stub's lifecycle, thread ids and stop replies
 * Everything runs on the monitor's main loop thread.
 */
#ifndef HERMITUX_GDBSTUB_INTERNAL_H
#define HERMITUX_GDBSTUB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <glib-unix.h>

#include "gdbstub/gdbstub.h"

#define GUEST_PAGE_SIZE_BYTES 4096ULL
/* Longest m/qXfer answer in data bytes: hex or escaping at most doubles it,
 * and gdb never asks for more than fits its own PacketSize-sized buffer. */
#define MAX_REPLY_DATA (GDB_PACKET_SIZE / 2)
/* Monitor command output goes out in O packets of this many bytes. */
#define CONSOLE_CHUNK 1024

enum receive_state {
    RECEIVE_IDLE,      /* between packets: acks, Ctrl-C, garbage */
    RECEIVE_PAYLOAD,   /* after '$' */
    RECEIVE_CHECKSUM1, /* after '#' */
    RECEIVE_CHECKSUM2,
};

struct gdbstub {
    const struct gdb_target_ops *ops;
    void *opaque;
    /* Where its sources go: the thread-default context of the thread that
     * made it (a fork's child serves gdb on a loop of its own). */
    GMainContext *context;

    /* Sockets. */
    int listen_fd;
    guint listen_source;
    /* --gdb stdio: the relay's socket, served from the first
     * gdbstub_start_accepting on (-1: none, or served already). */
    int stdio_fd;
    int connection_fd;
    bool connected; /* connection_fd >= 0, for gdbstub_connected from any thread (atomic) */
    guint connection_source;
    guint output_source; /* waiting for room to send pending_output */
    GString *pending_output;
    /* The connection ends once the current packet is done: the debugger
     * said goodbye (D, k, vKill) or a send failed. */
    bool closing;
    bool said_goodbye;
    guint closing_source;
    /* A connection taken from a fork's parent: read from the child's first
     * stop on, when every packet can be answered (handover.c). */
    bool serve_at_stop;
    /* A kept child's copy of gdb's connection, while it talks to gdb
     * through its parent's stub (handover.c's QHermituxAdopt); -1: none. */
    int spare_connection_fd;
    char *address;
    char *unix_path; /* to unlink at the end */

    void (*capture)(void *opaque, const char *bytes, size_t length);
    void *capture_opaque;

    /* Framing. */
    enum receive_state receive_state;
    char payload[GDB_PACKET_SIZE + 1];
    size_t payload_length;
    char command[GDB_PACKET_SIZE + 1]; /* the payload with run lengths expanded */
    bool payload_overflow;
    uint8_t payload_checksum;
    uint8_t received_checksum;
    bool no_ack_mode;
    GString *last_packet; /* for retransmission on '-' */

    /* What the debugger said it understands (qSupported). */
    bool debugger_swbreak;
    bool debugger_hwbreak;
    bool debugger_no_resumed; /* qSupported no-resumed+: it takes N stop replies */
    bool list_threads_in_stop_reply;
    bool multiprocess; /* pPID.TID thread ids (qSupported multiprocess+) */
    /* The process events agreed (qSupported fork-events+...), kept for an
     * execve's handover (handover.c). */
    bool fork_events, vfork_events, exec_events;
    /* Hg's and Hc's threads; 0: the thread of the last stop. */
    int64_t general_thread;
    int64_t continue_thread;
    /* The child of the last fork event (0: none), and whether gdb selected
     * it (Hg): it runs undebugged, its memory is the parent's copy. */
    int64_t fork_child;
    bool fork_child_selected;
    /* Fork children gdb keeps (struct gdbstub_process, processes.c), and
     * the one Hg selected (NULL: this process). */
    GPtrArray *processes;
    struct gdbstub_process *general_process;
    int64_t general_pid; /* the process of Hg's thread, when general_process */
    /* Several processes resumed by one vCont (schedule-multiple): the
     * first stop is held until every other one is stopped too (processes.c). */
    bool together;
    struct gdbstub_process *held_process; /* its stop came first */
    bool own_stop_held;                   /* this process's stop came first */
    bool absorb_own_stop;                 /* stopped for another's stop: not gdb's */
    bool own_pending;                     /* that stop was an event: the next resume's */
    bool settling;                        /* the program ended: stopping them at once */
    /* fds that came with packets on a pair (SCM_RIGHTS), oldest first:
     * QHermituxKeep's and QHermituxAdopt's. */
    GArray *passed_fds;
    GArray *files; /* host fds opened by vFile:open in this session */
    /* QPassSignals, QProgramSignals: the debugger's latest sets. */
    bool pass_signals[GDB_SIGNAL_LIMIT];
    bool program_signals[GDB_SIGNAL_LIMIT];
    /* QCatchSyscalls' latest accepted arguments, ';' written '.' ("1.3b.0"),
     * NULL before any: they cross an execve as under gdbserver. */
    char *catch_syscalls;

    /* Execution. */
    bool running;         /* resumed; its stop has not come yet */
    bool stop_reply_owed; /* a debugger waits for that stop */
    bool interrupt_sent;  /* Ctrl-C already passed on for this run */
    /* Ctrl-C that came while the guest was stopped: as a SIGINT queued
     * under gdbserver, it stops the next resume at once. */
    bool interrupt_queued;
    bool have_stop; /* last_stop holds the latest stop */
    struct gdb_stop last_stop;
    /* Non-stop mode (QNonStop:1, nonstop.c): the stops not yet taken by a
     * vStopped, oldest first (struct gdb_stop *); the first was sent as a
     * %Stop notification or as the answer to `?` or a vStopped. */
    bool non_stop;
    GQueue *notifications;

    /* The register layout: with AVX-512 once ops->has_avx512 said so. */
    bool avx512_asked, avx512;
};

/* A view of the unparsed rest of a packet. Packets may hold NULs, so
 * parsing never relies on a terminator. */
struct gdbstub_cursor {
    const char *next;
    const char *end;
};

/* A packet handler: args is the packet after its name. */
typedef void (*gdbstub_handler)(struct gdbstub *stub, struct gdbstub_cursor *args);

/* ---- transport.c: sockets */
/* Sources on the stub's context; remove_source clears the id. */
guint gdbstub_add_fd_source(struct gdbstub *stub, int fd, GIOCondition condition,
                            GUnixFDSourceFunc callback, gpointer data);
guint gdbstub_add_idle_source(struct gdbstub *stub, GSourceFunc callback);
void gdbstub_remove_source(struct gdbstub *stub, guint *source);
void gdbstub_close_connection(struct gdbstub *stub);
void gdbstub_close_soon(struct gdbstub *stub, bool goodbye);
bool gdbstub_debugger_present(const struct gdbstub *stub);
void gdbstub_send_raw(struct gdbstub *stub, const char *bytes, size_t length);
/* Connections are accepted from the first stop or run notice on. */
void gdbstub_start_accepting(struct gdbstub *stub);

/* ---- packet.c: framing and parsing */
void gdbstub_append_escaped(GString *out, const uint8_t *data, size_t length);
/* "$PAYLOAD#XX" for an escaped payload (g_string_free it). */
GString *gdbstub_frame(const char *payload, size_t length);
void gdbstub_append_hex(GString *out, const void *data, size_t length);
bool gdbstub_at_end(const struct gdbstub_cursor *cursor);
bool gdbstub_decode_hex(const char *hex, size_t hex_length, uint8_t *out);
void gdbstub_reply(struct gdbstub *stub, const char *text);
/* "%PAYLOAD#XX": an asynchronous notification (non-stop's %Stop). */
void gdbstub_send_notification(struct gdbstub *stub, const char *payload, size_t length);
void gdbstub_reply_empty(struct gdbstub *stub);
void gdbstub_reply_error(struct gdbstub *stub, int error);
void gdbstub_reply_ok(struct gdbstub *stub);
void gdbstub_reply_string(struct gdbstub *stub, GString *text);
bool gdbstub_take_char(struct gdbstub_cursor *cursor, char expected);
bool gdbstub_take_hex(struct gdbstub_cursor *cursor, uint64_t *value);
/* ":0" or ":1" and nothing after (QNonStop, QThreadEvents). */
bool gdbstub_take_switch(struct gdbstub_cursor *cursor, bool *on);
bool gdbstub_unescape_binary(char *data, size_t *length);

/* ---- gdbstub.c: lifecycle, thread ids, stop replies */
bool gdbstub_program_ended(const struct gdbstub *stub);
void gdbstub_reset_session(struct gdbstub *stub);
void gdbstub_remember_catch_syscalls(struct gdbstub *stub, bool enable, const GArray *numbers);
void gdbstub_send_stop_reply(struct gdbstub *stub);
/* A stop as a stop reply's text (T, W or X packet). */
GString *gdbstub_format_stop(const struct gdbstub *stub, const struct gdb_stop *stop);

/* ---- nonstop.c: non-stop mode */
void gdbstub_handle_non_stop(struct gdbstub *stub, struct gdbstub_cursor *args);
void gdbstub_handle_stopped(struct gdbstub *stub, struct gdbstub_cursor *args);
void gdbstub_handle_ctrl_c(struct gdbstub *stub, struct gdbstub_cursor *args);
/* `?` in non-stop mode: every stopped thread through the vStopped queue. */
void gdbstub_non_stop_status(struct gdbstub *stub);
/* A thread's stop (or the program's end) for gdb's queue. */
void gdbstub_non_stop_notify(struct gdbstub *stub, const struct gdb_stop *stop);
/* A resume in non-stop mode: answered OK at once. */
void gdbstub_non_stop_resume(struct gdbstub *stub, const struct gdb_resume_action *actions,
                             size_t count);
/* Stops queued that gdb has not taken with vStopped yet. */
bool gdbstub_non_stop_owes(const struct gdbstub *stub);
/* The session ends: back to all-stop, the queue dropped. */
void gdbstub_non_stop_forget(struct gdbstub *stub);

/* ---- threads.c: thread ids, the thread list, the thread packets */
int64_t gdbstub_process_id(const struct gdbstub *stub);
/* transport.c: serve an accepted (or handed over) connection. */
void gdbstub_adopt_connection(struct gdbstub *stub, int connection);
/* The live thread ids into a g_malloc'ed *ids; returns how many. */
size_t gdbstub_thread_list(const struct gdbstub *stub, int64_t **ids);
bool gdbstub_thread_exists(const struct gdbstub *stub, int64_t thread);
int64_t gdbstub_stop_thread(const struct gdbstub *stub, const struct gdb_stop *stop);
int64_t gdbstub_current_thread(const struct gdbstub *stub);
void gdbstub_append_thread_id(const struct gdbstub *stub, GString *text, int64_t thread);
void gdbstub_append_thread_list(const struct gdbstub *stub, GString *text);
bool gdbstub_take_thread_id_of(const struct gdbstub *stub, struct gdbstub_cursor *cursor,
                               int64_t *thread);
int64_t gdbstub_take_thread_suffix(const struct gdbstub *stub, struct gdbstub_cursor *cursor);
char *gdbstub_threads_xml(const struct gdbstub *stub);
void gdbstub_handle_set_thread(struct gdbstub *stub, struct gdbstub_cursor *args);
void gdbstub_handle_thread_alive(struct gdbstub *stub, struct gdbstub_cursor *args);
void gdbstub_handle_current_thread(struct gdbstub *stub, struct gdbstub_cursor *args);
void gdbstub_handle_first_thread_info(struct gdbstub *stub, struct gdbstub_cursor *args);
void gdbstub_handle_next_thread_info(struct gdbstub *stub, struct gdbstub_cursor *args);
void gdbstub_handle_thread_extra_info(struct gdbstub *stub, struct gdbstub_cursor *args);
void gdbstub_handle_tls_address(struct gdbstub *stub, struct gdbstub_cursor *args);

/* ---- commands.c: the command table */
void gdbstub_dispatch(struct gdbstub *stub, const char *payload, size_t length);
/* output as O packets (hex, CONSOLE_CHUNK bytes each). */
void gdbstub_send_console_output(struct gdbstub *stub, const char *output, size_t length);
/* Whether the register layout has the AVX-512 registers (asked once). */
bool gdbstub_avx512(struct gdbstub *stub);
/* g or p (args after the letter) for a thread whose registers are gone:
 * every byte unavailable ('x'), as gdbserver answers for a dead thread. */
void gdbstub_reply_unavailable_registers(struct gdbstub *stub, char letter,
                                         struct gdbstub_cursor *args);

/* ---- hostio.c: vFile */
void gdbstub_close_session_files(struct gdbstub *stub);
void gdbstub_handle_file(struct gdbstub *stub, struct gdbstub_cursor *args);

/* ---- signals.c: siginfo, process events */
void gdbstub_append_signal_features(struct gdbstub *stub, const struct gdbstub_cursor *offered,
                                    GString *text);
void gdbstub_handle_siginfo(struct gdbstub *stub, struct gdbstub_cursor *args);
/* exec:HEXPATH; in a stop reply, when gdb asked for exec events. */
void gdbstub_append_exec_event(const struct gdbstub *stub, GString *text);
/* fork:/vfork:/vforkdone: in a stop reply. */
void gdbstub_append_process_event(const struct gdbstub *stub, GString *text,
                                  const struct gdb_stop *stop);
/* A packet about a fork's child (Hg to it, D;PID, memory and breakpoints
 * while it is selected): answered here, true. */
bool gdbstub_handle_fork_child(struct gdbstub *stub, const struct gdbstub_cursor *packet);

/* ---- processes.c: fork children gdb keeps (detach-on-fork off) */
/* The fork event's child becomes one (ops->fork_attach); false if not. */
bool gdbstub_keep_fork_child(struct gdbstub *stub);
/* A packet about a kept child: passed on to it, true. */
bool gdbstub_route_packet(struct gdbstub *stub, const struct gdbstub_cursor *packet);
/* Ctrl-C while a kept child runs: passed on to it, true. */
bool gdbstub_route_interrupt(struct gdbstub *stub);
/* Their threads, after this process's: ",ID,ID" and <thread/> lines. */
void gdbstub_append_process_threads(const struct gdbstub *stub, GString *text);
void gdbstub_append_process_threads_xml(const struct gdbstub *stub, GString *xml);
/* The connection ends: the children run on undebugged. */
void gdbstub_forget_processes(struct gdbstub *stub);
/* In a fork's child: this process's copies of the pairs, closed. */
void gdbstub_close_process_fds(struct gdbstub *stub);

/* The program ended, or gdb detached or killed it: gdb's connection goes
 * to the first kept child, and the others with it (their pairs are that
 * child's to serve). True when it went. */
bool gdbstub_pass_connection_on(struct gdbstub *stub);
/* This process stopped while others resumed with it run: true when the
 * stop reply waits for them (they are stopped first) or is kept for the
 * next resume. */
bool gdbstub_hold_own_stop(struct gdbstub *stub, const struct gdb_stop *stop);
/* QHermituxHalt (from the stub of the process that keeps this one): stop
 * if running; OK at once, the stop reply when stopped. */
void gdbstub_handle_halt(struct gdbstub *stub, struct gdbstub_cursor *args);
/* QHermituxKeep:PID[;DESCENDANT,...]: a kept child of the process that
 * handed gdb's connection here, its pair the fd that came with it. */
void gdbstub_handle_keep(struct gdbstub *stub, struct gdbstub_cursor *args);
/* The oldest fd that came with a packet, -1 if none. */
int gdbstub_take_passed_fd(struct gdbstub *stub);
/* Those not taken, closed. */
void gdbstub_close_passed_fds(struct gdbstub *stub);
/* Received bytes, and the fds that came with them (queued). */
ssize_t gdbstub_receive_with_fds(struct gdbstub *stub, int fd, char *buffer, size_t size);

/* QHermituxAdopt's UNTOLD (hex frames, comma-separated): each is told gdb
 * at a coming resume, this process's own event as its own pending stop,
 * another's (a kept child's, maybe ended and dropped here already) kept
 * with that child. */
void gdbstub_adopt_untold(struct gdbstub *stub, struct gdbstub_cursor *args);

/* ---- handover.c */
void gdbstub_handle_adopt(struct gdbstub *stub, struct gdbstub_cursor *args);

/* ---- xfer.c: qXfer objects */
void gdbstub_handle_transfer(struct gdbstub *stub, struct gdbstub_cursor *args);

#endif
