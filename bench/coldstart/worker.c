/*
 * The cold-start benchmark's worker: the smallest HTTP server that can stand in for a real one.
 *
 * Usage: worker PORT [any]
 *
 * Listens on 127.0.0.1:PORT (0.0.0.0:PORT with "any", for an isolated network without the
 * firewall's DNAT to 127.0.0.1, as before it existed), single-threaded, one connection at a time. GET /health answers
 * 200; anything else answers 404. Every answer closes the connection. It starts in well under a
 * millisecond, so that what bench/cold-start.sh measures on top of it is the cost of whoever
 * starts it and waits for it, not the worker's own start-up. SIGTERM ends it at once (default
 * disposition); stdin, stdout and stderr are not used.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char OK[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
    "Connection: close\r\n\r\nok\n";
static const char NOT_FOUND[] =
    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
    "Connection: close\r\n\r\nnot found\n";

/* Reads until the end of the request head (or 4 KiB); returns bytes read, or -1. */
static ssize_t read_head(int fd, char *buf, size_t cap) {
  size_t len = 0;
  while (len < cap - 1) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return len > 0 ? (ssize_t)len : -1;
    len += (size_t)n;
    buf[len] = '\0';
    if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n")) break;
  }
  return (ssize_t)len;
}

static void write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    len -= (size_t)n;
  }
}

int main(int argc, char **argv) {
  if (argc != 2 && !(argc == 3 && strcmp(argv[2], "any") == 0)) {
    fprintf(stderr, "usage: %s PORT [any]\n", argv[0]);
    return 2;
  }
  char *end;
  long port = strtol(argv[1], &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) {
    fprintf(stderr, "worker: invalid port: %s (expected: 1-65535)\n", argv[1]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);

  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(argc == 3 ? INADDR_ANY : INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)port);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 128) != 0) {
    fprintf(stderr, "worker: cannot listen on port %ld: %s\n", port, strerror(errno));
    return 1;
  }

  char buf[4096];
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (read_head(fd, buf, sizeof buf) > 0) {
      int health = strncmp(buf, "GET /health ", 12) == 0 || strncmp(buf, "GET /health?", 12) == 0;
      if (health) {
        write_all(fd, OK, sizeof OK - 1);
      } else {
        write_all(fd, NOT_FOUND, sizeof NOT_FOUND - 1);
      }
    }
    close(fd);
  }
}
