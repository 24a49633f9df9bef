/* strace_net: socket, polling and fd-making calls whose arguments strace decodes, between
 * two marker writes, so that `hermitux-run --strace` can be compared with strace's own
 * trace of the same run. Everything is local: a socketpair, AF_UNIX sockets on a relative
 * path inside DIR (its name, and so the lengths strace prints, the same in every run), an
 * abstract name nobody listens on, and TCP on 127.0.0.1 with a port the kernel picks (the
 * test masks its number).
 *   strace_net DIR   (an empty writable directory) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

/* musl's toolchain has no kernel headers: the few netlink and UDP numbers used here. */
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_ROUTE
#define NETLINK_ROUTE 0
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static void say(const char *text)
{
    if (write(1, text, strlen(text)) < 0)
        _exit(2);
}

static int failed(const char *what)
{
    say(what);
    say(" failed\n");
    return 1;
}

/* A socketpair: data both ways, a descriptor passed in SCM_RIGHTS, shutdown. */
static int pair_calls(void)
{
    int pair[2];
    char buffer[64];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return failed("socketpair");
    if (recvfrom(pair[1], buffer, sizeof(buffer), MSG_DONTWAIT, NULL, NULL) != -1)
        return failed("empty recvfrom");
    if (sendto(pair[0], "ping", 4, MSG_NOSIGNAL, NULL, 0) != 4 ||
        recvfrom(pair[1], buffer, sizeof(buffer), 0, NULL, NULL) != 4)
        return failed("sendto");

    struct iovec out[2] = {{(void *)"fd ", 3}, {(void *)"here", 4}};
    union {
        char bytes[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr message = {.msg_iov = out,
                             .msg_iovlen = 2,
                             .msg_control = control.bytes,
                             .msg_controllen = sizeof(control.bytes)};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    int passed = 1;
    memcpy(CMSG_DATA(header), &passed, sizeof(int));
    if (sendmsg(pair[0], &message, 0) != 7)
        return failed("sendmsg");
    struct iovec in = {buffer, sizeof(buffer)};
    memset(&control, 0, sizeof(control));
    message = (struct msghdr){.msg_iov = &in,
                              .msg_iovlen = 1,
                              .msg_control = control.bytes,
                              .msg_controllen = sizeof(control.bytes)};
    if (recvmsg(pair[1], &message, MSG_CMSG_CLOEXEC) != 7)
        return failed("recvmsg");
    memcpy(&passed, CMSG_DATA(CMSG_FIRSTHDR(&message)), sizeof(int));
    close(passed);
    /* Without MSG_CMSG_CLOEXEC, msg_flags comes back without it. */
    in.iov_len = 2;
    if (send(pair[0], "ok", 2, 0) != 2 || recvmsg(pair[1], &message, 0) != 2)
        return failed("recvmsg without control");

    /* Ready to read: poll, ppoll, select and epoll all see it. */
    if (write(pair[0], "x", 1) != 1)
        return failed("write");
    struct pollfd polled[2] = {{pair[1], POLLIN, 0}, {pair[0], POLLIN | POLLOUT, 0}};
    if (poll(polled, 2, 0) != 2)
        return failed("poll");
    struct timespec zero = {0, 0};
    if (ppoll(polled, 1, &zero, NULL) != 1)
        return failed("ppoll");
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(pair[1], &readable);
    FD_SET(pair[0], &readable);
    if (select(pair[1] + 1, &readable, NULL, NULL, NULL) != 1)
        return failed("select");
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = 0x100000007};
    if (epoll < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, pair[1], &event) != 0)
        return failed("epoll_ctl");
    struct epoll_event events[4];
    if (epoll_wait(epoll, events, 4, 0) != 1)
        return failed("epoll_wait");
    if (epoll_ctl(epoll, EPOLL_CTL_DEL, pair[1], NULL) != 0 || epoll_wait(epoll, events, 4, 0) != 0)
        return failed("epoll_ctl del");
    close(epoll);

    if (shutdown(pair[0], SHUT_WR) != 0 || read(pair[1], buffer, sizeof(buffer)) != 1)
        return failed("shutdown");
    close(pair[0]);
    close(pair[1]);
    return 0;
}

