/*
 * linux/strace_netlink.c — netlink messages in `--strace`, as strace 6.1
 * prints the data of a netlink socket's sendto, recvfrom, sendmsg and
 * recvmsg: each message's header with its type and flags named, then its
 * payload: an error with the request it answers, NLMSG_DONE's int,
 * NETLINK_ROUTE's address and link messages with their attributes, and the
 * bytes in hex for what is not decoded.
 *
 * A pure function of bytes the caller copied out of the guest: every
 * length in them is the guest's, so each one is checked against what is
 * left before it is used, and every walk advances or stops.
 */
#include "linux/strace.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define NAMES(table) (table), G_N_ELEMENTS(table)

static void put_hex(GString *out, const uint8_t *data, size_t length)
{
    bool cut = length > STRACE_STRING_LIMIT;
    strace_put_string_bytes(out, data, cut ? STRACE_STRING_LIMIT : length, cut, true);
}

/* ---- attributes ------------------------------------------------------------ */

/* How an attribute's data prints; false when strace would show it in hex
 * (no decoder, or a length the decoder refuses). */
typedef bool (*attribute_printer)(GString *out, const uint8_t *data, size_t length, int family);

static bool put_u32(GString *out, const uint8_t *data, size_t length, int family)
{
    (void)family;
    uint32_t value;
    if (length != sizeof(value))
        return false;
    memcpy(&value, data, sizeof(value));
    g_string_append_printf(out, "%u", value);
    return true;
}

static bool put_s32(GString *out, const uint8_t *data, size_t length, int family)
{
    (void)family;
    int32_t value;
    if (length != sizeof(value))
        return false;
    memcpy(&value, data, sizeof(value));
    g_string_append_printf(out, "%d", value);
    return true;
}

static bool put_u8(GString *out, const uint8_t *data, size_t length, int family)
{
    (void)family;
    if (length != 1)
        return false;
    g_string_append_printf(out, "%u", data[0]);
    return true;
}

/* A string attribute, up to its NUL. */
static bool put_str(GString *out, const uint8_t *data, size_t length, int family)
{
    (void)family;
    size_t text = strnlen((const char *)data, length);
    bool cut = text > STRACE_STRING_LIMIT;
    strace_put_string_bytes(out, data, cut ? STRACE_STRING_LIMIT : text, cut, false);
    return true;
}

/* An address of the message's family: inet_addr("127.0.0.1"). */
static bool put_inet(GString *out, const uint8_t *data, size_t length, int family)
{
    char text[INET6_ADDRSTRLEN];
    if (family == AF_INET && length >= 4) {
        g_string_append_printf(out, "inet_addr(\"%s\")",
                               inet_ntop(AF_INET, data, text, sizeof(text)));
        return true;
    }
    if (family == AF_INET6 && length >= 16) {
        g_string_append_printf(out, "inet_pton(AF_INET6, \"%s\")",
                               inet_ntop(AF_INET6, data, text, sizeof(text)));
        return true;
    }
    return false;
}

static const struct strace_flag address_flags[] = {
    {IFA_F_SECONDARY, "IFA_F_SECONDARY"},           {IFA_F_NODAD, "IFA_F_NODAD"},
    {IFA_F_OPTIMISTIC, "IFA_F_OPTIMISTIC"},         {IFA_F_DADFAILED, "IFA_F_DADFAILED"},
    {IFA_F_HOMEADDRESS, "IFA_F_HOMEADDRESS"},       {IFA_F_DEPRECATED, "IFA_F_DEPRECATED"},
    {IFA_F_TENTATIVE, "IFA_F_TENTATIVE"},           {IFA_F_PERMANENT, "IFA_F_PERMANENT"},
    {IFA_F_MANAGETEMPADDR, "IFA_F_MANAGETEMPADDR"}, {IFA_F_NOPREFIXROUTE, "IFA_F_NOPREFIXROUTE"},
    {IFA_F_MCAUTOJOIN, "IFA_F_MCAUTOJOIN"},         {IFA_F_STABLE_PRIVACY, "IFA_F_STABLE_PRIVACY"},
};

