/*
 * herd-launch --serve PARENT: the process supervisor of one worker factory. Compiled into the same
 * binary as herd-launch.c; the JVM starts one per factory, from the factory's launcher thread, and
 * talks to it over its stdin and stdout. It forks every worker's launcher (the code of
 * herd-launch.c's main, without another exec), reads the workers' output with epoll and reaps
 * them, so that the JVM holds one child process and one reader thread however many workers run:
 * every direct child of the JVM costs it a process-reaper thread, and every pipe it reads a pump
 * thread.
 *
 * Frames, both ways: a 4-byte big-endian length of what follows, a 1-byte type, a 4-byte
 * big-endian worker handle (chosen by the JVM), then the payload.
 *   Requests (stdin):
 *     SPAWN  1: u32 argc, argc NUL-terminated strings (herd-launch's arguments, argv[0] first),
 *               u32 envc, envc "NAME=VALUE" NUL-terminated strings, the directory (NUL-terminated,
 *               empty: the supervisor's)
 *     SIGNAL 2: u8 what: 1 = SIGTERM to the launcher (it forwards it to the worker), 2 = kill the
 *               worker's whole tree (PARENT_GONE to the launcher: it SIGKILLs the worker and
 *               every process left in its tree; with --namespaces it dies of it, and the kernel
 *               takes the namespace down with its init)
 *   Events (stdout):
 *     SPAWNED 1: u32 pid of the launcher
 *     FAILED  2: the reason, text (the fork failed; the worker never ran)
 *     OUTPUT  3: u8 stream (1 stdout, 2 stderr), then at most CHUNK bytes the worker wrote
 *     CLOSED  4: u8 stream: that stream ended (the worker and every holder of the pipe are gone)
 *     EXITED  5: i32 the launcher's exit status: its exit code, or 128+N when signal N ended it
 *     READY   6: (handle 0, no payload) sent once at the start: the supervisor runs
 *
 * Fairness and memory: every output pipe is read level-triggered, at most CHUNK bytes per ready
 * pipe per round, so a worker that floods output cannot starve the others; writes to stdout block,
 * so a JVM that reads slowly slows the workers' output down (their pipes fill) instead of growing
 * any buffer here.
 *
 * Lifetime: the parent-death signal (SIGKILL, armed against PARENT) ends it with the JVM; its
 * launchers then get theirs (PARENT_GONE or SIGKILL) and take their workers down. End of file on
 * stdin (the factory is done, or the JVM is gone): it kills every worker's tree, waits for its
 * launchers (at most KILL_WAIT_SECONDS), and exits 0. It is the parent of every launcher and reaps
 * it only here, so a pid it signals cannot have been reused.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv); /* herd-launch.c: what each forked launcher runs */
int herd_serve(int argc, char **argv);

#define REQUEST_SPAWN 1
#define REQUEST_SIGNAL 2
#define EVENT_SPAWNED 1
#define EVENT_FAILED 2
#define EVENT_OUTPUT 3
#define EVENT_CLOSED 4
#define EVENT_EXITED 5
#define EVENT_READY 6
#define SIGNAL_TERM 1
#define SIGNAL_KILL_TREE 2

/* Bytes read from one worker pipe per round, and so the largest OUTPUT payload. */
#define CHUNK 16384
/* The largest request: a SPAWN's arguments and environment. */
#define MAX_REQUEST (4 * 1024 * 1024)
#define KILL_WAIT_SECONDS 10
#define EXIT_SERVE 125

struct worker {
  uint32_t handle;
  pid_t pid;
  int fds[2]; /* read ends of stdout and stderr; -1 once closed */
  int exited;
  int used;
};

static struct worker *workers;
static size_t worker_capacity;
static int epoll_fd;
static unsigned char chunk[CHUNK + 16];

static void die(const char *what) {
  dprintf(STDERR_FILENO, "herd-launch --serve: %s: %s\n", what, strerror(errno));
  _exit(EXIT_SERVE);
}

static void put32(unsigned char *at, uint32_t value) {
  at[0] = (unsigned char) (value >> 24);
  at[1] = (unsigned char) (value >> 16);
  at[2] = (unsigned char) (value >> 8);
  at[3] = (unsigned char) value;
}

static uint32_t get32(const unsigned char *at) {
  return ((uint32_t) at[0] << 24) | ((uint32_t) at[1] << 16) | ((uint32_t) at[2] << 8) | at[3];
}

static void write_all(const unsigned char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(STDOUT_FILENO, data, length);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      _exit(0); /* the JVM is gone; the launchers' parent-death signals do the rest */
    }
    data += n;
    length -= (size_t) n;
  }
}

