/*
 * linux/host_syscalls.c — which host syscalls the monitor may make once it
 * has set itself up (the seccomp sandbox, monitor/sandbox.c).
 *
 * The monitor and the personality together use a large and growing part of
 * the host's interface: KVM ioctls, file and socket calls passed through for
 * the program, fork and execve of the monitor itself for guest processes,
 * threads, epoll, timers, memfds, file mappings, the GDB stub's sockets. So
 * the list is generous by design: every host syscall is allowed except the
 * ones below, which no part of the monitor or the personality makes and which
 * would let a monitor taken over by its guest reach further into the host
 * (other processes' memory and fds, the kernel's own configuration, modules,
 * mounts and namespaces, privileged I/O, interfaces that bypass seccomp).
 * A helper adding a feature that needs one of these must take it off this
 * list, with the reason, in the same change.
 */
#include "linux/internal.h"

#include <sys/syscall.h>

/* Newer than some hosts' headers. */
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup    425
#define SYS_io_uring_enter    426
#define SYS_io_uring_register 427
#endif
#ifndef SYS_open_tree
#define SYS_open_tree  428
#define SYS_move_mount 429
#define SYS_fsopen     430
#define SYS_fsconfig   431
#define SYS_fsmount    432
#define SYS_fspick     433
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif

static const int refused[] = {
    /* Another process's memory and fds (a sibling guest's monitor). */
    SYS_ptrace,
    SYS_process_vm_readv,
    SYS_process_vm_writev,
    SYS_pidfd_getfd,
    SYS_kcmp,
    /* A way around seccomp: io_uring performs calls the filter never sees. */
    SYS_io_uring_setup,
    SYS_io_uring_enter,
    SYS_io_uring_register,
    /* The kernel itself: modules, kexec, reboot, BPF, perf, userfaultfd,
     * keys, the kernel log. */
    SYS_init_module,
    SYS_finit_module,
    SYS_delete_module,
    SYS_kexec_load,
    SYS_kexec_file_load,
    SYS_reboot,
    SYS_bpf,
    SYS_perf_event_open,
    SYS_userfaultfd,
    SYS_keyctl,
    SYS_add_key,
    SYS_request_key,
    SYS_syslog,
    SYS_uselib,
    SYS_personality,
    /* Mounts, namespaces and the root: --root and the program's view rely on them staying. */
    SYS_mount,
    SYS_umount2,
    SYS_pivot_root,
    SYS_chroot,
    SYS_unshare,
    SYS_setns,
    SYS_open_tree,
    SYS_move_mount,
    SYS_fsopen,
    SYS_fsconfig,
    SYS_fsmount,
    SYS_fspick,
    SYS_mount_setattr,
    /* Opening files by handle bypasses every path check. */
    SYS_open_by_handle_at,
    /* The machine's configuration: time, names, swap, quotas, accounting,
     * port I/O. */
    SYS_settimeofday,
    SYS_clock_settime,
    SYS_clock_adjtime,
    SYS_adjtimex,
    SYS_sethostname,
    SYS_setdomainname,
    SYS_swapon,
    SYS_swapoff,
    SYS_acct,
    SYS_quotactl,
    SYS_quotactl_fd,
    SYS_iopl,
    SYS_ioperm,
    SYS_vhangup,
};

const int *linux_host_syscalls_refused(size_t *count)
{
    *count = G_N_ELEMENTS(refused);
    return refused;
}
