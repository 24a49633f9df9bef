/*
 * linux/strace_net.c — `--strace` for sockets, polling and the calls that
 * make descriptors (pipes, eventfd, timerfd) or move data between them
 * (sendfile): their structures and flags as strace 6.1 prints them.
 *
 * Several of these arguments go both ways: a socklen_t the kernel rewrites
 * ("[110 => 2]"), select's sets, sendfile's offset ("[2] => [10]"), a
 * timeout poll counts down. strace reads them before the call; so does
 * strace_net_entry, which keeps their text in thread->strace_entry for the
 * line written at the return. Guest memory is read through the checked
 * path only; what cannot be read prints as its address.
 */
#include "linux/strace.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>

/*
 * The letters of this module's formats (letters not listed are strace.c's):
 *   F address family      T socket type          P protocol (by args[0]'s family)
 *   N accept4 flags       a sockaddr in, its length the next argument
 *   A sockaddr out, its length's pointer next     L socklen_t pointer: [in => out]
 *   h shutdown how        m MSG_* flags          M struct msghdr in
 *   R struct msghdr out   s sockopt level        o sockopt name (by the level)
 *   X sendmmsg's mmsghdr array (count next)       Z recvmmsg's (the result's count)
 *   v sockopt value in, its length next          V sockopt value out, length pointer next
 *   q pollfd array, its count next               t timespec in (read at entry)
 *   S fd_set (args[0] bits, read at entry)        y timeval in (read at entry)
 *   Y pselect6's {sigmask, sigsetsize}           E epoll_create1 flags
 *   C epoll_ctl op        j epoll_event in       J epoll_events out (the result's count)
 *   D two fds out [3, 4]  O pipe2/dup3 flags     U sendfile offset: [in] => [out]
 *   n eventfd2 flags      w timerfd_create flags W timerfd_settime flags
 *   i itimerspec in       I itimerspec out
 */
const struct strace_format *strace_net_format_of(uint64_t number)
{
    static const struct {
        int number;
        struct strace_format format;
    } table[] = {
        {SYS_socket, {"FTP", false, false}},
        {SYS_socketpair, {"FTdD", false, false}}, /* strace names no protocol here */
        {SYS_bind, {"fad", false, false}},
        {SYS_connect, {"fad", false, false}},
        {SYS_listen, {"fd", false, false}},
        {SYS_accept, {"fAL", false, false}},
        {SYS_accept4, {"fALN", false, false}},
        {SYS_getsockname, {"fAL", false, false}},
        {SYS_getpeername, {"fAL", false, false}},
        {SYS_shutdown, {"fh", false, false}},
        {SYS_setsockopt, {"fsovd", false, false}},
        {SYS_getsockopt, {"fsoVL", false, false}},
        {SYS_sendto, {"fbumad", false, false}},
        {SYS_recvfrom, {"fBumAL", false, false}},
        {SYS_sendmsg, {"fMm", false, false}},
        {SYS_recvmsg, {"fRm", false, false}},
        {SYS_sendmmsg, {"fXum", false, false}},
        {SYS_recvmmsg, {"fZumt", false, false}},
        {SYS_poll, {"qud", false, false}},
        {SYS_ppoll, {"qutku", false, false}},
        {SYS_select, {"dSSSy", false, false}},
        {SYS_pselect6, {"dSSStY", false, false}},
        {SYS_epoll_create, {"d", false, false}},
        {SYS_epoll_create1, {"E", false, false}},
        {SYS_epoll_ctl, {"fCfj", false, false}},
        {SYS_epoll_wait, {"fJdd", false, false}},
        {SYS_epoll_pwait, {"fJddku", false, false}},
        {SYS_sendfile, {"ffUu", false, false}},
        {SYS_eventfd, {"u", false, false}},
        {SYS_eventfd2, {"un", false, false}},
        {SYS_timerfd_create, {"cw", false, false}},
        {SYS_timerfd_settime, {"fWiI", false, false}},
        {SYS_timerfd_gettime, {"fI", false, false}},
        {SYS_pipe, {"D", false, false}},
        {SYS_pipe2, {"DO", false, false}},
        {SYS_dup3, {"ffO", false, false}},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
        if ((uint64_t)table[i].number == number)
            return &table[i].format;
    }
    return NULL;
}

/* ---- names ------------------------------------------------------------------ */

/* names[value], or as strace shows a number it has no name for:
 * "0x63 /+ AF_??? +/" (unknown names the comment's text). */
static void put_indexed(GString *out, uint64_t value, const char *const *names, size_t count,
                        const char *unknown)
{
    if (value < count && names[value]) {
        g_string_append(out, names[value]);
        return;
    }
    if (value)
        g_string_append_printf(out, "%#" G_GINT64_MODIFIER "x", value);
    else
        g_string_append_c(out, '0');
    g_string_append_printf(out, " /* %s */", unknown);
}

#define NAMES(table) (table), G_N_ELEMENTS(table)

/* The type in the low four bits, then SOCK_CLOEXEC and SOCK_NONBLOCK. */
static void put_socket_type(GString *out, uint64_t value)
{
    static const char *const types[] = {
        [SOCK_STREAM] = "SOCK_STREAM",
        [SOCK_DGRAM] = "SOCK_DGRAM",
        [SOCK_RAW] = "SOCK_RAW",
        [SOCK_RDM] = "SOCK_RDM",
        [SOCK_SEQPACKET] = "SOCK_SEQPACKET",
        [SOCK_DCCP] = "SOCK_DCCP",
        [SOCK_PACKET] = "SOCK_PACKET",
    };
    uint64_t type = value & 0xf, flags = value & ~0xfULL;
    if (type)
        put_indexed(out, type, NAMES(types), "SOCK_???");
    else
        g_string_append_c(out, '0');
    static const struct strace_flag names[] = {FLAG(SOCK_CLOEXEC), FLAG(SOCK_NONBLOCK)};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (flags & names[i].value) {
            g_string_append_printf(out, "|%s", names[i].name);
            flags &= ~names[i].value;
        }
    }
    if (flags)
        g_string_append_printf(out, "|%#" G_GINT64_MODIFIER "x /* SOCK_??? */", flags);
}

static const char *const ip_protocols[] = {
    [IPPROTO_IP] = "IPPROTO_IP",
    [IPPROTO_ICMP] = "IPPROTO_ICMP",
    [IPPROTO_IGMP] = "IPPROTO_IGMP",
    [IPPROTO_IPIP] = "IPPROTO_IPIP",
    [IPPROTO_TCP] = "IPPROTO_TCP",
    [IPPROTO_EGP] = "IPPROTO_EGP",
    [IPPROTO_PUP] = "IPPROTO_PUP",
    [IPPROTO_UDP] = "IPPROTO_UDP",
    [IPPROTO_IDP] = "IPPROTO_IDP",
    [IPPROTO_TP] = "IPPROTO_TP",
    [IPPROTO_DCCP] = "IPPROTO_DCCP",
    [IPPROTO_IPV6] = "IPPROTO_IPV6",
    [IPPROTO_ROUTING] = "IPPROTO_ROUTING",
    [IPPROTO_FRAGMENT] = "IPPROTO_FRAGMENT",
    [IPPROTO_RSVP] = "IPPROTO_RSVP",
    [IPPROTO_GRE] = "IPPROTO_GRE",
    [IPPROTO_ESP] = "IPPROTO_ESP",
    [IPPROTO_AH] = "IPPROTO_AH",
    [IPPROTO_ICMPV6] = "IPPROTO_ICMPV6",
    [IPPROTO_NONE] = "IPPROTO_NONE",
    [IPPROTO_DSTOPTS] = "IPPROTO_DSTOPTS",
    [IPPROTO_MTP] = "IPPROTO_MTP",
    [94] = "IPPROTO_BEETPH",
    [IPPROTO_ENCAP] = "IPPROTO_ENCAP",
    [IPPROTO_PIM] = "IPPROTO_PIM",
    [IPPROTO_COMP] = "IPPROTO_COMP",
    [115] = "IPPROTO_L2TP",
    [IPPROTO_SCTP] = "IPPROTO_SCTP",
    [IPPROTO_MH] = "IPPROTO_MH",
    [IPPROTO_UDPLITE] = "IPPROTO_UDPLITE",
    [IPPROTO_MPLS] = "IPPROTO_MPLS",
    [143] = "IPPROTO_ETHERNET",
    [IPPROTO_RAW] = "IPPROTO_RAW",
    [262] = "IPPROTO_MPTCP",
};

static const char *const netlink_protocols[] = {
    "NETLINK_ROUTE",          "NETLINK_UNUSED",     "NETLINK_USERSOCK",
    "NETLINK_FIREWALL",       "NETLINK_SOCK_DIAG",  "NETLINK_NFLOG",
    "NETLINK_XFRM",           "NETLINK_SELINUX",    "NETLINK_ISCSI",
    "NETLINK_AUDIT",          "NETLINK_FIB_LOOKUP", "NETLINK_CONNECTOR",
    "NETLINK_NETFILTER",      "NETLINK_IP6_FW",     "NETLINK_DNRTMSG",
    "NETLINK_KOBJECT_UEVENT", "NETLINK_GENERIC",    NULL,
    "NETLINK_SCSITRANSPORT",  "NETLINK_ECRYPTFS",   "NETLINK_RDMA",
    "NETLINK_CRYPTO",         "NETLINK_SMC",
};

/* socket's third argument, which names a protocol of the first's family. */
static void put_protocol(GString *out, uint64_t family, uint64_t protocol)
{
    static const struct strace_flag ethernet[] = {
        {0x0003, "ETH_P_ALL"}, {0x0800, "ETH_P_IP"}, {0x0806, "ETH_P_ARP"}, {0x86dd, "ETH_P_IPV6"}};
    switch (family) {
    case AF_INET:
    case AF_INET6:
        put_indexed(out, (uint32_t)protocol, NAMES(ip_protocols), "IPPROTO_???");
        break;
    case AF_NETLINK:
        put_indexed(out, (uint32_t)protocol, NAMES(netlink_protocols), "NETLINK_???");
        break;
    case AF_PACKET: {
        /* In network order: strace shows htons(ETH_P_ALL). */
        uint16_t host = ntohs((uint16_t)protocol);
        g_string_append(out, "htons(");
        size_t i = 0;
        while (i < G_N_ELEMENTS(ethernet) && ethernet[i].value != host)
            i++;
        if (i < G_N_ELEMENTS(ethernet))
            g_string_append(out, ethernet[i].name);
        else
            g_string_append_printf(out, host ? "%#x /* ETH_P_??? */" : "0 /* ETH_P_??? */", host);
        g_string_append_c(out, ')');
        break;
    }
    default:
        g_string_append_printf(out, "%d", (int32_t)protocol);
    }
}