/* One event frame; payload may be NULL when length is 0. */
static void send_event(int type, uint32_t handle, const void *payload, size_t length) {
  unsigned char header[9];
  put32(header, (uint32_t) (length + 5));
  header[4] = (unsigned char) type;
  put32(header + 5, handle);
  write_all(header, sizeof header);
  if (length > 0) {
    write_all(payload, length);
  }
}

static struct worker *find_handle(uint32_t handle) {
  for (size_t i = 0; i < worker_capacity; i++) {
    if (workers[i].used && workers[i].handle == handle) {
      return &workers[i];
    }
  }
  return NULL;
}

static size_t free_slot(void) {
  for (size_t i = 0; i < worker_capacity; i++) {
    if (!workers[i].used) {
      return i;
    }
  }
  size_t grown = worker_capacity == 0 ? 64 : worker_capacity * 2;
  struct worker *more = realloc(workers, grown * sizeof *more);
  if (more == NULL) {
    die("cannot grow the worker table");
  }
  memset(more + worker_capacity, 0, (grown - worker_capacity) * sizeof *more);
  workers = more;
  size_t slot = worker_capacity;
  worker_capacity = grown;
  return slot;
}

static void release_if_done(struct worker *w) {
  if (w->exited && w->fds[0] < 0 && w->fds[1] < 0) {
    w->used = 0;
  }
}

static void close_stream(struct worker *w, int stream) {
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, w->fds[stream], NULL);
  close(w->fds[stream]);
  w->fds[stream] = -1;
  unsigned char which = (unsigned char) (stream + 1);
  send_event(EVENT_CLOSED, w->handle, &which, 1);
  release_if_done(w);
}

/* Closes every descriptor above stderr: the launcher must not hold the supervisor's pipes. */
static void close_other_fds(void) {
  DIR *fds = opendir("/proc/self/fd");
  if (fds == NULL) {
    for (int fd = 3; fd < 4096; fd++) {
      close(fd);
    }
    return;
  }
  int own = dirfd(fds);
  for (struct dirent *entry = readdir(fds); entry != NULL; entry = readdir(fds)) {
    int fd = atoi(entry->d_name);
    if (fd > 2 && fd != own) {
      close(fd);
    }
  }
  closedir(fds);
}

/* In the forked child: becomes the worker's launcher, as if herd-launch had been exec'ed. */
static void become_launcher(char **argv, int argc, char **env, const char *dir, int out, int err) {
  int null = open("/dev/null", O_RDONLY);
  if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0
      || dup2(err, STDERR_FILENO) < 0) {
    _exit(EXIT_SERVE);
  }
  close_other_fds();
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      signal(sig, SIG_DFL);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0); /* herd-launch's --parent arms its own */
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  if (dir[0] != '\0' && chdir(dir) != 0) {
    dprintf(STDERR_FILENO, "herd-launch: cannot enter directory %s: %s\n", dir, strerror(errno));
    _exit(EXIT_SERVE);
  }
  environ = env;
  _exit(main(argc, argv));
}

/* Splits count NUL-terminated strings from [*at, end) into a NULL-terminated array. */
static char **strings(unsigned char **at, const unsigned char *end, uint32_t count) {
  if (count > MAX_REQUEST) {
    return NULL;
  }
  char **list = calloc((size_t) count + 1, sizeof *list);
  if (list == NULL) {
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    unsigned char *nul = memchr(*at, '\0', (size_t) (end - *at));
    if (nul == NULL) {
      free(list);
      return NULL;
    }
    list[i] = (char *) *at;
    *at = nul + 1;
  }
  return list;
}

/* Whether dir is a directory (else errno says why): checked before the fork, so that a missing
 * one fails the spawn, as a missing directory fails the JDK's ProcessBuilder.start(). */
static int is_directory(const char *dir) {
  struct stat st;
  errno = 0;
  if (stat(dir, &st) != 0) {
    return 0;
  }
  return S_ISDIR(st.st_mode);
}

static void fail_spawn(uint32_t handle, const char *why, int err) {
  char text[4400];
  if (err != 0) {
    snprintf(text, sizeof text, "%s: %s", why, strerror(err));
  } else {
    snprintf(text, sizeof text, "%s", why);
  }
  send_event(EVENT_FAILED, handle, text, strlen(text));
}

