/*
 * unix_names.c — the names AF_UNIX sockets give back: after chdir(DIR), a
 * stream socket bound with a relative name and a datagram pair with an
 * absolute one (DIR/...), then getsockname, getpeername, accept's and
 * recvfrom's and recvmsg's addresses. Natively each is the string bound;
 * the monitor binds others for the host (the program's cwd is not its
 * own, nor is --root's /), and must give the program's back.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"

static socklen_t set_name(struct sockaddr_un *address, const char *path)
{
    memset(address, 0, sizeof(*address));
    address->sun_family = AF_UNIX;
    snprintf(address->sun_path, sizeof(address->sun_path), "%s", path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static void show(const char *what, const struct sockaddr_un *address, socklen_t length)
{
    size_t offset = offsetof(struct sockaddr_un, sun_path);
    if (length <= offset)
        printf("%s: unnamed (length %u)\n", what, (unsigned)length);
    else
        printf("%s: \"%s\" (length: the name's + %d)\n", what, address->sun_path,
               (int)length - (int)strlen(address->sun_path));
}

static void stream_names(void)
{
    struct sockaddr_un address, got;
    socklen_t length = set_name(&address, "stream-sock");
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    check("bind a relative name", bind(server, (struct sockaddr *)&address, length) == 0);
    check("listen", listen(server, 1) == 0);
    socklen_t got_length = sizeof(got);
    check("getsockname", getsockname(server, (struct sockaddr *)&got, &got_length) == 0);
    show("server's name", &got, got_length);
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    check("connect", connect(client, (struct sockaddr *)&address, length) == 0);
    got_length = sizeof(got);
    check("getpeername", getpeername(client, (struct sockaddr *)&got, &got_length) == 0);
    show("client's peer", &got, got_length);
    got_length = sizeof(got);
    int accepted = accept(server, (struct sockaddr *)&got, &got_length);
    check("accept", accepted >= 0);
    show("accepted peer", &got, got_length);
    got_length = sizeof(got);
    check("getsockname of the accepted",
          getsockname(accepted, (struct sockaddr *)&got, &got_length) == 0);
    show("accepted's name", &got, got_length);
    close(accepted);
    close(client);
    close(server);
    unlink("stream-sock");
}

static void datagram_names(const char *dir)
{
    char path[200];
    struct sockaddr_un server_address, client_address, got;
    snprintf(path, sizeof(path), "%s/dgram-server", dir);
    socklen_t server_length = set_name(&server_address, path);
    snprintf(path, sizeof(path), "%s/dgram-client", dir);
    socklen_t client_length = set_name(&client_address, path);
    int server = socket(AF_UNIX, SOCK_DGRAM, 0);
    int client = socket(AF_UNIX, SOCK_DGRAM, 0);
    check("bind the server", bind(server, (struct sockaddr *)&server_address, server_length) == 0);
    check("bind the client", bind(client, (struct sockaddr *)&client_address, client_length) == 0);
    check("sendto",
          sendto(client, "one", 3, 0, (struct sockaddr *)&server_address, server_length) == 3);
    char buffer[8];
    socklen_t got_length = sizeof(got);
    check("recvfrom",
          recvfrom(server, buffer, sizeof(buffer), 0, (struct sockaddr *)&got, &got_length) == 3);
    show("recvfrom's sender", &got, got_length);
    check("send again",
          sendto(client, "two", 3, 0, (struct sockaddr *)&server_address, server_length) == 3);
    struct iovec io = {buffer, sizeof(buffer)};
    struct msghdr message = {
        .msg_name = &got, .msg_namelen = sizeof(got), .msg_iov = &io, .msg_iovlen = 1};
    check("recvmsg", recvmsg(server, &message, 0) == 3);
    show("recvmsg's sender", &got, message.msg_namelen);
    close(client);
    close(server);
    unlink(server_address.sun_path);
    unlink(client_address.sun_path);
}

int main(int argc, char **argv)
{
    if (argc < 2 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: unix_names DIR (an existing directory)\n");
        return 2;
    }
    stream_names();
    datagram_names(argv[1]);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