static void put_message_flags(GString *out, uint64_t flags)
{
    static const struct strace_flag names[] = {
        FLAG(MSG_OOB),          FLAG(MSG_PEEK),
        FLAG(MSG_DONTROUTE),    FLAG(MSG_CTRUNC),
        {0x10, "MSG_PROBE"},    FLAG(MSG_TRUNC),
        FLAG(MSG_DONTWAIT),     FLAG(MSG_EOR),
        FLAG(MSG_WAITALL),      FLAG(MSG_FIN),
        FLAG(MSG_SYN),          FLAG(MSG_CONFIRM),
        FLAG(MSG_RST),          FLAG(MSG_ERRQUEUE),
        FLAG(MSG_NOSIGNAL),     FLAG(MSG_MORE),
        FLAG(MSG_WAITFORONE),   {0x20000, "MSG_SENDPAGE_NOTLAST"},
        FLAG(MSG_BATCH),        {0x80000, "MSG_NO_SHARED_FRAGS"},
        FLAG(MSG_ZEROCOPY),     FLAG(MSG_FASTOPEN),
        FLAG(MSG_CMSG_CLOEXEC),
    };
    strace_put_flags(out, (uint32_t)flags, names, G_N_ELEMENTS(names), "0");
}

/* The text strace_net_entry kept for argument index, or NULL. */
static const char *entry_text(const struct linux_thread *thread, int index)
{
    return index >= 0 && index < 6 ? thread->strace_entry[index] : NULL;
}

/* ---- socket options --------------------------------------------------------- */

static const char *const socket_options[] = {
    NULL,
    "SO_DEBUG",
    "SO_REUSEADDR",
    "SO_TYPE",
    "SO_ERROR",
    "SO_DONTROUTE",
    "SO_BROADCAST",
    "SO_SNDBUF",
    "SO_RCVBUF",
    "SO_KEEPALIVE",
    "SO_OOBINLINE",
    "SO_NO_CHECK",
    "SO_PRIORITY",
    "SO_LINGER",
    "SO_BSDCOMPAT",
    "SO_REUSEPORT",
    "SO_PASSCRED",
    "SO_PEERCRED",
    "SO_RCVLOWAT",
    "SO_SNDLOWAT",
    "SO_RCVTIMEO_OLD",
    "SO_SNDTIMEO_OLD",
    "SO_SECURITY_AUTHENTICATION",
    "SO_SECURITY_ENCRYPTION_TRANSPORT",
    "SO_SECURITY_ENCRYPTION_NETWORK",
    "SO_BINDTODEVICE",
    "SO_ATTACH_FILTER",
    "SO_DETACH_FILTER",
    "SO_PEERNAME",
    "SO_TIMESTAMP_OLD",
    "SO_ACCEPTCONN",
    "SO_PEERSEC",
    "SO_SNDBUFFORCE",
    "SO_RCVBUFFORCE",
    "SO_PASSSEC",
    "SO_TIMESTAMPNS_OLD",
    "SO_MARK",
    "SO_TIMESTAMPING_OLD",
    "SO_PROTOCOL",
    "SO_DOMAIN",
    "SO_RXQ_OVFL",
    "SO_WIFI_STATUS",
    "SO_PEEK_OFF",
    "SO_NOFCS",
    "SO_LOCK_FILTER",
    "SO_SELECT_ERR_QUEUE",
    "SO_BUSY_POLL",
    "SO_MAX_PACING_RATE",
    "SO_BPF_EXTENSIONS",
    "SO_INCOMING_CPU",
    "SO_ATTACH_BPF",
    "SO_ATTACH_REUSEPORT_CBPF",
    "SO_ATTACH_REUSEPORT_EBPF",
    "SO_CNX_ADVICE",
    NULL,
    "SO_MEMINFO",
    "SO_INCOMING_NAPI_ID",
    "SO_COOKIE",
    NULL,
    "SO_PEERGROUPS",
    "SO_ZEROCOPY",
    "SO_TXTIME",
    "SO_BINDTOIFINDEX",
    "SO_TIMESTAMP_NEW",
    "SO_TIMESTAMPNS_NEW",
    "SO_TIMESTAMPING_NEW",
    "SO_RCVTIMEO_NEW",
    "SO_SNDTIMEO_NEW",
    "SO_DETACH_REUSEPORT_BPF",
    "SO_PREFER_BUSY_POLL",
    "SO_BUSY_POLL_BUDGET",
};

static const char *const tcp_options[] = {
    NULL,
    "TCP_NODELAY",
    "TCP_MAXSEG",
    "TCP_CORK",
    "TCP_KEEPIDLE",
    "TCP_KEEPINTVL",
    "TCP_KEEPCNT",
    "TCP_SYNCNT",
    "TCP_LINGER2",
    "TCP_DEFER_ACCEPT",
    "TCP_WINDOW_CLAMP",
    "TCP_INFO",
    "TCP_QUICKACK",
    "TCP_CONGESTION",
    "TCP_MD5SIG",
    "TCP_COOKIE_TRANSACTIONS",
    "TCP_THIN_LINEAR_TIMEOUTS",
    "TCP_THIN_DUPACK",
    "TCP_USER_TIMEOUT",
    "TCP_REPAIR",
    "TCP_REPAIR_QUEUE",
    "TCP_QUEUE_SEQ",
    "TCP_REPAIR_OPTIONS",
    "TCP_FASTOPEN",
    "TCP_TIMESTAMP",
    "TCP_NOTSENT_LOWAT",
    "TCP_CC_INFO",
    "TCP_SAVE_SYN",
    "TCP_SAVED_SYN",
    "TCP_REPAIR_WINDOW",
    "TCP_FASTOPEN_CONNECT",
    "TCP_ULP",
    "TCP_MD5SIG_EXT",
    "TCP_FASTOPEN_KEY",
    "TCP_FASTOPEN_NO_COOKIE",
    "TCP_ZEROCOPY_RECEIVE",
    "TCP_INQ",
    "TCP_TX_DELAY",
};

/* The protocol-independent multicast options, at IP's and IPv6's levels. */
#define MCAST_OPTIONS                                                                              \
    "MCAST_JOIN_GROUP", "MCAST_BLOCK_SOURCE", "MCAST_UNBLOCK_SOURCE", "MCAST_LEAVE_GROUP",         \
        "MCAST_JOIN_SOURCE_GROUP", "MCAST_LEAVE_SOURCE_GROUP", "MCAST_MSFILTER"

static const char *const ip_options[] = {
    [1] = "IP_TOS",
    "IP_TTL",
    "IP_HDRINCL",
    "IP_OPTIONS",
    "IP_ROUTER_ALERT",
    "IP_RECVOPTS",
    "IP_RETOPTS",
    "IP_PKTINFO",
    "IP_PKTOPTIONS",
    "IP_MTU_DISCOVER",
    "IP_RECVERR",
    "IP_RECVTTL",
    "IP_RECVTOS",
    "IP_MTU",
    "IP_FREEBIND",
    "IP_IPSEC_POLICY",
    "IP_XFRM_POLICY",
    "IP_PASSSEC",
    "IP_TRANSPARENT",
    "IP_ORIGDSTADDR",
    "IP_MINTTL",
    "IP_NODEFRAG",
    "IP_CHECKSUM",
    "IP_BIND_ADDRESS_NO_PORT",
    "IP_RECVFRAGSIZE",
    "IP_RECVERR_RFC4884",
    [32] = "IP_MULTICAST_IF",
    "IP_MULTICAST_TTL",
    "IP_MULTICAST_LOOP",
    "IP_ADD_MEMBERSHIP",
    "IP_DROP_MEMBERSHIP",
    "IP_UNBLOCK_SOURCE",
    "IP_BLOCK_SOURCE",
    "IP_ADD_SOURCE_MEMBERSHIP",
    "IP_DROP_SOURCE_MEMBERSHIP",
    "IP_MSFILTER",
    MCAST_OPTIONS,
    "IP_MULTICAST_ALL",
    "IP_UNICAST_IF",
};

static const char *const ipv6_options[] = {
    [1] = "IPV6_ADDRFORM",
    "IPV6_2292PKTINFO",
    "IPV6_2292HOPOPTS",
    "IPV6_2292DSTOPTS",
    "IPV6_2292RTHDR",
    "IPV6_2292PKTOPTIONS",
    "IPV6_CHECKSUM",
    "IPV6_2292HOPLIMIT",
    "IPV6_NEXTHOP",
    "IPV6_AUTHHDR",
    "IPV6_FLOWINFO",
    [16] = "IPV6_UNICAST_HOPS",
    "IPV6_MULTICAST_IF",
    "IPV6_MULTICAST_HOPS",
    "IPV6_MULTICAST_LOOP",
    "IPV6_ADD_MEMBERSHIP",
    "IPV6_DROP_MEMBERSHIP",
    "IPV6_ROUTER_ALERT",
    "IPV6_MTU_DISCOVER",
    "IPV6_MTU",
    "IPV6_RECVERR",
    "IPV6_V6ONLY",
    "IPV6_JOIN_ANYCAST",
    "IPV6_LEAVE_ANYCAST",
    "IPV6_MULTICAST_ALL",
    "IPV6_ROUTER_ALERT_ISOLATE",
    "IPV6_RECVERR_RFC4884",
    "IPV6_FLOWLABEL_MGR",
    "IPV6_FLOWINFO_SEND",
    "IPV6_IPSEC_POLICY",
    "IPV6_XFRM_POLICY",
    "IPV6_HDRINCL",
    [42] = MCAST_OPTIONS,
    "IPV6_RECVPKTINFO",
    "IPV6_PKTINFO",
    "IPV6_RECVHOPLIMIT",
    "IPV6_HOPLIMIT",
    "IPV6_RECVHOPOPTS",
    "IPV6_HOPOPTS",
    "IPV6_RTHDRDSTOPTS",
    "IPV6_RECVRTHDR",
    "IPV6_RTHDR",
    "IPV6_RECVDSTOPTS",
    "IPV6_DSTOPTS",
    "IPV6_RECVPATHMTU",
    "IPV6_PATHMTU",
    "IPV6_DONTFRAG",
    "IPV6_USE_MIN_MTU",
    "IP6T_SO_SET_REPLACE",
    "IP6T_SO_SET_ADD_COUNTERS",
    "IPV6_RECVTCLASS",
    "IPV6_TCLASS",
    [70] = "IPV6_AUTOFLOWLABEL",
    [72] = "IPV6_ADDR_PREFERENCES",
    "IPV6_MINHOPCOUNT",
    "IPV6_ORIGDSTADDR",
    "IPV6_TRANSPARENT",
    "IPV6_UNICAST_IF",
    "IPV6_RECVFRAGSIZE",
    "IPV6_FREEBIND",
};