static bool put_address_flags(GString *out, const uint8_t *data, size_t length, int family)
{
    (void)family;
    uint32_t value;
    if (length < sizeof(value))
        return false;
    memcpy(&value, data, sizeof(value));
    strace_put_flag_set(out, value, NAMES(address_flags), "IFA_F_???");
    return true;
}

static bool put_cacheinfo(GString *out, const uint8_t *data, size_t length, int family)
{
    (void)family;
    uint32_t info[4];
    if (length < sizeof(info))
        return false;
    memcpy(info, data, sizeof(info));
    g_string_append_printf(out, "{ifa_prefered=%u, ifa_valid=%u, cstamp=%u, tstamp=%u}", info[0],
                           info[1], info[2], info[3]);
    return true;
}

/* One kind of attribute: its name and how its data prints. */
struct attribute_kind {
    const char *name;
    attribute_printer print;
};

static const struct attribute_kind address_attributes[] = {
    {"IFA_UNSPEC", NULL},
    {"IFA_ADDRESS", put_inet},
    {"IFA_LOCAL", put_inet},
    {"IFA_LABEL", put_str},
    {"IFA_BROADCAST", put_inet},
    {"IFA_ANYCAST", put_inet},
    {"IFA_CACHEINFO", put_cacheinfo},
    {"IFA_MULTICAST", put_inet},
    {"IFA_FLAGS", put_address_flags},
    {"IFA_RT_PRIORITY", put_u32},
    {"IFA_TARGET_NETNSID", put_s32},
    {"IFA_PROTO", NULL},
};

/* Link attributes strace decodes simply; the structured ones (statistics,
 * link info, per-family data...) print in hex here. */
static const struct attribute_kind link_attributes[] = {
    {"IFLA_UNSPEC", NULL},
    {"IFLA_ADDRESS", NULL},
    {"IFLA_BROADCAST", NULL},
    {"IFLA_IFNAME", put_str},
    {"IFLA_MTU", put_u32},
    {"IFLA_LINK", put_u32},
    {"IFLA_QDISC", put_str},
    {"IFLA_STATS", NULL},
    {"IFLA_COST", NULL},
    {"IFLA_PRIORITY", NULL},
    {"IFLA_MASTER", put_u32},
    {"IFLA_WIRELESS", NULL},
    {"IFLA_PROTINFO", NULL},
    {"IFLA_TXQLEN", put_u32},
    {"IFLA_MAP", NULL},
    {"IFLA_WEIGHT", put_u32},
    {"IFLA_OPERSTATE", put_u8},
    {"IFLA_LINKMODE", put_u8},
    {"IFLA_LINKINFO", NULL},
    {"IFLA_NET_NS_PID", put_u32},
    {"IFLA_IFALIAS", put_str},
    {"IFLA_NUM_VF", put_u32},
    {"IFLA_VFINFO_LIST", NULL},
    {"IFLA_STATS64", NULL},
    {"IFLA_VF_PORTS", NULL},
    {"IFLA_PORT_SELF", NULL},
    {"IFLA_AF_SPEC", NULL},
    {"IFLA_GROUP", put_u32},
    {"IFLA_NET_NS_FD", put_s32},
    {"IFLA_EXT_MASK", NULL},
    {"IFLA_PROMISCUITY", put_u32},
    {"IFLA_NUM_TX_QUEUES", put_u32},
    {"IFLA_NUM_RX_QUEUES", put_u32},
    {"IFLA_CARRIER", put_u8},
    {"IFLA_PHYS_PORT_ID", NULL},
    {"IFLA_CARRIER_CHANGES", put_u32},
    {"IFLA_PHYS_SWITCH_ID", NULL},
    {"IFLA_LINK_NETNSID", put_s32},
    {"IFLA_PHYS_PORT_NAME", put_str},
    {"IFLA_PROTO_DOWN", put_u8},
    {"IFLA_GSO_MAX_SEGS", put_u32},
    {"IFLA_GSO_MAX_SIZE", put_u32},
    {"IFLA_PAD", NULL},
    {"IFLA_XDP", NULL},
    {"IFLA_EVENT", NULL},
    {"IFLA_NEW_NETNSID", put_s32},
    {"IFLA_IF_NETNSID", put_s32},
    {"IFLA_CARRIER_UP_COUNT", put_u32},
    {"IFLA_CARRIER_DOWN_COUNT", put_u32},
    {"IFLA_NEW_IFINDEX", NULL},
    {"IFLA_MIN_MTU", put_u32},
    {"IFLA_MAX_MTU", put_u32},
    {"IFLA_PROP_LIST", NULL},
    {"IFLA_ALT_IFNAME", put_str},
    {"IFLA_PERM_ADDRESS", NULL},
    {"IFLA_PROTO_DOWN_REASON", NULL},
    {"IFLA_PARENT_DEV_NAME", put_str},
    {"IFLA_PARENT_DEV_BUS_NAME", put_str},
    {"IFLA_GRO_MAX_SIZE", put_u32},
    {"IFLA_TSO_MAX_SIZE", put_u32},
    {"IFLA_TSO_MAX_SEGS", put_u32},
    {"IFLA_ALLMULTI", put_u32},
};