/* Forks the launcher of a SPAWN request; returns why it cannot (and sets *err), else NULL. */
static const char *start_launcher(uint32_t handle, char **argv, int argc, char **env,
    const char *dir, int *err) {
  int out[2];
  int errs[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    *err = errno;
    return "cannot create a pipe";
  }
  if (pipe2(errs, O_CLOEXEC) != 0) {
    *err = errno;
    close(out[0]);
    close(out[1]);
    return "cannot create a pipe";
  }
  pid_t pid = fork();
  if (pid == 0) {
    become_launcher(argv, argc, env, dir, out[1], errs[1]);
  }
  *err = errno;
  close(out[1]);
  close(errs[1]);
  if (pid < 0) {
    close(out[0]);
    close(errs[0]);
    return "cannot fork";
  }
  size_t slot = free_slot();
  struct worker *w = &workers[slot];
  w->handle = handle;
  w->pid = pid;
  w->fds[0] = out[0];
  w->fds[1] = errs[0];
  w->exited = 0;
  w->used = 1;
  for (int stream = 0; stream < 2; stream++) {
    fcntl(w->fds[stream], F_SETFL, O_NONBLOCK);
    struct epoll_event event = {.events = EPOLLIN};
    event.data.u64 = ((uint64_t) slot << 1) | (uint64_t) stream;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, w->fds[stream], &event) != 0) {
      die("cannot watch a worker's output");
    }
  }
  unsigned char pid_bytes[4];
  put32(pid_bytes, (uint32_t) pid);
  send_event(EVENT_SPAWNED, handle, pid_bytes, 4);
  return NULL;
}

static void spawn(uint32_t handle, unsigned char *payload, size_t length) {
  unsigned char *at = payload;
  const unsigned char *end = payload + length;
  char **argv = NULL;
  char **env = NULL;
  unsigned char *dir_end = NULL;
  uint32_t argc = 0;
  if (end - at >= 4) {
    argc = get32(at);
    at += 4;
    argv = strings(&at, end, argc);
  }
  if (argv != NULL && argc > 0 && end - at >= 4) {
    uint32_t envc = get32(at);
    at += 4;
    env = strings(&at, end, envc);
    dir_end = env == NULL ? NULL : memchr(at, '\0', (size_t) (end - at));
  }
  if (dir_end == NULL) {
    fail_spawn(handle, "malformed spawn request", 0);
  } else if (find_handle(handle) != NULL) {
    fail_spawn(handle, "worker handle already in use", 0);
  } else if (at[0] != '\0' && !is_directory((const char *) at)) {
    char why[4200];
    snprintf(why, sizeof why, "cannot enter directory %s", (const char *) at);
    fail_spawn(handle, why, errno == 0 ? ENOTDIR : errno);
  } else {
    int err = 0;
    const char *why = start_launcher(handle, argv, (int) argc, env, (const char *) at, &err);
    if (why != NULL) {
      fail_spawn(handle, why, err);
    }
  }
  free(argv);
  free(env);
}

static void signal_worker(uint32_t handle, const unsigned char *payload, size_t length) {
  struct worker *w = find_handle(handle);
  if (w == NULL || w->exited || length < 1) {
    return; /* exited already: its EXITED event is on its way */
  }
  kill(w->pid, payload[0] == SIGNAL_TERM ? SIGTERM : SIGRTMIN /* herd-launch's PARENT_GONE */);
}

static void request(unsigned char *frame, size_t length) {
  if (length < 5) {
    return;
  }
  uint32_t handle = get32(frame + 1);
  if (frame[0] == REQUEST_SPAWN) {
    spawn(handle, frame + 5, length - 5);
  } else if (frame[0] == REQUEST_SIGNAL) {
    signal_worker(handle, frame + 5, length - 5);
  }
}

static void reap(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      return;
    }
    for (size_t i = 0; i < worker_capacity; i++) {
      struct worker *w = &workers[i];
      if (w->used && !w->exited && w->pid == pid) {
        int code = WIFEXITED(status) ? WEXITSTATUS(status)
            : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        unsigned char bytes[4];
        put32(bytes, (uint32_t) code);
        w->exited = 1;
        send_event(EVENT_EXITED, w->handle, bytes, 4);
        release_if_done(w);
        break;
      }
    }
    /* else an orphan re-parented to this subreaper: reaped, nothing to report */
  }
}

/* Reads one chunk of a worker's stream: fairness comes from one chunk per ready pipe per round. */
static void pump(uint64_t key) {
  size_t slot = (size_t) (key >> 1);
  int stream = (int) (key & 1);
  if (slot >= worker_capacity) {
    return;
  }
  struct worker *w = &workers[slot];
  if (!w->used || w->fds[stream] < 0) {
    return; /* closed earlier in this round */
  }
  chunk[0] = (unsigned char) (stream + 1);
  ssize_t n = read(w->fds[stream], chunk + 1, CHUNK);
  if (n > 0) {
    send_event(EVENT_OUTPUT, w->handle, chunk, (size_t) n + 1);
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    close_stream(w, stream);
  }
}

