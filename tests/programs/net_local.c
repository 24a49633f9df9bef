/*
 * net_local.c — sockets without a peer outside the program: socketpair with
 * SCM_RIGHTS and SCM_CREDENTIALS, seqpacket and datagram pairs, UDP echo and
 * TCP over loopback (ports chosen by the kernel), AF_UNIX on a path, socket
 * options, and the errors Linux gives (ENOTSOCK on a pipe, EBADF, EFAULT for
 * bad pointers). Prints only facts that do not depend on the run.
 *
 * usage: net_local DIR          (DIR: a scratch directory for the AF_UNIX path)
 *        net_local family       (which socket families can be created)
 *        net_local block CALL   (blocks for ever in accept, recv or poll, for the
 *                                tests that end it from outside)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"

static void not_a_socket(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    struct sockaddr_in address = {.sin_family = AF_INET};
    socklen_t length = sizeof(address);
    int value = 1;
    char byte = 0;
    printf("pipe getpeername: %s\n",
           fails_with(getpeername(fds[0], (struct sockaddr *)&address, &length)));
    printf("pipe getsockname: %s\n",
           fails_with(getsockname(fds[0], (struct sockaddr *)&address, &length)));
    printf("pipe shutdown: %s\n", fails_with(shutdown(fds[0], SHUT_RDWR)));
    printf("pipe send: %s\n", fails_with(send(fds[1], &byte, 1, 0)));
    printf("pipe recv: %s\n", fails_with(recv(fds[0], &byte, 1, MSG_DONTWAIT)));
    printf("pipe listen: %s\n", fails_with(listen(fds[0], 1)));
    printf("pipe accept: %s\n", fails_with(accept(fds[0], NULL, NULL)));
    printf("pipe bind: %s\n",
           fails_with(bind(fds[0], (struct sockaddr *)&address, sizeof(address))));
    printf("pipe connect: %s\n",
           fails_with(connect(fds[0], (struct sockaddr *)&address, sizeof(address))));
    printf("pipe setsockopt: %s\n",
           fails_with(setsockopt(fds[0], SOL_SOCKET, SO_REUSEADDR, &value, sizeof(value))));
    length = sizeof(value);
    printf("pipe getsockopt: %s\n",
           fails_with(getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &value, &length)));
    close(fds[0]);
    close(fds[1]);
    printf("closed getpeername: %s\n",
           fails_with(getpeername(fds[0], (struct sockaddr *)&address, &length)));
    printf("closed send: %s\n", fails_with(send(fds[1], &byte, 1, 0)));
}

/* Sends fds over a socket with one byte of data. */
static int send_fds(int socket, const int *fds, int count)
{
    char data = 'F';
    struct iovec iov = {&data, 1};
    char control[CMSG_SPACE(4 * sizeof(int))];
    memset(control, 0, sizeof(control));
    struct msghdr message = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control,
        .msg_controllen = CMSG_SPACE(count * sizeof(int)),
    };
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(count * sizeof(int));
    memcpy(CMSG_DATA(header), fds, count * sizeof(int));
    return sendmsg(socket, &message, 0) == 1 ? 0 : -1;
}

/* Receives up to 4 fds; returns how many. */
static int receive_fds(int socket, int *fds, int flags)
{
    char data;
    struct iovec iov = {&data, 1};
    char control[CMSG_SPACE(4 * sizeof(int))];
    struct msghdr message = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control,
        .msg_controllen = sizeof(control),
    };
    if (recvmsg(socket, &message, flags) != 1 || data != 'F')
        return -1;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (!header || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
        return -1;
    int count = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    memcpy(fds, CMSG_DATA(header), count * sizeof(int));
    return count;
}

