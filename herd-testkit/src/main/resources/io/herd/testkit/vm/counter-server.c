/*
 * counter-server: the app that herd-vm's tests boot inside a microVM. A static binary (compiled
 * by io.herd.testkit.StaticBinary), so it runs on an image holding nothing else.
 *
 *   counter-server [PORT]      PORT defaults to $PORT, then 8080
 *
 * HTTP/1.1, one request per connection (Connection: close); a request may arrive in several TCP
 * segments. Routes:
 *   GET /health      200 "ok"
 *   GET /count       increments an in-memory counter: "n=<n> pid=<pid> boot=<id>", where id was
 *                    drawn from getrandom() at start (a clone of a snapshot keeps it)
 *   GET /random      16 fresh random bytes from getrandom(), as hex
 *   GET /time        the guest's clock, epoch seconds
 *   GET /monotonic   CLOCK_MONOTONIC in nanoseconds (to compare the guest's clock rate)
 *   GET /env/<NAME>  the value of environment variable NAME (404 if unset)
 *   GET /cwd         the working directory
 *   GET /id          "uid=<uid> gid=<gid>"
 *   GET /exit/<code> answers, then exits with that code
 * At start it prints "counter-server: listening on <port>" to stdout.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void answer(int client, int status, const char *body) {
  char response[8192];
  int length = snprintf(response, sizeof response,
                        "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                        "Connection: close\r\n\r\n%s",
                        status, status == 200 ? "OK" : "Not Found", strlen(body), body);
  for (int sent = 0; sent < length;) {
    ssize_t n = write(client, response + sent, (size_t)(length - sent));
    if (n <= 0) return;
    sent += (int)n;
  }
}

static void hex(const unsigned char *bytes, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", bytes[i]);
}

int main(int argc, char **argv) {
  const char *port_text = argc > 1 ? argv[1] : getenv("PORT");
  int port = port_text != NULL ? atoi(port_text) : 8080;
  signal(SIGPIPE, SIG_IGN);
  unsigned char boot_bytes[8];
  char boot[17];
  if (getrandom(boot_bytes, sizeof boot_bytes, 0) != sizeof boot_bytes) return 1;
  hex(boot_bytes, sizeof boot_bytes, boot);

  int server = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  if (bind(server, (struct sockaddr *)&address, sizeof address) != 0 || listen(server, 64) != 0) {
    perror("counter-server: bind/listen");
    return 1;
  }
  printf("counter-server: listening on %d\n", port);
  fflush(stdout);

  unsigned long count = 0;
  for (;;) {
    int client = accept(server, NULL, NULL);
    if (client < 0) continue;
    char request[4096];
    size_t length = 0;
    while (length < sizeof request - 1) { /* until the end of the header block */
      ssize_t n = read(client, request + length, sizeof request - 1 - length);
      if (n <= 0) break;
      length += (size_t)n;
      request[length] = '\0';
      if (strstr(request, "\r\n\r\n") != NULL || strstr(request, "\n\n") != NULL) break;
    }
    request[length] = '\0';
    char path[1024] = "";
    if (sscanf(request, "GET %1023s", path) != 1) {
      answer(client, 404, "only GET\n");
      close(client);
      continue;
    }
    char body[4096];
    int exit_code = -1;
    if (strcmp(path, "/health") == 0) {
      answer(client, 200, "ok");
    } else if (strcmp(path, "/count") == 0) {
      snprintf(body, sizeof body, "n=%lu pid=%d boot=%s", ++count, (int)getpid(), boot);
      answer(client, 200, body);
    } else if (strcmp(path, "/random") == 0) {
      unsigned char bytes[16];
      if (getrandom(bytes, sizeof bytes, 0) != sizeof bytes) return 1;
      hex(bytes, sizeof bytes, body);
      answer(client, 200, body);
    } else if (strcmp(path, "/time") == 0) {
      snprintf(body, sizeof body, "%lld", (long long)time(NULL));
      answer(client, 200, body);
    } else if (strcmp(path, "/monotonic") == 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      snprintf(body, sizeof body, "%lld", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
      answer(client, 200, body);
    } else if (strncmp(path, "/env/", 5) == 0) {
      const char *value = getenv(path + 5);
      answer(client, value != NULL ? 200 : 404, value != NULL ? value : "unset");
    } else if (strcmp(path, "/cwd") == 0) {
      answer(client, 200, getcwd(body, sizeof body) != NULL ? body : "?");
    } else if (strcmp(path, "/id") == 0) {
      snprintf(body, sizeof body, "uid=%d gid=%d", (int)getuid(), (int)getgid());
      answer(client, 200, body);
    } else if (strncmp(path, "/exit/", 6) == 0) {
      exit_code = atoi(path + 6);
      answer(client, 200, "bye");
    } else {
      answer(client, 404, "no such route");
    }
    close(client);
    if (exit_code >= 0) {
      printf("counter-server: exiting with %d\n", exit_code);
      fflush(stdout);
      return exit_code;
    }
  }
}