struct attribute_table {
    const struct attribute_kind *kinds;
    size_t count;
    const char *unknown;
};

/* One attribute: [{nla_len=8, nla_type=IFA_ADDRESS}, inet_addr("127.0.0.1")],
 * or its header alone when it has no data within what is left. */
static void put_attribute(GString *out, const uint8_t *data, size_t left,
                          const struct attribute_table *table, int family)
{
    struct nlattr header;
    memcpy(&header, data, sizeof(header));
    size_t length = header.nla_len < left ? header.nla_len : left;
    bool with_data = length > NLA_HDRLEN;
    if (with_data)
        g_string_append_c(out, '[');
    g_string_append_printf(out, "{nla_len=%u, nla_type=", header.nla_len);
    if (header.nla_type & NLA_F_NESTED)
        g_string_append(out, "NLA_F_NESTED|");
    if (header.nla_type & NLA_F_NET_BYTEORDER)
        g_string_append(out, "NLA_F_NET_BYTEORDER|");
    uint16_t type = header.nla_type & NLA_TYPE_MASK;
    const struct attribute_kind *kind = type < table->count ? &table->kinds[type] : NULL;
    if (kind)
        g_string_append(out, kind->name);
    else
        strace_put_value(out, type, NULL, 0, table->unknown);
    g_string_append_c(out, '}');
    if (!with_data)
        return;
    g_string_append(out, ", ");
    const uint8_t *payload = data + NLA_HDRLEN;
    size_t payload_length = length - NLA_HDRLEN;
    if (!kind || !kind->print || !kind->print(out, payload, payload_length, family))
        put_hex(out, payload, payload_length);
    g_string_append_c(out, ']');
}

/* Attributes one after another: one alone, several in [...], the walk
 * ending where a length does not advance it, at most strace's 32 shown. */
static void put_attributes(GString *out, const uint8_t *data, size_t left,
                           const struct attribute_table *table, int family)
{
    bool array = false;
    for (unsigned shown = 0;; shown++) {
        if (left < NLA_HDRLEN) {
            put_hex(out, data, left);
            break;
        }
        if (shown == STRACE_STRING_LIMIT) {
            g_string_append(out, "...");
            break;
        }
        struct nlattr header;
        memcpy(&header, data, sizeof(header));
        size_t aligned = NLA_ALIGN((size_t)header.nla_len);
        size_t next = header.nla_len >= NLA_HDRLEN && left > aligned ? left - aligned : 0;
        if (!array && next) {
            g_string_append_c(out, '[');
            array = true;
        }
        put_attribute(out, data, left, table, family);
        if (!next)
            break;
        g_string_append(out, ", ");
        data += aligned;
        left = next;
    }
    if (array)
        g_string_append_c(out, ']');
}

/* ---- route messages -------------------------------------------------------- */

static void put_scope(GString *out, uint8_t scope)
{
    static const struct strace_flag scopes[] = {
        {RT_SCOPE_UNIVERSE, "RT_SCOPE_UNIVERSE"}, {RT_SCOPE_SITE, "RT_SCOPE_SITE"},
        {RT_SCOPE_LINK, "RT_SCOPE_LINK"},         {RT_SCOPE_HOST, "RT_SCOPE_HOST"},
        {RT_SCOPE_NOWHERE, "RT_SCOPE_NOWHERE"},
    };
    strace_put_value(out, scope, NAMES(scopes), NULL);
}