/* A listening AF_UNIX socket on a path, a client, accept4, the names; an abstract
 * name nobody listens on; an IPv6 address the kernel refuses on such a socket. */
static int unix_calls(void)
{
    struct sockaddr_un name = {.sun_family = AF_UNIX, .sun_path = "listener"};
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    if (server < 0 || bind(server, (struct sockaddr *)&name, sizeof(name)) != 0 ||
        listen(server, 5) != 0)
        return failed("unix listen");
    int client = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (client < 0 || connect(client, (struct sockaddr *)&name, sizeof(name)) != 0)
        return failed("unix connect");
    struct sockaddr_un peer;
    socklen_t length = sizeof(peer);
    int accepted = accept4(server, (struct sockaddr *)&peer, &length, SOCK_CLOEXEC);
    if (accepted < 0)
        return failed("accept4");
    length = sizeof(peer);
    if (getsockname(server, (struct sockaddr *)&peer, &length) != 0)
        return failed("getsockname");
    length = sizeof(peer);
    if (getpeername(client, (struct sockaddr *)&peer, &length) != 0)
        return failed("getpeername");
    length = sizeof(peer);
    if (getpeername(server, (struct sockaddr *)&peer, &length) != -1)
        return failed("getpeername of a listener");
    close(accepted);
    close(client);
    close(server);
    unlink("listener");

    int lonely = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un abstract = {.sun_family = AF_UNIX};
    memcpy(abstract.sun_path, "\0hermitux-strace-none", 21);
    if (lonely < 0 || connect(lonely, (struct sockaddr *)&abstract,
                              offsetof(struct sockaddr_un, sun_path) + 21) != -1)
        return failed("abstract connect");
    struct sockaddr_in6 six = {.sin6_family = AF_INET6, .sin6_port = htons(8080)};
    six.sin6_addr = in6addr_loopback;
    if (bind(lonely, (struct sockaddr *)&six, sizeof(six)) != -1)
        return failed("inet6 bind");
    close(lonely);
    return 0;
}

/* TCP on the loopback: socket options, a port the kernel picks, connect, accept. */
static int inet_calls(void)
{
    int server = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    int one = 1, value = 0;
    socklen_t length = sizeof(value);
    if (server < 0 || setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        getsockopt(server, SOL_SOCKET, SO_REUSEADDR, &value, &length) != 0 || value != 1)
        return failed("socket options");
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    if (bind(server, (struct sockaddr *)&address, sizeof(address)) != 0 || listen(server, 1) != 0 ||
        getsockname(server, (struct sockaddr *)&address, &size) != 0)
        return failed("inet listen");
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (client < 0 || setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        connect(client, (struct sockaddr *)&address, sizeof(address)) != 0)
        return failed("inet connect");
    int accepted = accept(server, NULL, NULL);
    if (accepted < 0 || send(client, "hello", 5, 0) != 5)
        return failed("accept");
    char buffer[16];
    struct sockaddr_in from;
    socklen_t from_length = sizeof(from);
    if (recvfrom(accepted, buffer, 5, MSG_WAITALL, (struct sockaddr *)&from, &from_length) != 5)
        return failed("recvfrom");
    close(accepted);
    close(client);
    close(server);
    return 0;
}

/* A NETLINK_ROUTE exchange as getaddrinfo makes one: the addresses of lo (dumped with
 * strict checking so that only lo's come back: its addresses are permanent, their
 * lifetimes do not count down between runs), read with recvmsg and recvfrom until
 * NLMSG_DONE, and a request for a link that does not exist, sent with sendmsg, which
 * draws an NLMSG_ERROR echoing it. The kernel's port ids (the process's pid) are masked
 * by the test. musl has no kernel headers: the layouts are spelled out here. */
struct nl_header {
    uint32_t length;
    uint16_t type, flags;
    uint32_t sequence, port;
};
struct nl_address {
    uint16_t family;
    uint16_t pad;
    uint32_t port, groups;
};
#define NL_ROUTE_GETLINK  18
#define NL_ROUTE_GETADDR  22
#define NL_DONE           3
#define NL_ERROR          2
#define NL_REQUEST        1
#define NL_ACK            4
#define NL_DUMP           0x300
#define NL_GET_STRICT_CHK 12