/* A level by strace's socketlayers names; unknown as "unknown" says (two
 * question marks for an option's level, three for a control message's). */
static void put_level_as(GString *out, uint64_t level, const char *unknown)
{
    static const struct strace_flag levels[] = {
        {0, "SOL_IP"},          {SOL_SOCKET, "SOL_SOCKET"}, {6, "SOL_TCP"},
        {17, "SOL_UDP"},        {40, "AF_VSOCK"},           {41, "SOL_IPV6"},
        {58, "SOL_ICMPV6"},     {100, "SOL_CAN_BASE"},      {101, "SOL_CAN_RAW"},
        {132, "SOL_SCTP"},      {136, "SOL_UDPLITE"},       {255, "SOL_RAW"},
        {256, "SOL_IPX"},       {257, "SOL_AX25"},          {258, "SOL_ATALK"},
        {259, "SOL_NETROM"},    {260, "SOL_ROSE"},          {261, "SOL_DECNET"},
        {262, "SOL_X25"},       {263, "SOL_PACKET"},        {264, "SOL_ATM"},
        {265, "SOL_AAL"},       {266, "SOL_IRDA"},          {267, "SOL_NETBEUI"},
        {268, "SOL_LLC"},       {269, "SOL_DCCP"},          {270, "SOL_NETLINK"},
        {271, "SOL_TIPC"},      {272, "SOL_RXRPC"},         {273, "SOL_PPPOL2TP"},
        {274, "SOL_BLUETOOTH"}, {275, "SOL_PNPIPE"},        {276, "SOL_RDS"},
        {277, "SOL_IUCV"},      {278, "SOL_CAIF"},          {279, "SOL_ALG"},
        {280, "SOL_NFC"},       {281, "SOL_KCM"},           {282, "SOL_TLS"},
        {283, "SOL_XDP"},       {0xffff, "SOL_SOCKET"},
    };
    strace_put_value(out, (uint32_t)level, NAMES(levels), unknown);
}

static void put_level(GString *out, uint64_t level)
{
    /* Sic: strace's unknown option level has two question marks. */
    put_level_as(out, level, "SOL_??");
}

static const char *const netlink_options[] = {
    NULL,
    "NETLINK_ADD_MEMBERSHIP",
    "NETLINK_DROP_MEMBERSHIP",
    "NETLINK_PKTINFO",
    "NETLINK_BROADCAST_ERROR",
    "NETLINK_NO_ENOBUFS",
    "NETLINK_RX_RING",
    "NETLINK_TX_RING",
    "NETLINK_LISTEN_ALL_NSID",
    "NETLINK_LIST_MEMBERSHIPS",
    "NETLINK_CAP_ACK",
    "NETLINK_EXT_ACK",
    "NETLINK_GET_STRICT_CHK",
};

static const char *const packet_options[] = {
    NULL,
    "PACKET_ADD_MEMBERSHIP",
    "PACKET_DROP_MEMBERSHIP",
    "PACKET_RECV_OUTPUT",
    NULL,
    "PACKET_RX_RING",
    "PACKET_STATISTICS",
    "PACKET_COPY_THRESH",
    "PACKET_AUXDATA",
    "PACKET_ORIGDEV",
    "PACKET_VERSION",
    "PACKET_HDRLEN",
    "PACKET_RESERVE",
    "PACKET_TX_RING",
    "PACKET_LOSS",
    "PACKET_VNET_HDR",
    "PACKET_TX_TIMESTAMP",
    "PACKET_TIMESTAMP",
    "PACKET_FANOUT",
    "PACKET_TX_HAS_OFF",
    "PACKET_QDISC_BYPASS",
    "PACKET_ROLLOVER_STATS",
    "PACKET_FANOUT_DATA",
    "PACKET_IGNORE_OUTGOING",
};

static const char *const sctp_options[] = {
    "SCTP_RTOINFO",
    "SCTP_ASSOCINFO",
    "SCTP_INITMSG",
    "SCTP_NODELAY",
    "SCTP_AUTOCLOSE",
    "SCTP_SET_PEER_PRIMARY_ADDR",
    "SCTP_PRIMARY_ADDR",
    "SCTP_ADAPTATION_LAYER",
    "SCTP_DISABLE_FRAGMENTS",
    "SCTP_PEER_ADDR_PARAMS",
    "SCTP_DEFAULT_SEND_PARAM",
    "SCTP_EVENTS",
    "SCTP_I_WANT_MAPPED_V4_ADDR",
    "SCTP_MAXSEG",
    "SCTP_STATUS",
    "SCTP_GET_PEER_ADDR_INFO",
    "SCTP_DELAYED_SACK",
    "SCTP_CONTEXT",
    "SCTP_FRAGMENT_INTERLEAVE",
    "SCTP_PARTIAL_DELIVERY_POINT",
    "SCTP_MAX_BURST",
    "SCTP_AUTH_CHUNK",
    "SCTP_HMAC_IDENT",
    "SCTP_AUTH_KEY",
    "SCTP_AUTH_ACTIVE_KEY",
    "SCTP_AUTH_DELETE_KEY",
    "SCTP_PEER_AUTH_CHUNKS",
    "SCTP_LOCAL_AUTH_CHUNKS",
    "SCTP_GET_ASSOC_NUMBER",
    "SCTP_GET_ASSOC_ID_LIST",
    "SCTP_AUTO_ASCONF",
    "SCTP_PEER_ADDR_THLDS",
    "SCTP_RECVRCVINFO",
    "SCTP_RECVNXTINFO",
    "SCTP_DEFAULT_SNDINFO",
    "SCTP_AUTH_DEACTIVATE_KEY",
    "SCTP_REUSE_PORT",
    "SCTP_PEER_ADDR_THLDS_V2",
    [100] = "SCTP_SOCKOPT_BINDX_ADD",
    "SCTP_SOCKOPT_BINDX_REM",
    "SCTP_SOCKOPT_PEELOFF",
    "SCTP_GET_PEER_ADDRS_NUM_OLD",
    "SCTP_GET_PEER_ADDRS_OLD",
    "SCTP_GET_LOCAL_ADDRS_NUM_OLD",
    "SCTP_GET_LOCAL_ADDRS_OLD",
    "SCTP_SOCKOPT_CONNECTX_OLD",
    "SCTP_GET_PEER_ADDRS",
    "SCTP_GET_LOCAL_ADDRS",
    "SCTP_SOCKOPT_CONNECTX",
    "SCTP_SOCKOPT_CONNECTX3",
    "SCTP_GET_ASSOC_STATS",
    "SCTP_PR_SUPPORTED",
    "SCTP_DEFAULT_PRINFO",
    "SCTP_PR_ASSOC_STATUS",
    "SCTP_PR_STREAM_STATUS",
    "SCTP_RECONFIG_SUPPORTED",
    "SCTP_ENABLE_STREAM_RESET",
    "SCTP_RESET_STREAMS",
    "SCTP_RESET_ASSOC",
    "SCTP_ADD_STREAMS",
    "SCTP_SOCKOPT_PEELOFF_FLAGS",
    "SCTP_STREAM_SCHEDULER",
    "SCTP_STREAM_SCHEDULER_VALUE",
    "SCTP_INTERLEAVING_SUPPORTED",
    "SCTP_SENDMSG_CONNECT",
    "SCTP_EVENT",
    "SCTP_ASCONF_SUPPORTED",
    "SCTP_AUTH_SUPPORTED",
    "SCTP_ECN_SUPPORTED",
    "SCTP_EXPOSE_POTENTIALLY_FAILED_STATE",
    "SCTP_REMOTE_UDP_ENCAPS_PORT",
    "SCTP_PLPMTUD_PROBE_INTERVAL",
};

static const char *const tls_options[] = {NULL, "TLS_TX", "TLS_RX"};
static const char *const alg_options[] = {
    NULL,
    "ALG_SET_KEY",
    "ALG_SET_IV",
    "ALG_SET_OP",
    "ALG_SET_AEAD_ASSOCLEN",
    "ALG_SET_AEAD_AUTHSIZE",
    "ALG_SET_DRBG_ENTROPY",
};
static const char *const xdp_options[] = {
    NULL,
    "XDP_MMAP_OFFSETS",
    "XDP_RX_RING",
    "XDP_TX_RING",
    "XDP_UMEM_REG",
    "XDP_UMEM_FILL_RING",
    "XDP_UMEM_COMPLETION_RING",
    "XDP_STATISTICS",
    "XDP_OPTIONS",
};
static const char *const raw_options[] = {NULL, "ICMP_FILTER"};

/* An option's name, from the table of its level; a number at the levels
 * strace has no table for. */