/* struct ifaddrmsg, then its attributes. */
static void put_address_message(GString *out, const uint8_t *data, size_t length)
{
    static const struct attribute_table table = {NAMES(address_attributes), "IFA_???"};
    struct ifaddrmsg message;
    g_string_append(out, "{ifa_family=");
    strace_put_family(out, data[0]);
    if (length < sizeof(message)) {
        g_string_append(out, ", ...}");
        return;
    }
    memcpy(&message, data, sizeof(message));
    g_string_append_printf(out, ", ifa_prefixlen=%u, ifa_flags=", message.ifa_prefixlen);
    strace_put_flag_set(out, message.ifa_flags, NAMES(address_flags), "IFA_F_???");
    g_string_append(out, ", ifa_scope=");
    put_scope(out, message.ifa_scope);
    g_string_append(out, ", ifa_index=");
    strace_put_interface(out, message.ifa_index);
    g_string_append_c(out, '}');
    size_t offset = NLMSG_ALIGN(sizeof(message));
    if (length > offset) {
        g_string_append(out, ", ");
        put_attributes(out, data + offset, length - offset, &table, message.ifa_family);
    }
}

/* struct ifinfomsg, then its attributes. */
static void put_link_message(GString *out, const uint8_t *data, size_t length)
{
    static const struct attribute_table table = {NAMES(link_attributes), "IFLA_???"};
    /* The link types strace names (ARPHRD_*). */
    static const struct strace_flag hardware[] = {{0, "ARPHRD_NETROM"},
                                                  {1, "ARPHRD_ETHER"},
                                                  {2, "ARPHRD_EETHER"},
                                                  {3, "ARPHRD_AX25"},
                                                  {4, "ARPHRD_PRONET"},
                                                  {5, "ARPHRD_CHAOS"},
                                                  {6, "ARPHRD_IEEE802"},
                                                  {7, "ARPHRD_ARCNET"},
                                                  {8, "ARPHRD_APPLETLK"},
                                                  {15, "ARPHRD_DLCI"},
                                                  {19, "ARPHRD_ATM"},
                                                  {23, "ARPHRD_METRICOM"},
                                                  {24, "ARPHRD_IEEE1394"},
                                                  {27, "ARPHRD_EUI64"},
                                                  {32, "ARPHRD_INFINIBAND"},
                                                  {256, "ARPHRD_SLIP"},
                                                  {257, "ARPHRD_CSLIP"},
                                                  {258, "ARPHRD_SLIP6"},
                                                  {259, "ARPHRD_CSLIP6"},
                                                  {260, "ARPHRD_RSRVD"},
                                                  {264, "ARPHRD_ADAPT"},
                                                  {270, "ARPHRD_ROSE"},
                                                  {271, "ARPHRD_X25"},
                                                  {272, "ARPHRD_HWX25"},
                                                  {280, "ARPHRD_CAN"},
                                                  {290, "ARPHRD_MCTP"},
                                                  {512, "ARPHRD_PPP"},
                                                  {513, "ARPHRD_CISCO"},
                                                  {516, "ARPHRD_LAPB"},
                                                  {517, "ARPHRD_DDCMP"},
                                                  {518, "ARPHRD_RAWHDLC"},
                                                  {519, "ARPHRD_RAWIP"},
                                                  {768, "ARPHRD_TUNNEL"},
                                                  {769, "ARPHRD_TUNNEL6"},
                                                  {770, "ARPHRD_FRAD"},
                                                  {771, "ARPHRD_SKIP"},
                                                  {772, "ARPHRD_LOOPBACK"},
                                                  {773, "ARPHRD_LOCALTLK"},
                                                  {774, "ARPHRD_FDDI"},
                                                  {775, "ARPHRD_BIF"},
                                                  {776, "ARPHRD_SIT"},
                                                  {777, "ARPHRD_IPDDP"},
                                                  {778, "ARPHRD_IPGRE"},
                                                  {779, "ARPHRD_PIMREG"},
                                                  {780, "ARPHRD_HIPPI"},
                                                  {781, "ARPHRD_ASH"},
                                                  {782, "ARPHRD_ECONET"},
                                                  {783, "ARPHRD_IRDA"},
                                                  {784, "ARPHRD_FCPP"},
                                                  {785, "ARPHRD_FCAL"},
                                                  {786, "ARPHRD_FCPL"},
                                                  {787, "ARPHRD_FCFABRIC"},
                                                  {800, "ARPHRD_IEEE802_TR"},
                                                  {801, "ARPHRD_IEEE80211"},
                                                  {802, "ARPHRD_IEEE80211_PRISM"},
                                                  {803, "ARPHRD_IEEE80211_RADIOTAP"},
                                                  {804, "ARPHRD_IEEE802154"},
                                                  {805, "ARPHRD_IEEE802154_MONITOR"},
                                                  {820, "ARPHRD_PHONET"},
                                                  {821, "ARPHRD_PHONET_PIPE"},
                                                  {822, "ARPHRD_CAIF"},
                                                  {823, "ARPHRD_IP6GRE"},
                                                  {824, "ARPHRD_NETLINK"},
                                                  {825, "ARPHRD_6LOWPAN"},
                                                  {826, "ARPHRD_VSOCKMON"},
                                                  {0xfffe, "ARPHRD_NONE"},
                                                  {0xffff, "ARPHRD_VOID"}};
    static const struct strace_flag interface_flags[] = {
        {0x1, "IFF_UP"},           {0x2, "IFF_BROADCAST"},    {0x4, "IFF_DEBUG"},
        {0x8, "IFF_LOOPBACK"},     {0x10, "IFF_POINTOPOINT"}, {0x20, "IFF_NOTRAILERS"},
        {0x40, "IFF_RUNNING"},     {0x80, "IFF_NOARP"},       {0x100, "IFF_PROMISC"},
        {0x200, "IFF_ALLMULTI"},   {0x400, "IFF_MASTER"},     {0x800, "IFF_SLAVE"},
        {0x1000, "IFF_MULTICAST"}, {0x2000, "IFF_PORTSEL"},   {0x4000, "IFF_AUTOMEDIA"},
        {0x8000, "IFF_DYNAMIC"},   {0x10000, "IFF_LOWER_UP"}, {0x20000, "IFF_DORMANT"},
        {0x40000, "IFF_ECHO"},
    };
    struct ifinfomsg message;
    g_string_append(out, "{ifi_family=");
    strace_put_family(out, data[0]);
    if (length < sizeof(message)) {
        g_string_append(out, ", ...}");
        return;
    }
    memcpy(&message, data, sizeof(message));
    g_string_append(out, ", ifi_type=");
    strace_put_value(out, message.ifi_type, NAMES(hardware), "ARPHRD_???");
    g_string_append(out, ", ifi_index=");
    strace_put_interface(out, (uint32_t)message.ifi_index);
    g_string_append(out, ", ifi_flags=");
    strace_put_flag_set(out, message.ifi_flags, NAMES(interface_flags), "IFF_???");
    g_string_append_printf(out, message.ifi_change ? ", ifi_change=%#x}" : ", ifi_change=0}",
                           message.ifi_change);
    size_t offset = NLMSG_ALIGN(sizeof(message));
    if (length > offset) {
        g_string_append(out, ", ");
        put_attributes(out, data + offset, length - offset, &table, message.ifi_family);
    }
}