/*
 * End of the JVM's requests: every worker's tree is killed, and the launchers reaped. The output
 * pipes are closed first (a worker still writing gets SIGPIPE), so that only SIGCHLD wakes this.
 */
static void finish(int signals) {
  for (size_t i = 0; i < worker_capacity; i++) {
    struct worker *w = &workers[i];
    for (int stream = 0; stream < 2 && w->used; stream++) {
      if (w->fds[stream] >= 0) {
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, w->fds[stream], NULL);
        close(w->fds[stream]);
        w->fds[stream] = -1;
      }
    }
    if (w->used && !w->exited) {
      kill(w->pid, SIGRTMIN);
    }
  }
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) {
      _exit(0); /* ECHILD: every launcher is gone */
    }
    if (pid > 0) {
      continue;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= KILL_WAIT_SECONDS) {
      _exit(0);
    }
    struct epoll_event event;
    struct signalfd_siginfo info;
    if (epoll_wait(epoll_fd, &event, 1, 100) > 0) { /* SIGCHLD, or 100 ms */
      while (read(signals, &info, sizeof info) > 0) {
      }
    }
  }
}

int herd_serve(int argc, char **argv) {
  if (argc != 3) {
    dprintf(STDERR_FILENO, "usage: herd-launch --serve PARENT-PID\n");
    return EXIT_SERVE;
  }
  long parent = strtol(argv[2], NULL, 10);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    die("cannot set the parent-death signal");
  }
  if (getppid() != (pid_t) parent) {
    dprintf(STDERR_FILENO, "herd-launch --serve: parent process %ld is gone\n", parent);
    return EXIT_SERVE;
  }
  /* A session of its own: a terminal's Ctrl-C, Ctrl-\\ and hang-up go to the gateway's process
   * group, and the gateway stops the workers gracefully; the supervisor must not die of them
   * first (and take every worker with it). */
  if (setsid() < 0) {
    die("cannot start a session of its own");
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    die("cannot become a child subreaper");
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t child;
  sigemptyset(&child);
  sigaddset(&child, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &child, NULL) != 0) {
    die("cannot block SIGCHLD");
  }
  int signals = signalfd(-1, &child, SFD_CLOEXEC | SFD_NONBLOCK);
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (signals < 0 || epoll_fd < 0) {
    die("cannot create the event descriptors");
  }
  struct epoll_event event = {.events = EPOLLIN};
  event.data.u64 = UINT64_MAX;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, signals, &event) != 0) {
    die("cannot watch SIGCHLD");
  }
  event.data.u64 = UINT64_MAX - 1;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, STDIN_FILENO, &event) != 0) {
    die("cannot watch stdin");
  }
  fcntl(STDIN_FILENO, F_SETFD, FD_CLOEXEC);
  fcntl(STDOUT_FILENO, F_SETFD, FD_CLOEXEC);

  send_event(EVENT_READY, 0, NULL, 0);
  size_t capacity = 65536;
  size_t filled = 0;
  unsigned char *input = malloc(capacity);
  if (input == NULL) {
    die("cannot allocate the request buffer");
  }
  struct epoll_event ready[64];
  for (;;) {
    int count = epoll_wait(epoll_fd, ready, 64, -1);
    if (count < 0) {
      if (errno == EINTR) {
        continue;
      }
      die("cannot wait for events");
    }
    for (int i = 0; i < count; i++) {
      uint64_t key = ready[i].data.u64;
      if (key == UINT64_MAX) {
        struct signalfd_siginfo info;
        while (read(signals, &info, sizeof info) > 0) {
        }
        reap();
      } else if (key == UINT64_MAX - 1) {
        if (filled == capacity) {
          die("request too large");
        }
        ssize_t n = read(STDIN_FILENO, input + filled, capacity - filled);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
          epoll_ctl(epoll_fd, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
          finish(signals);
        }
        if (n > 0) {
          filled += (size_t) n;
          size_t used = 0;
          while (filled - used >= 4) {
            size_t length = get32(input + used);
            if (length > MAX_REQUEST) {
              errno = EMSGSIZE;
              die("request too large");
            }
            if (filled - used - 4 < length) {
              if (length + 4 > capacity) {
                capacity = length + 4;
                unsigned char *bigger = realloc(input, capacity);
                if (bigger == NULL) {
                  die("cannot grow the request buffer");
                }
                input = bigger;
              }
              break;
            }
            request(input + used + 4, length);
            used += 4 + length;
          }
          memmove(input, input + used, filled - used);
          filled -= used;
        }
      } else {
        pump(key);
      }
    }
  }
}