static void put_option_name(GString *out, uint64_t level, uint64_t name)
{
    static const struct strace_flag udp_options[] = {
        {1, "UDP_CORK"},           {100, "UDP_ENCAP"},   {101, "UDP_NO_CHECK6_TX"},
        {102, "UDP_NO_CHECK6_RX"}, {103, "UDP_SEGMENT"}, {104, "UDP_GRO"},
    };
    static const struct {
        uint32_t level;
        const char *const *names;
        size_t count;
        const char *unknown;
    } levels[] = {
        {SOL_SOCKET, NAMES(socket_options), "SO_???"},
        {6, NAMES(tcp_options), "TCP_???"},
        {0, NAMES(ip_options), "IP_???"},
        {41, NAMES(ipv6_options), "IPV6_???"},
        {270, NAMES(netlink_options), "NETLINK_???"},
        {263, NAMES(packet_options), "PACKET_???"},
        {255, NAMES(raw_options), "RAW_???"},
        {132, NAMES(sctp_options), "SCTP_???"},
        {282, NAMES(tls_options), "TLS_???"},
        {279, NAMES(alg_options), "ALG_???"},
        {283, NAMES(xdp_options), "XDP_???"},
    };
    uint32_t value = (uint32_t)name;
    if ((uint32_t)level == 17) {
        strace_put_value(out, value, NAMES(udp_options), "UDP_???");
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(levels); i++) {
        if (levels[i].level == (uint32_t)level) {
            put_indexed(out, value, levels[i].names, levels[i].count, levels[i].unknown);
            return;
        }
    }
    g_string_append_printf(out, "%u", value);
}

/* How strace 6.1 shows an option's value (print_setsockopt and
 * print_getsockopt): structures for a few, an int for the options it
 * knows are ints, else an int when the length is exactly one and the
 * bytes as a string otherwise. */
enum option_shape {
    OPTION_DEFAULT,
    OPTION_INT,      /* an address when shorter than an int */
    OPTION_LINGER,   /* struct linger */
    OPTION_PEERCRED, /* struct ucred (getsockopt) */
    OPTION_ERROR,    /* SO_ERROR's errno by name (getsockopt) */
    OPTION_MREQ,     /* struct ip_mreq (setsockopt) */
    OPTION_MREQ6,    /* struct ipv6_mreq (setsockopt) */
    OPTION_NETLINK,  /* SOL_NETLINK: always an int */
};

/* The SOL_SOCKET options strace lists as "int-like". */
static bool socket_int_option(uint32_t name)
{
    static const uint8_t names[] = {
        SO_DEBUG,
        SO_REUSEADDR,
        SO_DONTROUTE,
        SO_BROADCAST,
        SO_SNDBUF,
        SO_RCVBUF,
        SO_KEEPALIVE,
        SO_OOBINLINE,
        SO_NO_CHECK,
        SO_PRIORITY,
        SO_BSDCOMPAT,
        SO_REUSEPORT,
        SO_PASSCRED,
        SO_RCVLOWAT,
        SO_SNDLOWAT,
        SO_DETACH_FILTER,
        29 /* SO_TIMESTAMP_OLD */,
        SO_ACCEPTCONN,
        SO_SNDBUFFORCE,
        SO_RCVBUFFORCE,
        SO_PASSSEC,
        35 /* SO_TIMESTAMPNS_OLD */,
        SO_MARK,
        37 /* SO_TIMESTAMPING_OLD */,
        SO_RXQ_OVFL,
        SO_WIFI_STATUS,
        SO_PEEK_OFF,
        SO_NOFCS,
        SO_LOCK_FILTER,
        SO_SELECT_ERR_QUEUE,
        SO_BUSY_POLL,
        SO_INCOMING_CPU,
        53 /* SO_CNX_ADVICE */,
        56 /* SO_INCOMING_NAPI_ID */,
        60 /* SO_ZEROCOPY */,
        63 /* SO_TIMESTAMP_NEW */,
        64 /* SO_TIMESTAMPNS_NEW */,
        65 /* SO_TIMESTAMPING_NEW */,
        68 /* SO_DETACH_REUSEPORT_BPF */,
        69 /* SO_PREFER_BUSY_POLL */,
        70 /* SO_BUSY_POLL_BUDGET */,
        73 /* SO_RESERVE_MEM */,
        75 /* SO_RCVMARK */,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (names[i] == name)
            return true;
    }
    return false;
}

static enum option_shape option_shape(const uint64_t *args, bool get)
{
    uint32_t level = (uint32_t)args[1], name = (uint32_t)args[2];
    switch (level) {
    case SOL_SOCKET:
        if (name == SO_LINGER)
            return OPTION_LINGER;
        if (get && name == SO_PEERCRED)
            return OPTION_PEERCRED;
        if (get && name == SO_ERROR)
            return OPTION_ERROR;
        return socket_int_option(name) ? OPTION_INT : OPTION_DEFAULT;
    case SOL_IP:
        return !get && (name == IP_ADD_MEMBERSHIP || name == IP_DROP_MEMBERSHIP) ? OPTION_MREQ
                                                                                 : OPTION_DEFAULT;
    case SOL_IPV6:
        return !get && (name == IPV6_ADD_MEMBERSHIP || name == IPV6_DROP_MEMBERSHIP ||
                        name == IPV6_JOIN_ANYCAST || name == IPV6_LEAVE_ANYCAST)
                   ? OPTION_MREQ6
                   : OPTION_DEFAULT;
    case 270: /* SOL_NETLINK */
        return OPTION_NETLINK;
    default:
        return OPTION_DEFAULT;
    }
}

/* One int at address: "[5]". */
static void put_int_at(struct linux_process *process, GString *out, uint64_t address)
{
    int32_t value;
    if (strace_copy_in(process, out, address, &value, sizeof(value)))
        g_string_append_printf(out, "[%d]", value);
}

/* The int fields of a structure getsockopt filled length bytes of, as
 * strace's MAYBE_PRINT_FIELD_LEN: whole fields as numbers, a cut one as
 * its bytes in hex, none past the length. */
static void put_int_fields(struct linux_process *process, GString *out, uint64_t address,
                           uint32_t length, const char *const *names, size_t count)
{
    int32_t values[3] = {0};
    size_t size = count * sizeof(int32_t);
    if (length > size)
        length = (uint32_t)size;
    if (!strace_copy_in(process, out, address, values, length))
        return;
    g_string_append_c(out, '{');
    for (size_t i = 0; i < count && length > i * 4; i++) {
        g_string_append_printf(out, "%s%s=", i ? ", " : "", names[i]);
        if (length >= (i + 1) * 4)
            g_string_append_printf(out, "%d", values[i]);
        else
            strace_put_string_bytes(out, (const uint8_t *)&values[i], length - i * 4, false, true);
    }
    g_string_append_c(out, '}');
}

static void put_mreq(struct linux_process *process, GString *out, uint64_t address)
{
    struct ip_mreq request;
    if (!strace_copy_in(process, out, address, &request, sizeof(request)))
        return;
    char group[INET_ADDRSTRLEN], interface[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &request.imr_multiaddr, group, sizeof(group));
    inet_ntop(AF_INET, &request.imr_interface, interface, sizeof(interface));
    g_string_append_printf(out,
                           "{imr_multiaddr=inet_addr(\"%s\"), imr_interface=inet_addr(\"%s\")}",
                           group, interface);
}

static void put_mreq6(struct linux_process *process, GString *out, uint64_t address)
{
    struct ipv6_mreq request;
    if (!strace_copy_in(process, out, address, &request, sizeof(request)))
        return;
    char group[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &request.ipv6mr_multiaddr, group, sizeof(group));
    g_string_append_printf(
        out, "{inet_pton(AF_INET6, \"%s\", &ipv6mr_multiaddr), ipv6mr_interface=", group);
    strace_put_interface(out, request.ipv6mr_interface);
    g_string_append_c(out, '}');
}

/* setsockopt's value of args[4] bytes. */
static void put_option_in(struct linux_process *process, GString *out, const uint64_t *args)
{
    uint64_t address = args[3];
    int32_t length = (int32_t)args[4];
    enum option_shape shape = option_shape(args, false);
    size_t needed = shape == OPTION_LINGER  ? sizeof(struct linger)
                    : shape == OPTION_MREQ  ? sizeof(struct ip_mreq)
                    : shape == OPTION_MREQ6 ? sizeof(struct ipv6_mreq)
                                            : sizeof(int32_t);
    if (address == 0) {
        g_string_append(out, "NULL");
    } else if (shape != OPTION_DEFAULT && length < (int32_t)needed) {
        strace_put_pointer(out, address);
    } else if (shape == OPTION_LINGER) {
        static const char *const names[] = {"l_onoff", "l_linger"};
        put_int_fields(process, out, address, (uint32_t)length, NAMES(names));
    } else if (shape == OPTION_MREQ) {
        put_mreq(process, out, address);
    } else if (shape == OPTION_MREQ6) {
        put_mreq6(process, out, address);
    } else if (shape != OPTION_DEFAULT || length == (int32_t)sizeof(int32_t)) {
        put_int_at(process, out, address);
    } else {
        /* A negative length reads as a huge one: the string is cut. */
        strace_put_buffer(process, out, address, (uint64_t)(int64_t)length, false);
    }
}

/* getsockopt's value: the kernel wrote back the length (rlen) into room for
 * the length the caller gave (ulen, kept at the entry). */
static void put_option_out(struct linux_thread *thread, GString *out, const uint64_t *args,
                           bool failed)
{
    struct linux_process *process = thread->process;
    uint64_t address = args[3];
    int32_t length;
    const char *before = entry_text(thread, 4);
    if (failed || linux_copy_in(process, args[4], &length, sizeof(length)) != 0 ||
        (before && strtol(before, NULL, 10) <= 0) || length <= 0 || address == 0) {
        strace_put_pointer(out, address);
        return;
    }
    enum option_shape shape = option_shape(args, true);
    if (shape == OPTION_LINGER) {
        static const char *const names[] = {"l_onoff", "l_linger"};
        put_int_fields(process, out, address, (uint32_t)length, NAMES(names));
    } else if (shape == OPTION_PEERCRED) {
        static const char *const names[] = {"pid", "uid", "gid"};
        put_int_fields(process, out, address, (uint32_t)length, NAMES(names));
    } else if ((shape == OPTION_ERROR || shape == OPTION_INT) && length < 4) {
        strace_put_buffer(process, out, address, (uint32_t)length, true);
    } else if (shape == OPTION_ERROR) {
        uint32_t error;
        if (!strace_copy_in(process, out, address, &error, sizeof(error)))
            return;
        const char *name = error && error < 4096 ? strerrorname_np((int)error) : NULL;
        if (name)
            g_string_append_printf(out, "[%s]", name);
        else
            g_string_append_printf(out, "[%u]", error);
    } else if (shape != OPTION_DEFAULT || length == 4) {
        put_int_at(process, out, address);
    } else {
        strace_put_buffer(process, out, address, (uint32_t)length, false);
    }
}