/* A route message's payload: those decoded above, else strace's generic
 * {family=AF_INET, data="\x..."}. */
static void put_route_payload(GString *out, uint16_t type, const uint8_t *data, size_t length)
{
    switch (type) {
    case RTM_NEWADDR:
    case RTM_DELADDR:
    case RTM_GETADDR:
        put_address_message(out, data, length);
        return;
    case RTM_NEWLINK:
    case RTM_DELLINK:
    case RTM_GETLINK:
    case RTM_SETLINK:
        put_link_message(out, data, length);
        return;
    default:
        g_string_append(out, "{family=");
        strace_put_family(out, data[0]);
        if (length > 1) {
            g_string_append(out, ", data=");
            put_hex(out, data + 1, length - 1);
        }
        g_string_append_c(out, '}');
    }
}

/* ---- messages ------------------------------------------------------------------ */

static const char *route_type_name(uint16_t type)
{
    static const char *const names[] = {
        "RTM_NEWLINK",
        "RTM_DELLINK",
        "RTM_GETLINK",
        "RTM_SETLINK",
        "RTM_NEWADDR",
        "RTM_DELADDR",
        "RTM_GETADDR",
        NULL,
        "RTM_NEWROUTE",
        "RTM_DELROUTE",
        "RTM_GETROUTE",
        NULL,
        "RTM_NEWNEIGH",
        "RTM_DELNEIGH",
        "RTM_GETNEIGH",
        NULL,
        "RTM_NEWRULE",
        "RTM_DELRULE",
        "RTM_GETRULE",
        NULL,
        "RTM_NEWQDISC",
        "RTM_DELQDISC",
        "RTM_GETQDISC",
        NULL,
        "RTM_NEWTCLASS",
        "RTM_DELTCLASS",
        "RTM_GETTCLASS",
        NULL,
        "RTM_NEWTFILTER",
        "RTM_DELTFILTER",
        "RTM_GETTFILTER",
        NULL,
        "RTM_NEWACTION",
        "RTM_DELACTION",
        "RTM_GETACTION",
        NULL,
        "RTM_NEWPREFIX",
        NULL,
        "RTM_GETMULTICAST",
        NULL,
        NULL,
        NULL,
        "RTM_GETANYCAST",
        NULL,
        "RTM_NEWNEIGHTBL",
        NULL,
        "RTM_GETNEIGHTBL",
        "RTM_SETNEIGHTBL",
        "RTM_NEWNDUSEROPT",
        NULL,
        NULL,
        NULL,
        "RTM_NEWADDRLABEL",
        "RTM_DELADDRLABEL",
        "RTM_GETADDRLABEL",
        NULL,
        NULL,
        NULL,
        "RTM_GETDCB",
        "RTM_SETDCB",
        "RTM_NEWNETCONF",
        "RTM_DELNETCONF",
        "RTM_GETNETCONF",
        NULL,
        "RTM_NEWMDB",
        "RTM_DELMDB",
        "RTM_GETMDB",
        NULL,
        "RTM_NEWNSID",
        "RTM_DELNSID",
        "RTM_GETNSID",
        NULL,
        "RTM_NEWSTATS",
        NULL,
        "RTM_GETSTATS",
        NULL,
        "RTM_NEWCACHEREPORT",
        NULL,
        NULL,
        NULL,
        "RTM_NEWCHAIN",
        "RTM_DELCHAIN",
        "RTM_GETCHAIN",
        NULL,
        "RTM_NEWNEXTHOP",
        "RTM_DELNEXTHOP",
        "RTM_GETNEXTHOP",
        NULL,
        "RTM_NEWLINKPROP",
        "RTM_DELLINKPROP",
        "RTM_GETLINKPROP",
        NULL,
        "RTM_NEWVLAN",
        "RTM_DELVLAN",
        "RTM_GETVLAN",
        NULL,
        "RTM_NEWNEXTHOPBUCKET",
        "RTM_DELNEXTHOPBUCKET",
        "RTM_GETNEXTHOPBUCKET",
    };
    return type >= RTM_BASE && type - RTM_BASE < (int)G_N_ELEMENTS(names) ? names[type - RTM_BASE]
                                                                          : NULL;
}