static void pass_fds(void)
{
    int pair[2], pipe_fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0 || pipe(pipe_fds) != 0)
        exit(1);
    /* The pipe's write end travels over the socket and comes back as a new
     * fd; the original is closed first, so only the received one writes. */
    check("send SCM_RIGHTS", send_fds(pair[0], &pipe_fds[1], 1) == 0);
    close(pipe_fds[1]);
    int received[4];
    int count = receive_fds(pair[1], received, MSG_CMSG_CLOEXEC);
    check("receive one fd", count == 1);
    check("received fd is close-on-exec", count == 1 && fcntl(received[0], F_GETFD) == FD_CLOEXEC);
    check("write through the received fd", count == 1 && write(received[0], "via fd", 6) == 6);
    close(received[0]);
    char buffer[16] = {0};
    check("pipe reads what it wrote",
          read(pipe_fds[0], buffer, sizeof(buffer)) == 6 && strcmp(buffer, "via fd") == 0);
    close(pipe_fds[0]);

    int several[3] = {0, 1, 2};
    check("send three fds", send_fds(pair[1], several, 3) == 0);
    count = receive_fds(pair[0], received, 0);
    check("receive three fds", count == 3);
    for (int i = 0; i < count; i++) {
        check("received fd is not close-on-exec", fcntl(received[i], F_GETFD) == 0);
        close(received[i]);
    }
    int bad = 999;
    printf("send a closed fd: %s\n", fails_with(send_fds(pair[0], &bad, 1)));

    /* Credentials: the pid a program sends is its own getpid(). */
    int on = 1;
    check("SO_PASSCRED", setsockopt(pair[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == 0);
    struct ucred credentials = {getpid(), getuid(), getgid()};
    char data = 'C';
    struct iovec iov = {&data, 1};
    char control[CMSG_SPACE(sizeof(struct ucred))];
    memset(control, 0, sizeof(control));
    struct msghdr message = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control,
                             .msg_controllen = sizeof(control)};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_CREDENTIALS;
    header->cmsg_len = CMSG_LEN(sizeof(credentials));
    memcpy(CMSG_DATA(header), &credentials, sizeof(credentials));
    check("send SCM_CREDENTIALS", sendmsg(pair[0], &message, 0) == 1);
    memset(control, 0, sizeof(control));
    message.msg_controllen = sizeof(control);
    struct ucred got = {0, 0, 0};
    if (recvmsg(pair[1], &message, 0) == 1 && (header = CMSG_FIRSTHDR(&message)) &&
        header->cmsg_type == SCM_CREDENTIALS)
        memcpy(&got, CMSG_DATA(header), sizeof(got));
    check("received credentials are the sender's",
          got.pid == getpid() && got.uid == getuid() && got.gid == getgid());
    socklen_t length = sizeof(got);
    memset(&got, 0, sizeof(got));
    check("SO_PEERCRED is this process",
          getsockopt(pair[0], SOL_SOCKET, SO_PEERCRED, &got, &length) == 0 && got.pid == getpid() &&
              length == sizeof(got));

    /* Data both ways, MSG_PEEK, then end of stream after shutdown. */
    check("send", send(pair[0], "hello", 5, 0) == 5);
    memset(buffer, 0, sizeof(buffer));
    check("peek", recv(pair[1], buffer, sizeof(buffer), MSG_PEEK) == 5);
    check("recv", recv(pair[1], buffer, sizeof(buffer), 0) == 5 && memcmp(buffer, "hello", 5) == 0);
    printf("empty nonblocking recv: %s\n",
           fails_with(recv(pair[1], buffer, sizeof(buffer), MSG_DONTWAIT)));
    check("shutdown", shutdown(pair[0], SHUT_WR) == 0);
    check("end of stream", recv(pair[1], buffer, sizeof(buffer), 0) == 0);
    close(pair[0]);
    printf("send to a closed peer: %s\n", fails_with(send(pair[1], "x", 1, MSG_NOSIGNAL)));
    close(pair[1]);
}