/* ---- netlink data ------------------------------------------------------------- */

/* The netlink protocol of the program's socket fd (NETLINK_ROUTE...), -1
 * when it is not a netlink socket: the host's socket tells. */
static int netlink_protocol(struct linux_process *process, uint64_t fd)
{
    int host = linux_fd_host(process, fd), domain = 0, protocol = -1;
    socklen_t size = sizeof(domain);
    if (host < 0 || getsockopt(host, SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0 ||
        domain != AF_NETLINK)
        return -1;
    size = sizeof(protocol);
    return getsockopt(host, SOL_SOCKET, SO_PROTOCOL, &protocol, &size) == 0 ? protocol : -1;
}

/* The most of a netlink buffer decoded (a message is at most a few pages;
 * a guest's length is not trusted). */
#define NETLINK_DECODE_LIMIT (1u << 20)

/* length bytes at address as netlink messages of protocol (a
 * strace_data_printer: context points at the protocol). */
static void put_netlink_data(struct linux_process *process, GString *out, uint64_t address,
                             uint64_t length, void *context)
{
    int protocol = *(const int *)context;
    size_t size = length < NETLINK_DECODE_LIMIT ? (size_t)length : NETLINK_DECODE_LIMIT;
    g_autofree uint8_t *bytes = g_malloc(size ? size : 1);
    if (address == 0 || linux_copy_in(process, address, bytes, size) != 0) {
        strace_put_pointer(out, address);
        return;
    }
    strace_netlink_put(out, bytes, size, protocol);
}

/* sendto's data, or recvfrom's as received: netlink messages on a netlink
 * socket, else a string. */
static void put_socket_data(struct linux_process *process, GString *out, const uint64_t *args,
                            uint64_t length)
{
    int protocol = netlink_protocol(process, args[0]);
    if (protocol >= 0)
        put_netlink_data(process, out, args[1], length, &protocol);
    else
        strace_put_buffer(process, out, args[1], length, false);
}

/* ---- addresses -------------------------------------------------------------- */

static void put_sockaddr_bytes(GString *out, const uint8_t *bytes, size_t size);

/* struct sockaddr of length bytes at address, by its family. */
static void put_sockaddr(struct linux_process *process, GString *out, uint64_t address,
                         uint64_t length)
{
    uint8_t bytes[sizeof(struct sockaddr_storage)];
    size_t size = length < sizeof(bytes) ? (size_t)length : sizeof(bytes);
    if (address == 0) {
        g_string_append(out, "NULL");
        return;
    }
    if (size < 2 || linux_copy_in(process, address, bytes, size) != 0) {
        strace_put_pointer(out, address);
        return;
    }
    put_sockaddr_bytes(out, bytes, size);
}

/* A struct sockaddr of size (>= 2) bytes already copied out. */
static void put_sockaddr_bytes(GString *out, const uint8_t *bytes, size_t size)
{
    uint16_t family;
    memcpy(&family, bytes, sizeof(family));
    g_string_append(out, "{sa_family=");
    strace_put_family(out, family);
    if (family == AF_UNIX && size > 2) {
        /* sun_path: a path up to its NUL, or an abstract name (a NUL
         * first) whose every byte counts, shown after an '@'. */
        const uint8_t *path = bytes + 2;
        size_t path_length = size - 2;
        g_string_append(out, ", sun_path=");
        if (path[0] == 0) {
            g_string_append_c(out, '@');
            strace_put_string_bytes(out, path + 1, path_length - 1, false, false);
        } else {
            strace_put_string_bytes(out, path, strnlen((const char *)path, path_length), false,
                                    false);
        }
    } else if (family == AF_INET && size >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        char text[INET_ADDRSTRLEN];
        memcpy(&in, bytes, sizeof(in));
        g_string_append_printf(out, ", sin_port=htons(%u), sin_addr=inet_addr(\"%s\")",
                               ntohs(in.sin_port),
                               inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text)));
    } else if (family == AF_INET6 && size >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        char text[INET6_ADDRSTRLEN], interface[IF_NAMESIZE];
        memcpy(&in6, bytes, sizeof(in6));
        g_string_append_printf(out,
                               ", sin6_port=htons(%u), sin6_flowinfo=htonl(%u), "
                               "inet_pton(AF_INET6, \"%s\", &sin6_addr), sin6_scope_id=",
                               ntohs(in6.sin6_port), ntohl(in6.sin6_flowinfo),
                               inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text)));
        /* The program's sockets are the host's: so are its interfaces. */
        if (in6.sin6_scope_id && if_indextoname(in6.sin6_scope_id, interface))
            g_string_append_printf(out, "if_nametoindex(\"%s\")", interface);
        else
            g_string_append_printf(out, "%u", in6.sin6_scope_id);
    } else if (family == AF_NETLINK && size >= sizeof(struct sockaddr_nl)) {
        struct sockaddr_nl nl;
        memcpy(&nl, bytes, sizeof(nl));
        g_string_append_printf(out, ", nl_pid=%u, nl_groups=%08x", nl.nl_pid, nl.nl_groups);
    } else if (size > 2) {
        g_string_append(out, ", sa_data=");
        strace_put_string_bytes(out, bytes + 2, size - 2, false, false);
    }
    g_string_append_c(out, '}');
}

/* A socklen_t (or any u32) at address as text, NULL when unreadable. */
static char *read_length(struct linux_process *process, uint64_t address)
{
    uint32_t length;
    if (address == 0 || linux_copy_in(process, address, &length, sizeof(length)) != 0)
        return NULL;
    return g_strdup_printf("%u", length);
}

/* A length the call reads and rewrites: [in], or [in => out] when the
 * kernel changed it; [in] alone when the call failed. */
static void put_length_update(GString *out, const char *before, const char *after, bool failed)
{
    const char *in = before ? before : after;
    if (failed || !after || strcmp(in, after) == 0)
        g_string_append_printf(out, "[%s]", in);
    else
        g_string_append_printf(out, "[%s => %s]", in, after);
}

static void put_socklen(struct linux_thread *thread, GString *out, uint64_t address, int index,
                        bool failed)
{
    char *after = read_length(thread->process, address);
    const char *before = entry_text(thread, index);
    if (address == 0)
        g_string_append(out, "NULL");
    else if (!after && !before)
        strace_put_pointer(out, address);
    else
        put_length_update(out, before, after, failed);
    g_free(after);
}

/* An address the call fills in, its length's pointer the next argument. */
static void put_sockaddr_out(struct linux_thread *thread, GString *out, const uint64_t *args,
                             int index, bool failed)
{
    uint64_t address = args[index];
    char *after = read_length(thread->process, args[index + 1]);
    const char *before = entry_text(thread, index + 1);
    if (address == 0) {
        g_string_append(out, "NULL");
    } else if (failed || !after || strcmp(after, "0") == 0) {
        strace_put_pointer(out, address);
    } else {
        /* What the kernel wrote: no more than the room there was. */
        uint64_t length = strtoull(after, NULL, 10);
        if (before && strtoull(before, NULL, 10) < length)
            length = strtoull(before, NULL, 10);
        put_sockaddr(thread->process, out, address, length);
    }
    g_free(after);
}

/* ---- messages --------------------------------------------------------------- */

/* ---- control messages ----------------------------------------------------- */

/* 32-bit unsigned members of a control message's data: "[64]". */
static void put_cmsg_uints(GString *out, const uint8_t *data, size_t length)
{
    g_string_append_c(out, '[');
    for (size_t i = 0; i + 4 <= length; i += 4) {
        uint32_t value;
        memcpy(&value, data + i, sizeof(value));
        g_string_append_printf(out, "%s%u", i ? ", " : "", value);
    }
    g_string_append_c(out, ']');
}

/* Bytes in hex: "[0x10]" (IP_TOS, IP options). */
static void put_cmsg_bytes(GString *out, const uint8_t *data, size_t length)
{
    g_string_append_c(out, '[');
    for (size_t i = 0; i < length; i++)
        g_string_append_printf(out, "%s%#x", i ? ", " : "", data[i]);
    g_string_append_c(out, ']');
}

/* count timestamps of 16 bytes ({sec, usec} or {sec, nsec}); "???" when
 * the data is shorter, as strace's *_data_size printers. */
static void put_cmsg_times(GString *out, const uint8_t *data, size_t length, size_t count,
                           const char *fraction)
{
    if (length < count * 16) {
        g_string_append(out, "???");
        return;
    }
    if (count > 1)
        g_string_append_c(out, '[');
    for (size_t i = 0; i < count; i++) {
        int64_t value[2];
        memcpy(value, data + i * 16, sizeof(value));
        g_string_append_printf(out, "%s{tv_sec=%" G_GINT64_FORMAT ", %s=%" G_GUINT64_FORMAT "}",
                               i ? ", " : "", value[0], fraction, (uint64_t)value[1]);
    }
    if (count > 1)
        g_string_append_c(out, ']');
}

static void put_in_addr(GString *out, const char *field, const void *address)
{
    char text[INET_ADDRSTRLEN];
    g_string_append_printf(out, "%s=inet_addr(\"%s\")", field,
                           inet_ntop(AF_INET, address, text, sizeof(text)));
}

/* SOL_SOCKET's control messages; false when strace shows no data. */
static bool put_socket_cmsg(GString *out, int type, const uint8_t *data, size_t length)
{
    switch (type) {
    case SCM_RIGHTS:
        if (length < 4)
            return false;
        g_string_append(out, ", cmsg_data=[");
        for (size_t i = 0; i + 4 <= length; i += 4) {
            int32_t fd;
            memcpy(&fd, data + i, sizeof(fd));
            g_string_append_printf(out, "%s%d", i ? ", " : "", fd);
        }
        g_string_append_c(out, ']');
        return true;
    case SCM_CREDENTIALS: {
        if (length < 12)
            return false;
        int32_t credentials[3];
        memcpy(credentials, data, sizeof(credentials));
        g_string_append_printf(out, ", cmsg_data={pid=%d, uid=%u, gid=%u}", credentials[0],
                               (uint32_t)credentials[1], (uint32_t)credentials[2]);
        return true;
    }
    case 3: /* SCM_SECURITY: the peer's security context, whole */
        if (length < 1)
            return false;
        g_string_append(out, ", cmsg_data=");
        strace_put_string_bytes(out, data, length, false, false);
        return true;
    case 29: /* SO_TIMESTAMP_OLD */
    case 63: /* SO_TIMESTAMP_NEW */
    case 35: /* SO_TIMESTAMPNS_OLD */
    case 64: /* SO_TIMESTAMPNS_NEW */
    case 37: /* SO_TIMESTAMPING_OLD */
    case 65: /* SO_TIMESTAMPING_NEW */
        if (length < 1)
            return false;
        g_string_append(out, ", cmsg_data=");
        put_cmsg_times(out, data, length, type == 37 || type == 65 ? 3 : 1,
                       type == 29 || type == 63 ? "tv_usec" : "tv_nsec");
        return true;
    default:
        return false;
    }
}