static void put_type(GString *out, uint16_t type, int protocol)
{
    static const char *const control[] = {NULL, "NLMSG_NOOP", "NLMSG_ERROR", "NLMSG_DONE",
                                          "NLMSG_OVERRUN"};
    const char *name = type < G_N_ELEMENTS(control) ? control[type] : NULL;
    if (type >= NLMSG_MIN_TYPE && protocol == NETLINK_ROUTE) {
        name = route_type_name(type);
        if (!name) {
            strace_put_value(out, type, NULL, 0, "RTM_???");
            return;
        }
    }
    if (name)
        g_string_append(out, name);
    else
        strace_put_value(out, type, NULL, 0, "NLMSG_???");
}

/* nlmsg_flags: the common ones, then those of the request's kind (get, new,
 * delete for route messages; an acknowledgement's). */
static void put_message_flags(GString *out, uint16_t flags, uint16_t type, int protocol)
{
    static const struct strace_flag common[] = {
        {NLM_F_REQUEST, "NLM_F_REQUEST"},
        {NLM_F_MULTI, "NLM_F_MULTI"},
        {NLM_F_ACK, "NLM_F_ACK"},
        {NLM_F_ECHO, "NLM_F_ECHO"},
        {NLM_F_DUMP_INTR, "NLM_F_DUMP_INTR"},
        {NLM_F_DUMP_FILTERED, "NLM_F_DUMP_FILTERED"},
    };
    static const struct strace_flag get[] = {{NLM_F_DUMP, "NLM_F_DUMP"},
                                             {NLM_F_ROOT, "NLM_F_ROOT"},
                                             {NLM_F_MATCH, "NLM_F_MATCH"},
                                             {NLM_F_ATOMIC, "NLM_F_ATOMIC"}};
    static const struct strace_flag new[] = {{NLM_F_REPLACE, "NLM_F_REPLACE"},
                                             {NLM_F_EXCL, "NLM_F_EXCL"},
                                             {NLM_F_CREATE, "NLM_F_CREATE"},
                                             {NLM_F_APPEND, "NLM_F_APPEND"}};
    static const struct strace_flag delete[] = {{0x100, "NLM_F_NONREC"}, {0x200, "NLM_F_BULK"}};
    static const struct strace_flag ack[] = {{0x100, "NLM_F_CAPPED"}, {0x200, "NLM_F_ACK_TLVS"}};
    struct strace_flag names[G_N_ELEMENTS(common) + 4];
    memcpy(names, common, sizeof(common));
    size_t count = G_N_ELEMENTS(common);
    const struct strace_flag *extra = NULL;
    size_t extra_count = 0;
    if (type == NLMSG_ERROR) {
        extra = ack, extra_count = G_N_ELEMENTS(ack);
    } else if (type >= NLMSG_MIN_TYPE && protocol == NETLINK_ROUTE) {
        if (type == RTM_DELACTION || (type & 3) == 2)
            extra = get, extra_count = G_N_ELEMENTS(get);
        else if ((type & 3) == 0)
            extra = new, extra_count = G_N_ELEMENTS(new);
        else if ((type & 3) == 1)
            extra = delete, extra_count = G_N_ELEMENTS(delete);
    } else if (type >= NLMSG_MIN_TYPE && protocol == NETLINK_SOCK_DIAG) {
        extra = get, extra_count = G_N_ELEMENTS(get);
    }
    if (extra) {
        memcpy(names + count, extra, extra_count * sizeof(*extra));
        count += extra_count;
    }
    strace_put_flag_set(out, flags, names, count, "NLM_F_???");
}