static int netlink_calls(void)
{
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    int one = 1;
    struct nl_address kernel = {.family = AF_NETLINK}, self = {.family = AF_NETLINK};
    socklen_t size = sizeof(self);
    if (nl < 0 || bind(nl, (struct sockaddr *)&self, sizeof(self)) != 0 ||
        getsockname(nl, (struct sockaddr *)&self, &size) != 0 ||
        setsockopt(nl, SOL_NETLINK, NL_GET_STRICT_CHK, &one, sizeof(one)) != 0)
        return failed("netlink socket");
    struct {
        struct nl_header header;
        uint8_t family, prefix, flags, scope;
        uint32_t index;
    } dump = {{sizeof(dump), NL_ROUTE_GETADDR, NL_REQUEST | NL_DUMP, 1000, 0}, 0, 0, 0, 0, 1};
    if (sendto(nl, &dump, sizeof(dump), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return failed("netlink sendto");
    static char reply[8192];
    bool done = false;
    for (int round = 0; round < 8 && !done; round++) {
        ssize_t got;
        if (round == 0) {
            struct nl_address from;
            struct iovec in = {reply, sizeof(reply)};
            struct msghdr message = {
                .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &in, .msg_iovlen = 1};
            got = recvmsg(nl, &message, 0);
        } else {
            got = recvfrom(nl, reply, sizeof(reply), 0, NULL, NULL);
        }
        if (got <= 0)
            return failed("netlink receive");
        for (ssize_t at = 0; at + (ssize_t)sizeof(struct nl_header) <= got;) {
            struct nl_header header;
            memcpy(&header, reply + at, sizeof(header));
            if (header.type == NL_DONE || header.type == NL_ERROR)
                done = true;
            if (header.length < sizeof(header))
                break;
            at += (header.length + 3) & ~3u;
        }
    }
    struct {
        struct nl_header header;
        uint8_t family, pad;
        uint16_t type;
        int32_t index;
        uint32_t flags, change;
    } link = {
        {sizeof(link), NL_ROUTE_GETLINK, NL_REQUEST | NL_ACK, 1001, 0}, 0, 0, 0, 999999, 0, 0};
    struct iovec out = {&link, sizeof(link)};
    struct msghdr message = {
        .msg_name = &kernel, .msg_namelen = sizeof(kernel), .msg_iov = &out, .msg_iovlen = 1};
    if (sendmsg(nl, &message, 0) < 0 || recv(nl, reply, sizeof(reply), 0) <= 0)
        return failed("netlink error");
    close(nl);
    return 0;
}

/* Socket options strace shows by their own shapes: a string where the length is not an
 * int's, a structure cut short, SO_ERROR by name, multicast requests, the levels of
 * other families (netlink, UDP) and one nobody knows. Each call's result is whatever the
 * kernel says; only the arguments matter here. */
static int sockopt_calls(void)
{
    int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int udp6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int netlink = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    int tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (udp < 0 || udp6 < 0 || netlink < 0 || tcp < 0)
        return failed("sockopt sockets");
    int one = 1, value = 0;
    char bytes[40] = "cubic";
    socklen_t length;
    struct timeval timeout = {1, 500};
    setsockopt(tcp, IPPROTO_TCP, TCP_CONGESTION, bytes, 5);
    setsockopt(tcp, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(udp, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3);
    setsockopt(udp, SOL_SOCKET, SO_RCVBUF, &one, 2);
    setsockopt(udp, IPPROTO_UDP, UDP_SEGMENT, &one, sizeof(one));
    setsockopt(udp, 9999, 77, &one, sizeof(one));
    setsockopt(udp, SOL_IP, IP_TTL, bytes, (socklen_t)-1);
    struct ip_mreq group = {{htonl(0xe00000fb)}, {htonl(INADDR_LOOPBACK)}};
    setsockopt(udp, SOL_IP, IP_ADD_MEMBERSHIP, &group, sizeof(group));
    struct ipv6_mreq group6 = {.ipv6mr_interface = 1};
    inet_pton(AF_INET6, "ff02::fb", &group6.ipv6mr_multiaddr);
    setsockopt(udp6, SOL_IPV6, IPV6_ADD_MEMBERSHIP, &group6, sizeof(group6));
    setsockopt(netlink, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    length = sizeof(value);
    getsockopt(netlink, SOL_NETLINK, NETLINK_NO_ENOBUFS, &value, &length);
    struct linger linger;
    length = 6;
    getsockopt(tcp, SOL_SOCKET, SO_LINGER, &linger, &length);
    length = 2;
    getsockopt(tcp, SOL_SOCKET, SO_RCVBUF, &value, &length);
    length = sizeof(bytes);
    getsockopt(tcp, IPPROTO_TCP, TCP_CONGESTION, bytes, &length);
    length = sizeof(value);
    getsockopt(tcp, SOL_SOCKET, SO_ERROR, &value, &length);
    /* A refused connection: SO_ERROR then names it. Port 1 on 127.0.0.1 has no listener
     * in any sane test environment. */
    struct sockaddr_in nobody = {.sin_family = AF_INET, .sin_port = htons(1)};
    nobody.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(tcp, (struct sockaddr *)&nobody, sizeof(nobody));
    struct pollfd wait = {tcp, POLLOUT, 0};
    poll(&wait, 1, 5000);
    length = sizeof(value);
    getsockopt(tcp, SOL_SOCKET, SO_ERROR, &value, &length);
    close(tcp);
    close(netlink);
    close(udp6);
    close(udp);
    return 0;
}

/* Control messages beyond SOL_SOCKET's: a datagram to oneself on 127.0.0.1 with its
 * destination, TTL and TOS asked for (IP_PKTINFO, IP_TTL, IP_TOS), a receive timestamp
 * (its values masked by the test), and a sendmsg whose control buffer strace walks to its
 * odd end (an unknown level, bytes left over). */
static int cmsg_calls(void)
{
    int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in self = {.sin_family = AF_INET};
    self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(self);
    int one = 1;
    if (udp < 0 || bind(udp, (struct sockaddr *)&self, sizeof(self)) != 0 ||
        getsockname(udp, (struct sockaddr *)&self, &size) != 0 ||
        setsockopt(udp, SOL_IP, IP_PKTINFO, &one, sizeof(one)) != 0 ||
        setsockopt(udp, SOL_IP, IP_RECVTTL, &one, sizeof(one)) != 0 ||
        setsockopt(udp, SOL_IP, IP_RECVTOS, &one, sizeof(one)) != 0 ||
        setsockopt(udp, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0)
        return failed("cmsg socket");
    if (sendto(udp, "self", 4, 0, (struct sockaddr *)&self, sizeof(self)) != 4)
        return failed("cmsg sendto");
    char buffer[16];
    union {
        char bytes[256];
        struct cmsghdr align;
    } control;
    struct iovec in = {buffer, sizeof(buffer)};
    struct msghdr message = {.msg_iov = &in,
                             .msg_iovlen = 1,
                             .msg_control = control.bytes,
                             .msg_controllen = sizeof(control.bytes)};
    if (recvmsg(udp, &message, 0) != 4)
        return failed("cmsg recvmsg");

    memset(&control, 0, sizeof(control));
    struct cmsghdr *odd = (struct cmsghdr *)control.bytes;
    odd->cmsg_len = CMSG_LEN(4);
    odd->cmsg_level = 9999;
    odd->cmsg_type = 7;
    struct iovec out = {(void *)"odd", 3};
    message = (struct msghdr){.msg_name = &self,
                              .msg_namelen = sizeof(self),
                              .msg_iov = &out,
                              .msg_iovlen = 1,
                              .msg_control = control.bytes,
                              .msg_controllen = CMSG_SPACE(4) + 12};
    sendmsg(udp, &message, 0);
    close(udp);
    return 0;
}

/* sendmmsg and recvmmsg on a datagram socketpair: the peer's unnamed address
 * ("110 => 0"), a message cut short (MSG_TRUNC), more messages than strace shows (32),
 * a failing receive, and a zero timeout the kernel hands back. */
static int mmsg_calls(void)
{
    enum { COUNT = 34 };
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) != 0)
        return failed("socketpair dgram");
    static char data[COUNT][8], received[COUNT][4];
    static struct sockaddr_un names[COUNT];
    struct iovec out[COUNT], in[COUNT];
    struct mmsghdr messages[COUNT];
    memset(messages, 0, sizeof(messages));
    for (int i = 0; i < COUNT; i++) {
        memcpy(data[i], "message", 8);
        data[i][7] = (char)('A' + i);
        out[i] = (struct iovec){data[i], i == 1 ? 8 : 3};
        messages[i].msg_hdr.msg_iov = &out[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    if (sendmmsg(pair[0], messages, 3, MSG_NOSIGNAL) != 3)
        return failed("sendmmsg");
    memset(messages, 0, sizeof(messages));
    for (int i = 0; i < COUNT; i++) {
        in[i] = (struct iovec){received[i], sizeof(received[i])};
        messages[i].msg_hdr = (struct msghdr){.msg_name = &names[i],
                                              .msg_namelen = sizeof(names[i]),
                                              .msg_iov = &in[i],
                                              .msg_iovlen = 1};
    }
    if (recvmmsg(pair[1], messages, 4, MSG_DONTWAIT, NULL) != 3)
        return failed("recvmmsg");
    if (recvmmsg(pair[1], messages, 4, MSG_DONTWAIT, NULL) != -1)
        return failed("empty recvmmsg");

    memset(messages, 0, sizeof(messages));
    for (int i = 0; i < COUNT; i++) {
        messages[i].msg_hdr.msg_iov = &out[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    if (sendmmsg(pair[0], messages, COUNT, 0) != COUNT)
        return failed("sendmmsg many");
    for (int i = 0; i < COUNT; i++)
        messages[i].msg_hdr = (struct msghdr){.msg_iov = &in[i], .msg_iovlen = 1};
    /* A zero timeout: the kernel stops after the first message and leaves 0. */
    struct timespec timeout = {0, 0};
    if (recvmmsg(pair[1], messages, COUNT, 0, &timeout) != 1)
        return failed("recvmmsg timeout");
    if (recvmmsg(pair[1], messages, COUNT, MSG_DONTWAIT, NULL) != COUNT - 1)
        return failed("recvmmsg many");
    if (sendmmsg(-1, messages, 1, 0) != -1)
        return failed("sendmmsg bad fd");
    close(pair[0]);
    close(pair[1]);
    return 0;
}

/* sendfile from a file into a pipe, eventfd, dup3, a timerfd. */
static int fd_calls(void)
{
    int file = open("data", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (file < 0 || write(file, "0123456789", 10) != 10)
        return failed("data");
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return failed("pipe2");
    off_t offset = 2;
    if (sendfile(pipe_fds[1], file, &offset, 100) != 8 || offset != 10)
        return failed("sendfile");
    if (lseek(file, 4, SEEK_SET) != 4 || sendfile(pipe_fds[1], file, NULL, 3) != 3)
        return failed("sendfile without offset");
    char buffer[16];
    if (read(pipe_fds[0], buffer, sizeof(buffer)) != 11)
        return failed("pipe read");
    int event = eventfd(3, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event < 0 || dup3(event, 20, O_CLOEXEC) != 20)
        return failed("eventfd");
    close(20);
    close(event);
    int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct itimerspec later = {{0, 0}, {100, 5000}};
    if (timer < 0 || timerfd_settime(timer, 0, &later, NULL) != 0)
        return failed("timerfd");
    close(timer);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    close(file);
    unlink("data");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 || chdir(argv[1]) != 0)
        return 1;
    say("BEGIN\n");
    if (pair_calls() || unix_calls() || inet_calls() || sockopt_calls() || netlink_calls() ||
        cmsg_calls() || mmsg_calls() || fd_calls())
        return 1;
    say("END\n");
    return 0;
}