/* SOL_IP's control messages; false when strace shows no data. */
static bool put_ip_cmsg(GString *out, int type, const uint8_t *data, size_t length)
{
    switch (type) {
    case IP_TOS:
    case IP_RECVOPTS:
    case IP_RETOPTS:
        if (length < 1)
            return false;
        g_string_append(out, ", cmsg_data=");
        put_cmsg_bytes(out, data, length);
        return true;
    case IP_TTL:
    case IP_CHECKSUM:
        if (length < 4)
            return false;
        g_string_append(out, ", cmsg_data=");
        put_cmsg_uints(out, data, length);
        return true;
    case IP_PKTINFO: {
        struct in_pktinfo info;
        if (length < sizeof(info))
            return false;
        memcpy(&info, data, sizeof(info));
        g_string_append(out, ", cmsg_data={ipi_ifindex=");
        strace_put_interface(out, (uint32_t)info.ipi_ifindex);
        put_in_addr(out, ", ipi_spec_dst", &info.ipi_spec_dst);
        put_in_addr(out, ", ipi_addr", &info.ipi_addr);
        g_string_append_c(out, '}');
        return true;
    }
    case IP_RECVERR: {
        /* struct sock_extended_err, then the offender's sockaddr_in. */
        struct {
            uint32_t error;
            uint8_t origin, type, code, pad;
            uint32_t info, data;
            uint8_t offender[16];
        } report;
        if (length < sizeof(report))
            return false;
        memcpy(&report, data, sizeof(report));
        g_string_append_printf(out,
                               ", cmsg_data={ee_errno=%u, ee_origin=%u, ee_type=%u, ee_code=%u, "
                               "ee_info=%u, ee_data=%u, offender=",
                               report.error, report.origin, report.type, report.code, report.info,
                               report.data);
        put_sockaddr_bytes(out, report.offender, sizeof(report.offender));
        g_string_append_c(out, '}');
        return true;
    }
    case IP_ORIGDSTADDR:
        if (length < sizeof(struct sockaddr_in))
            return false;
        g_string_append(out, ", cmsg_data=");
        put_sockaddr_bytes(
            out, data,
            length < sizeof(struct sockaddr_storage) ? length : sizeof(struct sockaddr_storage));
        return true;
    case 3: /* SCM_SECURITY at SOL_IP */
        return put_socket_cmsg(out, 3, data, length);
    default:
        return false;
    }
}

/* One control message's type and data, as strace's print_cmsg_type_data. */
static void put_cmsg_type_data(GString *out, int level, int type, const uint8_t *data,
                               size_t length)
{
    static const struct strace_flag socket_types[] = {
        {1, "SCM_RIGHTS"},
        {2, "SCM_CREDENTIALS"},
        {3, "SCM_SECURITY"},
        {41, "SO_WIFI_STATUS"},
        {61, "SO_TXTIME"},
        {29, "SO_TIMESTAMP_OLD"},
        {35, "SO_TIMESTAMPNS_OLD"},
        {37, "SO_TIMESTAMPING_OLD"},
        {63, "SO_TIMESTAMP_NEW"},
        {64, "SO_TIMESTAMPNS_NEW"},
        {65, "SO_TIMESTAMPING_NEW"},
        {0x36, "SCM_TIMESTAMPING_OPT_STATS"},
        {0x3a, "SCM_TIMESTAMPING_PKTINFO"},
    };
    static const struct strace_flag ip_types[] = {
        {IP_TOS, "IP_TOS"},         {IP_TTL, "IP_TTL"},         {IP_RECVOPTS, "IP_RECVOPTS"},
        {IP_RETOPTS, "IP_RETOPTS"}, {IP_PKTINFO, "IP_PKTINFO"}, {IP_RECVERR, "IP_RECVERR"},
        {20, "IP_ORIGDSTADDR"},     {23, "IP_CHECKSUM"},        {3, "SCM_SECURITY"},
    };
    if (level == SOL_SOCKET) {
        strace_put_value(out, (uint32_t)type, NAMES(socket_types), "SCM_???");
        put_socket_cmsg(out, type, data, length);
    } else if (level == SOL_IP) {
        strace_put_value(out, (uint32_t)type, NAMES(ip_types), "IP_???");
        put_ip_cmsg(out, type, data, length);
    } else {
        g_string_append_printf(out, type ? "%#x" : "0", (uint32_t)type);
    }
}

/* The most of msg_control strace reads: net.core.optmem_max rounded up to
 * 8 (it runs on this host), else its own default. */
static size_t control_limit(void)
{
    static size_t limit;
    size_t known = __atomic_load_n(&limit, __ATOMIC_RELAXED);
    if (known)
        return known;
    g_autofree char *text = NULL;
    long value = 0;
    if (g_file_get_contents("/proc/sys/net/core/optmem_max", &text, NULL, NULL))
        value = strtol(text, NULL, 10);
    known = value > 0 ? ((size_t)value + 7) & ~(size_t)7 : 8 * (2 * 1024 + 512);
    __atomic_store_n(&limit, known, __ATOMIC_RELAXED);
    return known;
}

/* msg_control: [{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, ...}],
 * walked as strace's decode_msg_control: a message whose length runs past
 * the buffer ends it, bytes left over show as "..." and their address. */
static void put_control(struct linux_process *process, GString *out, uint64_t address,
                        uint64_t length)
{
    const size_t header_size = sizeof(struct cmsghdr);
    size_t size = length < control_limit() ? (size_t)length : control_limit();
    if (size < header_size) {
        strace_put_pointer(out, address);
        return;
    }
    g_autofree uint8_t *control = g_malloc(size);
    if (linux_copy_in(process, address, control, size) != 0) {
        strace_put_pointer(out, address);
        return;
    }
    g_string_append_c(out, '[');
    size_t offset = 0, left = size;
    while (left >= header_size) {
        struct cmsghdr header;
        memcpy(&header, control + offset, sizeof(header));
        g_string_append_printf(out,
                               "%s{cmsg_len=%" G_GUINT64_FORMAT ", cmsg_level=", offset ? ", " : "",
                               (uint64_t)header.cmsg_len);
        put_level_as(out, (uint32_t)header.cmsg_level, "SOL_???");
        g_string_append(out, ", cmsg_type=");
        size_t shown = header.cmsg_len > left ? left : header.cmsg_len;
        put_cmsg_type_data(out, header.cmsg_level, header.cmsg_type, control + offset + header_size,
                           shown > header_size ? shown - header_size : 0);
        g_string_append_c(out, '}');
        if (shown < header_size) {
            left -= header_size;
            break;
        }
        /* A length near 2^64 once wrapped this step to 0 and the line grew
         * until memory ran out: the aligned length is compared, not added. */
        if (header.cmsg_len >= left || ((header.cmsg_len + 7) & ~(uint64_t)7) >= left) {
            left = 0;
            break;
        }
        size_t step = (header.cmsg_len + 7) & ~(size_t)7;
        offset += step;
        left -= step;
    }
    if (left)
        g_string_append_printf(out, ", ... /* %#" G_GINT64_MODIFIER "x */",
                               address + (size - left));
    else if (size < length)
        g_string_append(out, ", ...");
    g_string_append_c(out, ']');
}

/* A struct msghdr read from the guest: sendmsg's (output false) as it
 * went, recvmsg's as filled, its data the first data_size bytes (the
 * result's). before: the msg_namelen the caller gave, NULL when unknown. */
static void put_msghdr_fields(struct linux_process *process, GString *out, uint64_t fd,
                              const struct guest_msghdr *header, const char *before, long data_size,
                              bool output)
{
    g_autofree char *after = g_strdup_printf("%u", header->namelen);
    /* The address as far as both the caller's room and the kernel's
     * length reach. */
    uint64_t namelen = header->namelen;
    if (before && strtoull(before, NULL, 10) < namelen)
        namelen = strtoull(before, NULL, 10);
    g_string_append(out, "{msg_name=");
    put_sockaddr(process, out, header->name, namelen);
    g_string_append(out, ", msg_namelen=");
    if (before && strcmp(before, after) != 0)
        g_string_append_printf(out, "%s => ", before);
    g_string_append_printf(out, "%s, msg_iov=", after);
    /* As strace: the data is netlink messages when msg_name is a netlink
     * address (of the socket's protocol), strings otherwise. */
    uint16_t family = 0;
    int protocol = -1;
    if (header->name && namelen >= sizeof(family) &&
        linux_copy_in(process, header->name, &family, sizeof(family)) == 0 &&
        family == AF_NETLINK) {
        protocol = netlink_protocol(process, fd);
        strace_put_iovec_with(process, out, header->iov, header->iovlen, data_size, output,
                              put_netlink_data, &protocol);
    } else {
        strace_put_iovec(process, out, header->iov, header->iovlen, data_size, output);
    }
    g_string_append_printf(out, ", msg_iovlen=%" G_GUINT64_FORMAT, header->iovlen);
    if (header->controllen) {
        g_string_append(out, ", msg_control=");
        put_control(process, out, header->control, header->controllen);
    }
    g_string_append_printf(
        out, ", msg_controllen=%" G_GUINT64_FORMAT ", msg_flags=", header->controllen);
    put_message_flags(out, (uint32_t)header->flags);
    g_string_append_c(out, '}');
}