static void put_header(GString *out, const struct nlmsghdr *header, int protocol)
{
    g_string_append_printf(out, "{nlmsg_len=%u, nlmsg_type=", header->nlmsg_len);
    put_type(out, header->nlmsg_type, protocol);
    g_string_append(out, ", nlmsg_flags=");
    put_message_flags(out, header->nlmsg_flags, header->nlmsg_type, protocol);
    g_string_append_printf(out, ", nlmsg_seq=%u, nlmsg_pid=%u}", header->nlmsg_seq,
                           header->nlmsg_pid);
}

static void put_message(GString *out, const struct nlmsghdr *header, const uint8_t *data,
                        size_t left, int protocol, int depth);

/* NLMSG_ERROR's payload: {error=-ENOENT, msg=...the request...}, and the
 * extended acknowledgement's attributes after it. */
static void put_error(GString *out, const uint8_t *data, size_t length, bool capped, int protocol,
                      int depth)
{
    static const struct attribute_kind kinds[] = {
        {"NLMSGERR_ATTR_UNUSED", NULL},       {"NLMSGERR_ATTR_MSG", put_str},
        {"NLMSGERR_ATTR_OFFS", put_u32},      {"NLMSGERR_ATTR_COOKIE", NULL},
        {"NLMSGERR_ATTR_POLICY", NULL},       {"NLMSGERR_ATTR_MISS_TYPE", put_u32},
        {"NLMSGERR_ATTR_MISS_NEST", put_u32},
    };
    static const struct attribute_table table = {NAMES(kinds), "NLMSGERR_ATTR_???"};
    struct nlmsgerr error;
    if (length < sizeof(error)) {
        put_hex(out, data, length);
        return;
    }
    memcpy(&error, data, sizeof(error));
    size_t offset = offsetof(struct nlmsgerr, msg), left = length - offset;
    size_t request =
        error.msg.nlmsg_len > sizeof(error.msg) ? error.msg.nlmsg_len : sizeof(error.msg);
    size_t payload = capped ? sizeof(error.msg) : request;
    if (payload > left)
        payload = left;
    if (left > payload)
        g_string_append_c(out, '[');
    g_string_append(out, "{error=");
    const char *name =
        error.error < 0 && error.error > -4096 ? strerrorname_np(-error.error) : NULL;
    if (name)
        g_string_append_printf(out, "-%s", name);
    else
        g_string_append_printf(out, "%d", error.error);
    g_string_append(out, ", msg=");
    put_message(out, &error.msg, data + offset, payload, protocol, depth + 1);
    g_string_append_c(out, '}');
    if (left > payload) {
        g_string_append(out, ", ");
        put_attributes(out, data + offset + payload, left - payload, &table, 0);
        g_string_append_c(out, ']');
    }
}

