/*
 * idle-worker: the smallest worker for tests that start many (a JVM per worker would swamp the
 * machine). A static binary (compiled by io.herd.testkit.StaticBinary).
 *
 * Listens on 127.0.0.1:$PORT and answers every request 200 "ok" (one request per connection).
 * SIGTERM: with $STAMP_DIR set, writes CLOCK_MONOTONIC nanoseconds (one clock for every process of
 * the machine) to $STAMP_DIR/$PORT.term, waits $STOP_DELAY_MS milliseconds, writes the time again
 * to $STAMP_DIR/$PORT.exit and exits 0. With $IGNORE_TERM=1 it ignores SIGTERM.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t terminated;

static void on_term(int sig) {
  (void) sig;
  terminated = 1;
}

static void stamp(const char *dir, const char *port, const char *what) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.%s", dir, port, what);
  char text[64];
  int length = snprintf(text, sizeof text, "%lld\n",
      (long long) now.tv_sec * 1000000000LL + now.tv_nsec);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    if (write(fd, text, (size_t) length) != length) {
      perror("idle-worker: stamp");
    }
    close(fd);
  }
}

int main(void) {
  const char *port = getenv("PORT");
  const char *dir = getenv("STAMP_DIR");
  const char *delay = getenv("STOP_DELAY_MS");
  const char *ignore = getenv("IGNORE_TERM");
  if (port == NULL) {
    fprintf(stderr, "idle-worker: no $PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = ignore != NULL && strcmp(ignore, "1") == 0 ? SIG_IGN : on_term;
  sigaction(SIGTERM, &action, NULL); /* no SA_RESTART: accept() returns EINTR */

  int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short) atoi(port))};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(server, (struct sockaddr *) &address, sizeof address) != 0 || listen(server, 64) != 0) {
    perror("idle-worker: bind/listen");
    return 1;
  }
  printf("idle-worker: listening on %s\n", port);
  fflush(stdout);
  while (!terminated) {
    int client = accept(server, NULL, NULL);
    if (client < 0) {
      continue;
    }
    char request[4096];
    ssize_t n = read(client, request, sizeof request); /* the request line and headers */
    (void) n;
    static const char answer[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    if (write(client, answer, sizeof answer - 1) < 0) {
      perror("idle-worker: write");
    }
    close(client);
  }
  if (dir != NULL) {
    stamp(dir, port, "term");
    long millis = delay != NULL ? atol(delay) : 0;
    struct timespec pause = {millis / 1000, (millis % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0) {
    }
    stamp(dir, port, "exit");
  }
  return 0;
}