/* struct msghdr: sendmsg's (output false) as it went, recvmsg's as filled. */
static void put_msghdr(struct linux_thread *thread, GString *out, uint64_t fd, uint64_t address,
                       int index, long result, bool output)
{
    struct guest_msghdr header;
    bool failed = result < 0 && result > -4096;
    if (!strace_copy_in(thread->process, out, address, &header, sizeof(header)))
        return;
    const char *before = output ? entry_text(thread, index) : NULL;
    if (output && failed) {
        /* strace shows only what the call would have been told. */
        if (before)
            g_string_append_printf(out, "{msg_namelen=%s}", before);
        else
            g_string_append_printf(out, "{msg_namelen=%u}", header.namelen);
        return;
    }
    put_msghdr_fields(thread->process, out, fd, &header, before, result, output);
}

/* struct mmsghdr, x86-64's layout: a msghdr, then the bytes it moved. */
struct guest_mmsghdr {
    struct guest_msghdr header;
    uint32_t length;
    uint32_t pad;
};
_Static_assert(sizeof(struct guest_mmsghdr) == 64, "x86-64 mmsghdr");

/* strace keeps at most this many messages' msg_namelen from a recvmmsg's
 * entry (IOV_MAX) and shows no messages beyond them. */
#define STRACE_MMSG_LIMIT 1024

/* recvmmsg's msg_namelen of each message as it went in, "16,28,...". */
static char *read_namelens(struct linux_process *process, uint64_t address, uint64_t count)
{
    GString *text = g_string_new(NULL);
    for (uint64_t i = 0; i < count && i < STRACE_MMSG_LIMIT; i++) {
        struct guest_mmsghdr message;
        if (linux_copy_in(process, address + i * sizeof(message), &message, sizeof(message)) != 0)
            break;
        g_string_append_printf(text, "%s%u", i ? "," : "", message.header.namelen);
    }
    return g_string_free(text, FALSE);
}

static size_t count_char(const char *text, char c)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == c;
    return n;
}

/* The index-th of the namelens read_namelens kept, NULL past them. */
static char *nth_namelen(const char *namelens, uint64_t index)
{
    if (!namelens || !*namelens)
        return NULL;
    g_auto(GStrv) parts = g_strsplit(namelens, ",", -1);
    return index < g_strv_length(parts) ? g_strdup(parts[index]) : NULL;
}

/*
 * The array of sendmmsg (output false: every message of vlen, the bytes
 * sent as msg_len for the first result of them) or recvmmsg (output: the
 * result's messages, each with the bytes it received), as strace's
 * print_array does: the first 32 members then "...", an unreadable first
 * member as the array's address, a later one as "..." and its address.
 */
static void put_mmsg_array(struct linux_thread *thread, GString *out, uint64_t fd, uint64_t address,
                           uint64_t count, uint64_t with_length, bool output)
{
    struct linux_process *process = thread->process;
    if (address == 0) {
        g_string_append(out, "NULL");
        return;
    }
    if (count == 0) {
        g_string_append(out, "[]");
        return;
    }
    if (count > UINT64_MAX / sizeof(struct guest_mmsghdr) ||
        address + count * sizeof(struct guest_mmsghdr) < address) {
        strace_put_pointer(out, address);
        return;
    }
    /* recvmmsg shows no more messages than its entry kept the namelen of. */
    const char *namelens = output ? entry_text(thread, 1) : NULL;
    uint64_t kept = STRACE_MMSG_LIMIT;
    if (namelens)
        kept = *namelens ? 1 + (uint64_t)count_char(namelens, ',') : 0;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t at = address + i * sizeof(struct guest_mmsghdr);
        struct guest_mmsghdr message;
        if (i)
            g_string_append(out, ", ");
        if (linux_copy_in(process, at, &message, sizeof(message)) != 0) {
            if (i == 0) {
                strace_put_pointer(out, at);
                return;
            }
            g_string_append_printf(out, "... /* %#" G_GINT64_MODIFIER "x */]", at);
            return;
        }
        if (i == 0)
            g_string_append_c(out, '[');
        /* strace's -s limit applies to arrays too. */
        if (i >= STRACE_STRING_LIMIT || i >= kept) {
            g_string_append(out, "...");
            break;
        }
        g_autofree char *before = nth_namelen(namelens, i);
        g_string_append(out, "{msg_hdr=");
        put_msghdr_fields(process, out, fd, &message.header, before,
                          output ? (long)message.length : -1, output);
        if (i < with_length)
            g_string_append_printf(out, ", msg_len=%u", message.length);
        g_string_append_c(out, '}');
    }
    g_string_append_c(out, ']');
}

/* ---- polling ---------------------------------------------------------------- */

/* count elements of size bytes at address, copied to a new buffer; NULL
 * (having printed what strace does) when there are too many to show or
 * they cannot be read. */
static void *copy_array(struct linux_process *process, GString *out, uint64_t address,
                        uint64_t count, size_t size)
{
    if (count > STRACE_ARRAY_LIMIT) {
        strace_put_pointer(out, address);
        return NULL;
    }
    void *array = g_malloc(count ? count * size : 1);
    if (!strace_copy_in(process, out, address, array, count * size)) {
        g_free(array);
        return NULL;
    }
    return array;
}

static void put_poll_events(GString *out, uint64_t events)
{
    static const struct strace_flag names[] = {
        FLAG(POLLIN),     FLAG(POLLPRI),    FLAG(POLLOUT),    FLAG(POLLERR),
        FLAG(POLLHUP),    FLAG(POLLNVAL),   FLAG(POLLRDNORM), FLAG(POLLRDBAND),
        FLAG(POLLWRNORM), FLAG(POLLWRBAND), FLAG(POLLMSG),    {0x1000, "POLLREMOVE"},
        FLAG(POLLRDHUP),
    };
    strace_put_flags(out, (uint16_t)events, names, G_N_ELEMENTS(names), "0");
}

/* pollfds: as they went in ([{fd=3, events=POLLIN}]), or the ones that
 * came back with revents ([{fd=3, revents=POLLIN}]). */
static void put_pollfds(struct linux_process *process, GString *out, uint64_t address,
                        uint64_t count, bool returned)
{
    struct pollfd *fds = copy_array(process, out, address, count, sizeof(*fds));
    if (!fds)
        return;
    g_string_append_c(out, '[');
    bool first = true;
    for (uint64_t i = 0; i < count; i++) {
        if (returned && !fds[i].revents)
            continue;
        g_string_append_printf(out, "%s{fd=%d", first ? "" : ", ", fds[i].fd);
        first = false;
        if (returned) {
            g_string_append(out, ", revents=");
            put_poll_events(out, (uint16_t)fds[i].revents);
        } else if (fds[i].fd >= 0) {
            g_string_append(out, ", events=");
            put_poll_events(out, (uint16_t)fds[i].events);
        }
        g_string_append_c(out, '}');
    }
    g_string_append_c(out, ']');
    g_free(fds);
}

/* The bits below nfds of the fd_set at address: [3 4]. */
static void put_fd_set(struct linux_process *process, GString *out, uint64_t address, int nfds)
{
    /* No more than Linux's fd limit can hold. */
    int bits = nfds < 0 ? 0 : nfds > 1048576 ? 1048576 : nfds;
    size_t size = ((size_t)bits + 63) / 64 * 8;
    g_autofree uint64_t *set = g_malloc0(size ? size : 8);
    if (!strace_copy_in(process, out, address, set, size))
        return;
    g_string_append_c(out, '[');
    bool first = true;
    for (int fd = 0; fd < bits; fd++) {
        if (!(set[fd / 64] >> (fd % 64) & 1))
            continue;
        g_string_append_printf(out, "%s%d", first ? "" : " ", fd);
        first = false;
    }
    g_string_append_c(out, ']');
}

static void put_timeval(struct linux_process *process, GString *out, uint64_t address)
{
    int64_t value[2];
    if (strace_copy_in(process, out, address, value, sizeof(value)))
        g_string_append_printf(out, "{tv_sec=%" G_GINT64_FORMAT ", tv_usec=%" G_GINT64_FORMAT "}",
                               value[0], value[1]);
}

/* pselect6's last argument: a sigset's address and its size. */
static void put_pselect_mask(struct linux_process *process, GString *out, uint64_t address)
{
    uint64_t mask[2];
    if (!strace_copy_in(process, out, address, mask, sizeof(mask)))
        return;
    g_string_append(out, "{sigmask=");
    strace_put_sigset(process, out, mask[0]);
    g_string_append_printf(out, ", sigsetsize=%" G_GUINT64_FORMAT "}", mask[1]);
}

static void put_epoll_events(GString *out, uint64_t events)
{
    static const struct strace_flag names[] = {
        FLAG(EPOLLIN),        FLAG(EPOLLPRI),      FLAG(EPOLLOUT),     FLAG(EPOLLERR),
        FLAG(EPOLLHUP),       {0x20, "EPOLLNVAL"}, FLAG(EPOLLRDNORM),  FLAG(EPOLLRDBAND),
        FLAG(EPOLLWRNORM),    FLAG(EPOLLWRBAND),   FLAG(EPOLLMSG),     FLAG(EPOLLRDHUP),
        FLAG(EPOLLEXCLUSIVE), FLAG(EPOLLWAKEUP),   FLAG(EPOLLONESHOT), {1U << 31, "EPOLLET"},
    };
    strace_put_flags(out, (uint32_t)events, names, G_N_ELEMENTS(names), "0");
}

/* count packed struct epoll_events (12 bytes each on x86-64) at address. */
static void put_epoll_array(struct linux_process *process, GString *out, uint64_t address,
                            uint64_t count, bool array)
{
    uint8_t *events = copy_array(process, out, address, count, 12);
    if (!events)
        return;
    if (array)
        g_string_append_c(out, '[');
    for (uint64_t i = 0; i < count; i++) {
        uint32_t flags;
        uint64_t data;
        memcpy(&flags, events + i * 12, sizeof(flags));
        memcpy(&data, events + i * 12 + 4, sizeof(data));
        g_string_append_printf(out, "%s{events=", i ? ", " : "");
        put_epoll_events(out, flags);
        g_string_append_printf(out, ", data={u32=%u, u64=%" G_GUINT64_FORMAT "}}", (uint32_t)data,
                               data);
    }
    if (array)
        g_string_append_c(out, ']');
    g_free(events);
}

/* ---- descriptors ------------------------------------------------------------ */