static void put_payload(GString *out, const struct nlmsghdr *header, const uint8_t *data,
                        size_t length, int protocol, int depth)
{
    int32_t number;
    if (header->nlmsg_type == NLMSG_ERROR && depth < 4) {
        put_error(out, data, length, header->nlmsg_flags & 0x100, protocol, depth);
    } else if (header->nlmsg_type >= NLMSG_MIN_TYPE && protocol == NETLINK_ROUTE) {
        put_route_payload(out, header->nlmsg_type, data, length);
    } else if (header->nlmsg_type == NLMSG_DONE && length == sizeof(number)) {
        memcpy(&number, data, sizeof(number));
        g_string_append_printf(out, "%d", number);
    } else {
        put_hex(out, data, length);
    }
}

/* One message of the left bytes at data: [{header}, payload], or the
 * header alone when there is no payload within them. */
static void put_message(GString *out, const struct nlmsghdr *header, const uint8_t *data,
                        size_t left, int protocol, int depth)
{
    size_t length = header->nlmsg_len < left ? header->nlmsg_len : left;
    bool with_payload = length > NLMSG_HDRLEN;
    if (with_payload)
        g_string_append_c(out, '[');
    put_header(out, header, protocol);
    if (!with_payload)
        return;
    g_string_append(out, ", ");
    put_payload(out, header, data + NLMSG_HDRLEN, length - NLMSG_HDRLEN, protocol, depth);
    g_string_append_c(out, ']');
}

void strace_netlink_put(GString *out, const uint8_t *data, size_t length, int protocol)
{
    bool array = false;
    for (unsigned shown = 0;; shown++) {
        if (length < sizeof(struct nlmsghdr)) {
            put_hex(out, data, length);
            break;
        }
        if (shown == STRACE_STRING_LIMIT) {
            g_string_append(out, "...");
            break;
        }
        struct nlmsghdr header;
        memcpy(&header, data, sizeof(header));
        size_t aligned = NLMSG_ALIGN((size_t)header.nlmsg_len);
        size_t next = header.nlmsg_len >= NLMSG_HDRLEN && length > aligned ? length - aligned : 0;
        if (!array && next) {
            g_string_append_c(out, '[');
            array = true;
        }
        put_message(out, &header, data, length, protocol, 0);
        if (!next)
            break;
        g_string_append(out, ", ");
        data += aligned;
        length = next;
    }
    if (array)
        g_string_append_c(out, ']');
}