static void message_boundaries(int type, const char *name)
{
    int pair[2];
    if (socketpair(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0)
        exit(1);
    char label[64];
    snprintf(label, sizeof(label), "%s socketpair is close-on-exec and nonblocking", name);
    check(label, fcntl(pair[0], F_GETFD) == FD_CLOEXEC && (fcntl(pair[0], F_GETFL) & O_NONBLOCK));
    send(pair[0], "one", 3, 0);
    send(pair[0], "three", 5, 0);
    char buffer[16];
    ssize_t first = recv(pair[1], buffer, sizeof(buffer), 0);
    ssize_t second = recv(pair[1], buffer, 2, 0); /* truncated */
    snprintf(label, sizeof(label), "%s keeps message boundaries", name);
    check(label, first == 3 && second == 2);
    close(pair[0]);
    close(pair[1]);
}

static struct sockaddr_in loopback(void)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

static void udp_echo(void)
{
    int server = socket(AF_INET, SOCK_DGRAM, 0), client = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in address = loopback();
    check("udp bind", bind(server, (struct sockaddr *)&address, sizeof(address)) == 0);
    socklen_t length = sizeof(address);
    check("udp getsockname",
          getsockname(server, (struct sockaddr *)&address, &length) == 0 && address.sin_port != 0);
    check("udp sendto",
          sendto(client, "ping", 4, 0, (struct sockaddr *)&address, sizeof(address)) == 4);
    char buffer[32];
    struct sockaddr_in from;
    socklen_t from_length = sizeof(from);
    ssize_t n = recvfrom(server, buffer, sizeof(buffer), 0, (struct sockaddr *)&from, &from_length);
    check("udp recvfrom", n == 4 && memcmp(buffer, "ping", 4) == 0);
    check("udp source address",
          from_length == sizeof(from) && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    check("udp echo", sendto(server, "pong", 4, 0, (struct sockaddr *)&from, from_length) == 4);
    n = recv(client, buffer, sizeof(buffer), 0);
    check("udp echo received", n == 4 && memcmp(buffer, "pong", 4) == 0);
    /* A short address buffer gets what fits and the full length. */
    sendto(client, "x", 1, 0, (struct sockaddr *)&address, sizeof(address));
    from_length = 4;
    n = recvfrom(server, buffer, sizeof(buffer), 0, (struct sockaddr *)&from, &from_length);
    check("udp short address buffer", n == 1 && from_length == sizeof(from));

    /* Several datagrams in one call each way. */
    struct mmsghdr messages[3];
    struct iovec iov[3];
    char texts[3][8] = {"a", "bb", "ccc"};
    memset(messages, 0, sizeof(messages));
    check("udp connect", connect(client, (struct sockaddr *)&address, sizeof(address)) == 0);
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = texts[i];
        iov[i].iov_len = strlen(texts[i]);
        messages[i].msg_hdr.msg_iov = &iov[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    check("sendmmsg", sendmmsg(client, messages, 3, 0) == 3 && messages[2].msg_len == 3);
    char received[3][8];
    memset(received, 0, sizeof(received));
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = received[i];
        iov[i].iov_len = sizeof(received[i]);
    }
    int count = recvmmsg(server, messages, 3, MSG_DONTWAIT, NULL);
    check("recvmmsg", count == 3 && messages[1].msg_len == 2 && strcmp(received[2], "ccc") == 0);
    close(server);
    close(client);
}

/* Moves `total` bytes from one nonblocking TCP socket to the other with
 * poll deciding who acts. */
static int tcp_pump(int from, int to, size_t total)
{
    static char out[65536], in[65536];
    size_t sent = 0, got = 0;
    unsigned sum_out = 0, sum_in = 0;
    while (got < total) {
        struct pollfd fds[2] = {{from, sent < total ? POLLOUT : 0, 0}, {to, POLLIN, 0}};
        if (poll(fds, 2, 5000) <= 0)
            return -1;
        if (fds[0].revents & POLLOUT) {
            size_t chunk = total - sent < sizeof(out) ? total - sent : sizeof(out);
            for (size_t i = 0; i < chunk; i++)
                out[i] = (char)(sent + i);
            ssize_t n = send(from, out, chunk, 0);
            if (n < 0 && errno != EAGAIN)
                return -1;
            for (ssize_t i = 0; i < n; i++)
                sum_out += (unsigned char)out[i];
            sent += n > 0 ? (size_t)n : 0;
        }
        if (fds[1].revents & POLLIN) {
            ssize_t n = recv(to, in, sizeof(in), 0);
            if (n <= 0)
                return -1;
            for (ssize_t i = 0; i < n; i++)
                sum_in += (unsigned char)in[i];
            got += (size_t)n;
        }
    }
    return sum_in == sum_out ? 0 : -1;
}

static void tcp_loopback(void)
{
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    check("SO_REUSEADDR", setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0);
    struct sockaddr_in address = loopback();
    check("tcp bind", bind(listener, (struct sockaddr *)&address, sizeof(address)) == 0);
    check("tcp listen", listen(listener, 4) == 0);
    socklen_t length = sizeof(address);
    getsockname(listener, (struct sockaddr *)&address, &length);
    int client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int result = connect(client, (struct sockaddr *)&address, sizeof(address));
    printf("nonblocking connect: %s\n", result == 0 ? "0" : errno_name(errno));
    struct sockaddr_in peer;
    socklen_t peer_length = sizeof(peer);
    int server = accept4(listener, (struct sockaddr *)&peer, &peer_length, SOCK_NONBLOCK);
    check("accept4", server >= 0 && peer_length == sizeof(peer) &&
                         peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    struct pollfd writable = {client, POLLOUT, 0};
    check("connected socket is writable", poll(&writable, 1, 5000) == 1);
    int error = -1;
    socklen_t error_length = sizeof(error);
    check("SO_ERROR",
          getsockopt(client, SOL_SOCKET, SO_ERROR, &error, &error_length) == 0 && error == 0);
    struct sockaddr_in name;
    socklen_t name_length = sizeof(name);
    check("getpeername is the listener",
          getpeername(client, (struct sockaddr *)&name, &name_length) == 0 &&
              name.sin_port == address.sin_port);
    name_length = sizeof(name);
    check("getsockname is the accepted peer",
          getsockname(client, (struct sockaddr *)&name, &name_length) == 0 &&
              name.sin_port == peer.sin_port);
    check("TCP_NODELAY", setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0);
    int value = 0;
    length = sizeof(value);
    check("TCP_NODELAY reads back",
          getsockopt(client, IPPROTO_TCP, TCP_NODELAY, &value, &length) == 0 && value == 1);
    value = 65536;
    setsockopt(client, SOL_SOCKET, SO_RCVBUF, &value, sizeof(value));
    length = sizeof(value);
    getsockopt(client, SOL_SOCKET, SO_RCVBUF, &value, &length);
    printf("SO_RCVBUF after 65536: %d\n", value);
    length = sizeof(value);
    getsockopt(client, SOL_SOCKET, SO_TYPE, &value, &length);
    printf("SO_TYPE: %s\n", value == SOCK_STREAM ? "SOCK_STREAM" : "other");
    length = sizeof(value);
    printf("unknown SOL_SOCKET option: %s\n",
           fails_with(getsockopt(client, SOL_SOCKET, 9999, &value, &length)));
    printf("unknown TCP option: %s\n",
           fails_with(setsockopt(client, IPPROTO_TCP, 9999, &on, sizeof(on))));
    printf("negative option length: %s\n",
           fails_with(setsockopt(client, SOL_SOCKET, SO_KEEPALIVE, &on, (socklen_t)-1)));
    check("200 KB each way",
          tcp_pump(client, server, 200000) == 0 && tcp_pump(server, client, 200000) == 0);
    close(client);
    char byte;
    struct pollfd readable = {server, POLLIN, 0};
    check("peer close seen", poll(&readable, 1, 5000) == 1 && recv(server, &byte, 1, 0) == 0);
    close(server);
    close(listener);

    int v6 = socket(AF_INET6, SOCK_STREAM, 0);
    if (v6 < 0) {
        printf("ipv6: unavailable\n");
        return;
    }
    check("IPV6_V6ONLY", setsockopt(v6, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == 0);
    value = 0;
    length = sizeof(value);
    check("IPV6_V6ONLY reads back",
          getsockopt(v6, IPPROTO_IPV6, IPV6_V6ONLY, &value, &length) == 0 && value == 1);
    close(v6);
}

static void unix_path(const char *dir)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof(address.sun_path), "%s/socket", dir);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    check("unix bind", bind(listener, (struct sockaddr *)&address, sizeof(address)) == 0);
    check("unix listen", listen(listener, 1) == 0);
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    check("unix connect", connect(client, (struct sockaddr *)&address, sizeof(address)) == 0);
    struct sockaddr_un name;
    socklen_t length = sizeof(name);
    int server = accept(listener, (struct sockaddr *)&name, &length);
    check("unix accept", server >= 0);
    printf("unbound peer address length: %u\n", (unsigned)length);
    length = sizeof(name);
    getpeername(client, (struct sockaddr *)&name, &length);
    printf("peer path: %s\n", name.sun_path);
    check("unix data", write(client, "u", 1) == 1 && read(server, &name, 1) == 1);
    close(server);
    close(client);
    close(listener);
    unlink(address.sun_path);

    /* A relative path is the program's cwd's, whatever the monitor's is. */
    if (chdir(dir) != 0)
        exit(1);
    struct sockaddr_un relative = {.sun_family = AF_UNIX, .sun_path = "relative.sock"};
    listener = socket(AF_UNIX, SOCK_STREAM, 0);
    check("bind a relative path",
          bind(listener, (struct sockaddr *)&relative, sizeof(relative)) == 0 &&
              listen(listener, 1) == 0);
    snprintf(address.sun_path, sizeof(address.sun_path), "%s/relative.sock", dir);
    check("it is in the cwd", access(address.sun_path, F_OK) == 0);
    client = socket(AF_UNIX, SOCK_STREAM, 0);
    check("connect to a relative path",
          connect(client, (struct sockaddr *)&relative, sizeof(relative)) == 0);
    close(client);
    close(listener);
    unlink(address.sun_path);
    if (chdir("/") != 0)
        exit(1);
}

/* Kept out of the compiler's sight, so it does not warn about the calls
 * that are meant to fail. */
static void *volatile bad_address = (void *)16;

/* The header checks go through syscall(): musl's sendmsg and recvmsg read
 * the msghdr themselves. */
static void bad_pointers(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    void *bad = bad_address;
    printf("connect bad address: %s\n", fails_with(connect(fd, bad, 16)));
    printf("bind oversized address: %s\n", fails_with(bind(fd, bad, 4096)));
    printf("getsockname bad length: %s\n",
           fails_with(getsockname(fd, bad, (socklen_t *)bad_address)));
    printf("sendmsg bad header: %s\n", fails_with(syscall(SYS_sendmsg, fd, bad, 0)));
    printf("recvmsg bad header: %s\n", fails_with(syscall(SYS_recvmsg, fd, bad, MSG_DONTWAIT)));
    struct sockaddr_in address = loopback();
    bind(fd, (struct sockaddr *)&address, sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(fd, (struct sockaddr *)&address, &length);
    printf("sendto bad buffer: %s\n",
           fails_with(sendto(fd, bad, 10, 0, (struct sockaddr *)&address, sizeof(address))));
    struct iovec iov = {bad, 10};
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1};
    message.msg_name = &address;
    message.msg_namelen = sizeof(address);
    printf("sendmsg bad iovec: %s\n", fails_with(sendmsg(fd, &message, 0)));
    int value;
    printf("getsockopt bad length: %s\n",
           fails_with(getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, bad)));
    printf("socketpair bad array: %s\n", fails_with(socketpair(AF_UNIX, SOCK_STREAM, 0, bad)));
    printf("bad socket type: %s\n", fails_with(socket(AF_INET, 12345, 0)));
    close(fd);
}

static void families(void)
{
    static const struct {
        int family, type;
        const char *name;
    } cases[] = {
        {AF_INET, SOCK_STREAM, "AF_INET stream"},       {AF_INET, SOCK_DGRAM, "AF_INET dgram"},
        {AF_INET6, SOCK_STREAM, "AF_INET6 stream"},     {AF_UNIX, SOCK_STREAM, "AF_UNIX stream"},
        {AF_UNIX, SOCK_SEQPACKET, "AF_UNIX seqpacket"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fd = socket(cases[i].family, cases[i].type, 0);
        printf("%s: %s\n", cases[i].name, fd >= 0 ? "created" : errno_name(errno));
        if (fd >= 0)
            close(fd);
    }
    int pair[2];
    printf("AF_UNIX socketpair: %s\n",
           socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0 ? "created" : errno_name(errno));
}

/* Blocks in one call that only a signal or the monitor can end. */
static int block_in(const char *call)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = loopback();
    int pair[2];
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) != 0 ||
        listen(listener, 1) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
        return 1;
    printf("blocking in %s\n", call);
    fflush(stdout);
    char byte;
    struct pollfd readable = {pair[0], POLLIN, 0};
    if (strcmp(call, "accept") == 0)
        accept(listener, NULL, NULL);
    else if (strcmp(call, "recv") == 0)
        recv(pair[0], &byte, 1, 0);
    else if (strcmp(call, "poll") == 0)
        poll(&readable, 1, -1);
    else
        return 2;
    printf("%s returned\n", call);
    return 1;
}