/* pipe's and socketpair's two new fds. */
static void put_fd_pair(struct linux_process *process, GString *out, uint64_t address, bool failed)
{
    int32_t fds[2];
    if (failed || linux_copy_in(process, address, fds, sizeof(fds)) != 0)
        strace_put_pointer(out, address);
    else
        g_string_append_printf(out, "[%d, %d]", fds[0], fds[1]);
}

static char *read_offset(struct linux_process *process, uint64_t address)
{
    int64_t offset;
    if (address == 0 || linux_copy_in(process, address, &offset, sizeof(offset)) != 0)
        return NULL;
    return g_strdup_printf("[%" G_GINT64_FORMAT "]", offset);
}

/* sendfile's offset: [2] => [10] after the call moved it. */
static void put_offset(struct linux_thread *thread, GString *out, uint64_t address, int index,
                       bool failed)
{
    g_autofree char *after = read_offset(thread->process, address);
    const char *before = entry_text(thread, index);
    if (address == 0)
        g_string_append(out, "NULL");
    else if (!before && !after)
        strace_put_pointer(out, address);
    else if (failed || !before || !after)
        g_string_append(out, before ? before : after);
    else
        g_string_append_printf(out, "%s => %s", before, after);
}

/* The flags of the calls that make descriptors, each with their names. */
static void put_fd_flags(GString *out, char letter, uint64_t flags)
{
    static const struct strace_flag epoll[] = {FLAG(EPOLL_CLOEXEC)};
    static const struct strace_flag accept[] = {FLAG(SOCK_CLOEXEC), FLAG(SOCK_NONBLOCK)};
    static const struct strace_flag pipe[] = {FLAG(O_NONBLOCK), FLAG(O_DIRECT), FLAG(O_CLOEXEC)};
    static const struct strace_flag eventfd[] = {FLAG(EFD_SEMAPHORE), FLAG(EFD_CLOEXEC),
                                                 FLAG(EFD_NONBLOCK)};
    /* strace names timerfd_create's bit 1 as TFD_TIMER_ABSTIME too. */
    static const struct strace_flag timerfd[] = {FLAG(TFD_TIMER_ABSTIME), FLAG(TFD_CLOEXEC),
                                                 FLAG(TFD_NONBLOCK)};
    static const struct strace_flag settime[] = {FLAG(TFD_TIMER_ABSTIME),
                                                 FLAG(TFD_TIMER_CANCEL_ON_SET)};
    static const struct {
        char letter;
        const struct strace_flag *names;
        size_t count;
    } kinds[] = {
        {'E', NAMES(epoll)},   {'N', NAMES(accept)},  {'O', NAMES(pipe)},
        {'n', NAMES(eventfd)}, {'w', NAMES(timerfd)}, {'W', NAMES(settime)},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        if (kinds[i].letter == letter)
            strace_put_flags(out, (uint32_t)flags, kinds[i].names, kinds[i].count, "0");
    }
}

/* ---- the calls -------------------------------------------------------------- */

/* The text of argument index as it is before the call, for the letters
 * whose value the call rewrites; NULL for the others. */
static char *entry_of(struct linux_process *process, char letter, const uint64_t *args, int index)
{
    uint64_t value = args[index];
    GString *text;
    switch (letter) {
    case 'L':
        return read_length(process, value);
    case 'R':
        return value ? read_length(process, value + offsetof(struct guest_msghdr, namelen)) : NULL;
    case 'U':
        return read_offset(process, value);
    case 'Z':
        return value ? read_namelens(process, value, (uint32_t)args[index + 1]) : NULL;
    case 'S':
        text = g_string_new(NULL);
        put_fd_set(process, text, value, (int32_t)args[0]);
        return g_string_free(text, FALSE);
    case 't':
        text = g_string_new(NULL);
        strace_put_timespec(process, text, value);
        return g_string_free(text, FALSE);
    case 'y':
        text = g_string_new(NULL);
        put_timeval(process, text, value);
        return g_string_free(text, FALSE);
    default:
        return NULL;
    }
}

void strace_net_entry(struct linux_thread *thread, const struct linux_syscall *call)
{
    const struct strace_format *format = strace_net_format_of(call->number);
    if (!format)
        return;
    for (int i = 0; format->args[i] && i < 6; i++) {
        g_free(thread->strace_entry[i]);
        thread->strace_entry[i] = entry_of(thread->process, format->args[i], call->args, i);
    }
}

/* An argument read at the entry: its text then, else as it is now. */
static void put_entry_or_now(struct linux_thread *thread, GString *out, char letter,
                             const uint64_t *args, int index)
{
    const char *before = entry_text(thread, index);
    if (before) {
        g_string_append(out, before);
        return;
    }
    char *now = entry_of(thread->process, letter, args, index);
    g_string_append(out, now);
    g_free(now);
}

void strace_net_argument(struct linux_thread *thread, GString *out, const char *format,
                         const uint64_t *args, int index, long result)
{
    struct linux_process *process = thread->process;
    uint64_t value = args[index];
    bool failed = result < 0 && result > -4096;
    char letter = format[index];
    switch (letter) {
    case 'F':
        strace_put_family(out, (uint32_t)value);
        break;
    case 'b':
        put_socket_data(process, out, args, args[index + 1]);
        break;
    case 'B':
        if (failed)
            strace_put_pointer(out, value);
        else
            put_socket_data(process, out, args, (uint64_t)result);
        break;
    case 'T':
        put_socket_type(out, (uint32_t)value);
        break;
    case 'P':
        put_protocol(out, (uint32_t)args[0], value);
        break;
    case 'a':
        put_sockaddr(process, out, value, (uint32_t)args[index + 1]);
        break;
    case 'A':
        put_sockaddr_out(thread, out, args, index, failed);
        break;
    case 'L':
        put_socklen(thread, out, value, index, failed);
        break;
    case 'h': {
        static const char *const hows[] = {"SHUT_RD", "SHUT_WR", "SHUT_RDWR"};
        put_indexed(out, (uint32_t)value, NAMES(hows), "SHUT_???");
        break;
    }
    case 'm':
        put_message_flags(out, value);
        break;
    case 'M':
    case 'R':
        put_msghdr(thread, out, args[0], value, index, result, letter == 'R');
        break;
    case 'X':
        /* A failed sendmmsg still shows what it was asked to send. */
        put_mmsg_array(thread, out, args[0], value, (uint32_t)args[index + 1],
                       failed ? 0 : (uint64_t)result, false);
        break;
    case 'Z':
        if (failed)
            strace_put_pointer(out, value);
        else
            put_mmsg_array(thread, out, args[0], value, (uint64_t)result, (uint64_t)result, true);
        break;
    case 's':
        put_level(out, value);
        break;
    case 'o':
        put_option_name(out, args[1], value);
        break;
    case 'v':
        put_option_in(process, out, args);
        break;
    case 'V':
        put_option_out(thread, out, args, failed);
        break;
    case 'q':
        put_pollfds(process, out, value, args[index + 1], false);
        break;
    case 'S':
    case 't':
    case 'y':
        put_entry_or_now(thread, out, letter, args, index);
        break;
    case 'Y':
        put_pselect_mask(process, out, value);
        break;
    case 'C': {
        static const char *const operations[] = {NULL, "EPOLL_CTL_ADD", "EPOLL_CTL_DEL",
                                                 "EPOLL_CTL_MOD"};
        put_indexed(out, (uint32_t)value, NAMES(operations), "EPOLL_CTL_???");
        break;
    }
    case 'j':
        put_epoll_array(process, out, value, 1, false);
        break;
    case 'J':
        if (failed)
            strace_put_pointer(out, value);
        else
            put_epoll_array(process, out, value, result > 0 ? (uint64_t)result : 0, true);
        break;
    case 'D':
        put_fd_pair(process, out, value, failed);
        break;
    case 'U':
        put_offset(thread, out, value, index, failed);
        break;
    case 'E':
    case 'N':
    case 'O':
    case 'n':
    case 'w':
    case 'W':
        put_fd_flags(out, letter, value);
        break;
    case 'i':
        strace_put_itimerspec(process, out, value);
        break;
    case 'I':
        if (failed)
            strace_put_pointer(out, value);
        else
            strace_put_itimerspec(process, out, value);
        break;
    default:
        strace_put_argument(process, out, format, args, index, result);
    }
}

/* select's ready sets, "in [4], out [1]", with ", " before each. */
static void put_ready_sets(struct linux_process *process, GString *out, const uint64_t *args)
{
    static const char *const names[] = {"in", "out", "except"};
    for (int i = 0; i < 3; i++) {
        if (!args[i + 1])
            continue;
        GString *set = g_string_new(NULL);
        put_fd_set(process, set, args[i + 1], (int32_t)args[0]);
        if (strcmp(set->str, "[]") != 0)
            g_string_append_printf(out, "%s%s %s", out->len ? ", " : "", names[i], set->str);
        g_string_free(set, TRUE);
    }
}

void strace_net_result_note(struct linux_thread *thread, GString *out, uint64_t number,
                            const uint64_t *args, long result)
{
    struct linux_process *process = thread->process;
    bool poll = number == SYS_poll || number == SYS_ppoll;
    bool select = number == SYS_select || number == SYS_pselect6;
    bool mmsg = number == SYS_recvmmsg;
    if (!(poll || select || mmsg) || result < 0)
        return;
    if (result == 0) {
        g_string_append(out, " (Timeout)");
        return;
    }
    if (mmsg) {
        /* recvmmsg's timeout as the kernel left it. */
        if (args[4]) {
            g_string_append(out, " (left ");
            strace_put_timespec(process, out, args[4]);
            g_string_append_c(out, ')');
        }
        return;
    }
    GString *note = g_string_new(NULL);
    if (poll)
        put_pollfds(process, note, args[0], args[1], true);
    else
        put_ready_sets(process, note, args);
    /* The time the kernel left of the timeout, written back. */
    uint64_t timeout = number == SYS_ppoll ? args[2] : select ? args[4] : 0;
    if (timeout) {
        g_string_append(note, ", left ");
        if (number == SYS_select)
            put_timeval(process, note, timeout);
        else
            strace_put_timespec(process, note, timeout);
    }
    g_string_append_printf(out, " (%s)", note->str);
    g_string_free(note, TRUE);
}