/* accept with the fd table full: EMFILE, and the connection stays queued
 * for an accept once an fd is free. */
static void accept_table_full(void)
{
    int server = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = loopback();
    socklen_t length = sizeof address;
    if (server < 0 || bind(server, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(server, 4) != 0 || getsockname(server, (struct sockaddr *)&address, &length) != 0)
        exit(1);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(client, (struct sockaddr *)&address, sizeof address) != 0 ||
        write(client, "queued", 6) != 6)
        exit(1);
    struct rlimit saved, full;
    getrlimit(RLIMIT_NOFILE, &saved);
    full = saved;
    full.rlim_cur = (rlim_t)client + 1; /* every fd below is open */
    for (int fd = 0; fd < client; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && dup2(client, fd) != fd)
            exit(1);
    }
    setrlimit(RLIMIT_NOFILE, &full);
    printf("accept with the table full: %s\n", fails_with(accept(server, NULL, NULL)));
    printf("accept4 with the table full: %s\n", fails_with(accept4(server, NULL, NULL, 0)));
    setrlimit(RLIMIT_NOFILE, &saved);
    int accepted = accept(server, NULL, NULL);
    char buffer[8] = {0};
    check("the connection waited in the backlog", accepted >= 0 &&
                                                      read(accepted, buffer, sizeof buffer) == 6 &&
                                                      memcmp(buffer, "queued", 6) == 0);
    close(accepted);
    close(client);
    close(server);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "block") == 0)
        return block_in(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: net_local DIR | family\n");
        return 2;
    }
    if (strcmp(argv[1], "family") == 0) {
        families();
        return 0;
    }
    not_a_socket();
    pass_fds();
    message_boundaries(SOCK_SEQPACKET, "seqpacket");
    message_boundaries(SOCK_DGRAM, "dgram");
    udp_echo();
    tcp_loopback();
    accept_table_full();
    unix_path(argv[1]);
    bad_pointers();
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
