/*
 * herd-launch: starts one Herd worker process in its sandbox, with one exec instead of the
 * util-linux chain (setpriv, sh, nsenter, unshare, setpriv). Built and packaged by herd-core's
 * Maven build (statically linked), extracted at run time by io.herd.core.sandbox.LauncherBinary.
 *
 *   herd-launch [--parent PID] [--setsid] [--cgroup FILE]... [--netns FILE]
 *               [--namespaces [--tmp DIR] [--keep PATH]...] [--uid UID --gid GID] [--drop-caps]
 *               [--no-new-privs] [--chdir DIR] -- PROGRAM [ARG]...
 *   herd-launch --serve PARENT-PID   (a factory's process supervisor: see herd-serve.c)
 *
 * Steps, in order, each only when its flag is given:
 *   1. --setsid: a session and process group of its own, so that a terminal's Ctrl-C reaches the
 *      gateway only.
 *   2. --parent: the parent-death signal (SIGKILL with --namespaces, else PARENT_GONE, which
 *      step 5 catches), then exit at once if the parent (the JVM) is already gone.
 *   3. --cgroup: writes its pid to each cgroup.procs file, before any worker code runs.
 *   4. --netns: setns() into that network namespace file.
 *   5. --namespaces: unshare PID, IPC and mount namespaces and fork. The child is PID 1 of the new
 *      PID namespace and a minimal init: mounts become private, a fresh /proc is mounted, --tmp DIR
 *      is bound on /tmp and /var/tmp, /dev/shm and /run get a fresh tmpfs (and /dev/mqueue a
 *      fresh mqueue), and each --keep PATH those hid (the worker's directory under /tmp, say)
 *      is bound back read-only; then it forks the worker, forwards SIGTERM, SIGINT, SIGHUP,
 *      SIGQUIT, SIGUSR1 and SIGUSR2 to it, reaps every zombie and exits with the worker's status.
 *      This process (the one the JVM holds) forwards the same signals to the init and exits with
 *      its status. SIGKILL of this process kills the init (its parent-death signal), and the
 *      kernel then kills the whole namespace.
 *      Without --namespaces: this process becomes the child subreaper of the worker's tree (every
 *      orphan in it, double-forked daemons included, becomes its child instead of the host
 *      init's) and forks the worker; it forwards the same signals to the worker and reaps every
 *      zombie. Once the worker has exited, or on PARENT_GONE (then after SIGKILL to the worker),
 *      it SIGKILLs every process left in that tree, child by child as each generation becomes
 *      its child, until none is left, and then exits with the worker's status. SIGKILL of this
 *      process kills the worker (its parent-death signal), not what the worker started.
 *   6. The worker (a child of this process or of the init): setsid again, drops the
 *      capability bounding set and the ambient capabilities (--drop-caps), leaves every
 *      supplementary group and takes GID and UID (--gid, --uid), empties the kernel keyrings
 *      that UID keeps from earlier workers and joins a session keyring of its own (not the
 *      gateway's), clears every remaining capability, sets no_new_privs (--no-new-privs), arms
 *      the parent-death signal (SIGKILL when its parent dies; after the credential change, which
 *      would clear it), changes directory (--chdir), gives every signal its default action and
 *      an empty mask, and execs PROGRAM with the environment it was given.
 *
 * Exit status: the worker's own exit code, or 128+N when signal N ended it. Failures before the
 * exec print one line "herd-launch: <what>: <errno text>" to stderr and exit 125 (a sandbox step
 * failed), 126 (PROGRAM cannot be executed) or 127 (PROGRAM not found).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SETUP 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127
#define MAX_CGROUPS 16
#define MAX_KEPT 16

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

static const int FORWARDED[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define FORWARDED_COUNT ((int) (sizeof(FORWARDED) / sizeof(FORWARDED[0])))

/*
 * The parent-death signal of the launcher without --namespaces: one it can catch (it is never
 * forwarded), so that it kills the worker's whole tree before it dies. A real-time signal, not a
 * constant with glibc.
 */
#define PARENT_GONE (SIGRTMIN)

/* How long the launcher keeps killing what the worker left before it gives up and exits. */
#define KILL_SECONDS 10

struct options {
  long parent;
  int setsid;
  const char *cgroups[MAX_CGROUPS];
  int cgroup_count;
  const char *netns;
  int namespaces;
  const char *tmp;
  const char *kept[MAX_KEPT];
  int kept_count;
  long uid;
  long gid;
  int drop_caps;
  int no_new_privs;
  const char *chdir;
  char **argv;
};

/* The signal mask the launcher was started with: what the worker gets back before its exec. */
static sigset_t original_mask;

static void fail(int status, int err, const char *format, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

static void fail(int status, int err, const char *format, ...) {
  char what[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(what, sizeof what, format, args);
  va_end(args);
  if (err != 0) {
    dprintf(STDERR_FILENO, "herd-launch: %s: %s\n", what, strerror(err));
  } else {
    dprintf(STDERR_FILENO, "herd-launch: %s\n", what);
  }
  _exit(status);
}

static long number(const char *flag, const char *text) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0) {
    fail(EXIT_SETUP, 0, "%s needs a non-negative number, got '%s'", flag, text);
  }
  return value;
}

static void parse(int argc, char **argv, struct options *o) {
  memset(o, 0, sizeof *o);
  o->parent = -1;
  o->uid = -1;
  o->gid = -1;
  int i = 1;
  for (; i < argc; i++) {
    const char *flag = argv[i];
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    int takes_value = 1;
    if (strcmp(flag, "--") == 0) {
      i++;
      break;
    } else if (strcmp(flag, "--setsid") == 0) {
      o->setsid = 1;
      takes_value = 0;
    } else if (strcmp(flag, "--namespaces") == 0) {
      o->namespaces = 1;
      takes_value = 0;
    } else if (strcmp(flag, "--drop-caps") == 0) {
      o->drop_caps = 1;
      takes_value = 0;
    } else if (strcmp(flag, "--no-new-privs") == 0) {
      o->no_new_privs = 1;
      takes_value = 0;
    } else if (value == NULL) {
      fail(EXIT_SETUP, 0, "unknown flag or missing value: %s", flag);
    } else if (strcmp(flag, "--parent") == 0) {
      o->parent = number(flag, value);
    } else if (strcmp(flag, "--cgroup") == 0) {
      if (o->cgroup_count == MAX_CGROUPS) {
        fail(EXIT_SETUP, 0, "more than %d --cgroup files", MAX_CGROUPS);
      }
      o->cgroups[o->cgroup_count++] = value;
    } else if (strcmp(flag, "--netns") == 0) {
      o->netns = value;
    } else if (strcmp(flag, "--tmp") == 0) {
      o->tmp = value;
    } else if (strcmp(flag, "--keep") == 0) {
      if (o->kept_count == MAX_KEPT) {
        fail(EXIT_SETUP, 0, "more than %d --keep paths", MAX_KEPT);
      }
      if (value[0] != '/') {
        fail(EXIT_SETUP, 0, "--keep needs an absolute path, got '%s'", value);
      }
      o->kept[o->kept_count++] = value;
    } else if (strcmp(flag, "--uid") == 0) {
      o->uid = number(flag, value);
    } else if (strcmp(flag, "--gid") == 0) {
      o->gid = number(flag, value);
    } else if (strcmp(flag, "--chdir") == 0) {
      o->chdir = value;
    } else {
      fail(EXIT_SETUP, 0, "unknown flag: %s", flag);
    }
    i += takes_value;
  }
  if (i >= argc) {
    fail(EXIT_SETUP, 0, "no program to run (usage: herd-launch [flags] -- PROGRAM [ARG]...)");
  }
  if ((o->uid < 0) != (o->gid < 0)) {
    fail(EXIT_SETUP, 0, "--uid and --gid go together");
  }
  if ((o->tmp != NULL || o->kept_count > 0) && !o->namespaces) {
    fail(EXIT_SETUP, 0, "--tmp and --keep need --namespaces (a private mount namespace)");
  }
  o->argv = argv + i;
}

/* Arms the parent-death signal and makes sure the parent it refers to is still there. */
static void arm_parent_death(int sig, long expected_parent) {
  if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0) {
    fail(EXIT_SETUP, errno, "cannot set the parent-death signal");
  }
  if (expected_parent >= 0 && getppid() != (pid_t) expected_parent) {
    /* The parent died before the signal was armed: nobody is waiting for this worker. */
    fail(EXIT_SETUP, 0, "parent process %ld is gone (now %ld)", expected_parent, (long) getppid());
  }
}

static void join_cgroups(const struct options *o) {
  char pid[32];
  int length = snprintf(pid, sizeof pid, "%ld\n", (long) getpid());
  for (int i = 0; i < o->cgroup_count; i++) {
    int fd = open(o->cgroups[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      fail(EXIT_SETUP, errno, "cannot join cgroup %s", o->cgroups[i]);
    }
    if (write(fd, pid, (size_t) length) != length) {
      fail(EXIT_SETUP, errno, "cannot join cgroup %s", o->cgroups[i]);
    }
    close(fd);
  }
}

static void enter_network(const char *file) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail(EXIT_SETUP, errno, "cannot open network namespace %s", file);
  }
  if (setns(fd, CLONE_NEWNET) != 0) {
    fail(EXIT_SETUP, errno, "cannot enter network namespace %s", file);
  }
  close(fd);
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Whether path is a directory, not a link to one. */
static int is_directory(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether path is a directory, not a link to one, that everybody may write. */
static int is_shared_directory(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & S_IWOTH) != 0;
}

static void mount_tmpfs(const char *target, const char *options, unsigned long flags) {
  if (mount("tmpfs", target, "tmpfs", flags, options) != 0) {
    fail(EXIT_SETUP, errno, "cannot mount a fresh %s", target);
  }
}

/*
 * The host's runtime directories, /run and /var/run where it is a directory of its own rather
 * than the usual link to /run: they hold the sockets of the host's services (a database, D-Bus,
 * journald, systemd-resolved), which no network namespace keeps a worker from connecting to,
 * a container's secrets (/run/secrets, a Kubernetes service account token) and /run/lock, which
 * everybody may write (workers would pass files to each other there, and leave them, owned by
 * their UID, for its next worker). Each gets an empty tmpfs, /run with an empty /run/lock that
 * everybody may write; /var/lock, where it is such a directory rather than a link into /run,
 * gets one too. What the worker's command needs there comes back read-only through --keep.
 */
static void hide_runtime_directories(void) {
  static const char *const runtime[] = {"/run", "/var/run"};
  for (size_t i = 0; i < sizeof runtime / sizeof runtime[0]; i++) {
    if (is_directory(runtime[i])) {
      mount_tmpfs(runtime[i], "mode=0755", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    }
  }
  if (is_directory("/run")
      && ((mkdir("/run/lock", 01777) != 0 && errno != EEXIST) || chmod("/run/lock", 01777) != 0)) {
    fail(EXIT_SETUP, errno, "cannot create /run/lock");
  }
  if (is_shared_directory("/var/lock")) {
    mount_tmpfs("/var/lock", "mode=1777", MS_NOSUID | MS_NODEV | MS_NOEXEC);
  }
}

static void bind_private(const char *source, const char *target) {
  if (mount(source, target, NULL, MS_BIND, NULL) != 0) {
    fail(EXIT_SETUP, errno, "cannot bind %s on %s", source, target);
  }
  if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, NULL) != 0) {
    fail(EXIT_SETUP, errno, "cannot make %s nosuid,nodev", target);
  }
}

/* Creates every missing directory of path (not path itself), root-owned, mode 0755. */
static void make_parents(const char *path) {
  char buffer[4096];
  if (strlen(path) >= sizeof buffer) {
    fail(EXIT_SETUP, 0, "path too long: %s", path);
  }
  strcpy(buffer, path);
  for (char *slash = strchr(buffer + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    if (mkdir(buffer, 0755) != 0 && errno != EEXIST) {
      fail(EXIT_SETUP, errno, "cannot create %s", buffer);
    }
    *slash = '/';
  }
}

/*
 * Makes the host's path visible again, read-only, after a private mount hid it: fd was opened on
 * it (O_PATH) before, and is bound through /proc/self/fd onto a mount point made at the same path.
 */
static void bind_kept(const char *path, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    fail(EXIT_SETUP, errno, "cannot stat %s", path);
  }
  struct stat now;
  if (stat(path, &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino) {
    close(fd); /* already visible, e.g. through a kept directory that holds it */
    return;
  }
  make_parents(path);
  if (S_ISDIR(st.st_mode)) {
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
      fail(EXIT_SETUP, errno, "cannot create the mount point %s", path);
    }
  } else {
    int point = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (point < 0) {
      fail(EXIT_SETUP, errno, "cannot create the mount point %s", path);
    }
    close(point);
  }
  char source[64];
  snprintf(source, sizeof source, "/proc/self/fd/%d", fd);
  if (mount(source, path, NULL, MS_BIND | MS_REC, NULL) != 0) {
    fail(EXIT_SETUP, errno, "cannot keep %s visible", path);
  }
  if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL)
      != 0) {
    fail(EXIT_SETUP, errno, "cannot make %s read-only", path);
  }
  close(fd);
}

/*
 * The init's view of the file system: private mounts, its own /proc, /tmp, /var/tmp, /dev/shm.
 * The --keep paths (a worker's directory or files under /tmp, say) are opened before the private
 * mounts hide them and bound back, read-only, at the same paths.
 */
static void set_up_mounts(const struct options *o) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    fail(EXIT_SETUP, errno, "cannot make the mounts private");
  }
  int kept[MAX_KEPT];
  for (int i = 0; i < o->kept_count; i++) {
    kept[i] = open(o->kept[i], O_PATH | O_CLOEXEC);
    if (kept[i] < 0) {
      fail(EXIT_SETUP, errno, "cannot open %s", o->kept[i]);
    }
  }
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
    fail(EXIT_SETUP, errno, "cannot mount a fresh /proc");
  }
  if (o->tmp != NULL) {
    bind_private(o->tmp, "/tmp");
    if (exists("/var/tmp")) {
      bind_private(o->tmp, "/var/tmp");
    }
  }
  if (exists("/dev/shm")
      && mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) {
    fail(EXIT_SETUP, errno, "cannot mount a fresh /dev/shm");
  }
  hide_runtime_directories();
  /* The host's POSIX message queues: the mount belongs to the host's IPC namespace. */
  if (exists("/dev/mqueue")
      && mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
    fail(EXIT_SETUP, errno, "cannot mount the IPC namespace's own /dev/mqueue");
  }
  for (int i = 0; i < o->kept_count; i++) {
    bind_kept(o->kept[i], kept[i]);
  }
}

/* Drops every capability for good; called while still root, before the UID change. */
static void drop_bounding_and_ambient(void) {
  for (int cap = 0; cap < 64; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) {
        break; /* past the kernel's last capability */
      }
      fail(EXIT_SETUP, errno, "cannot drop capability %d from the bounding set", cap);
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    fail(EXIT_SETUP, errno, "cannot clear the ambient capabilities");
  }
}

static void clear_capabilities(void) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &header, data) != 0) {
    fail(EXIT_SETUP, errno, "cannot clear the capability sets");
  }
}

/*
 * Gives every signal its default action. A JVM started from a non-interactive shell's background
 * job ignores SIGINT and SIGQUIT, and exec keeps ignored signals ignored: without this a worker
 * (a Python REPL's KeyboardInterrupt, say) would inherit the gateway's accident.
 */
static void reset_signal_dispositions(void) {
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) {
      continue;
    }
    signal(sig, SIG_DFL); /* fails harmlessly for the signals the C library reserves */
  }
}

static long keyctl(int operation, unsigned long a, unsigned long b) {
  return syscall(SYS_keyctl, operation, a, b, 0UL, 0UL);
}

/*
 * Whether a keyctl error means that this process has no kernel keyrings to use (not built into
 * the kernel, or refused by a seccomp filter or an LSM, as in Docker's default profile): then
 * the worker cannot use them either, and there is nothing to clear.
 */
static int no_keyrings(int err) {
  return err == ENOSYS || err == EOPNOTSUPP || err == EPERM;
}

/* What the kernel gives a new user keyring: every right but setattr for its possessor and owner. */
#define USER_KEYRING_PERM 0x1f3f0000

static void clear_keyring(unsigned long keyring, const char *what) {
  if (keyctl(KEYCTL_CLEAR, keyring, 0) == 0) {
    return;
  }
  if (errno == EACCES) {
    /* A previous worker under this UID took the right to write it away: it owns it, so do we. */
    keyctl(KEYCTL_SETPERM, keyring, USER_KEYRING_PERM);
    if (keyctl(KEYCTL_CLEAR, keyring, 0) == 0) {
      return;
    }
  }
  if (!no_keyrings(errno)) {
    fail(EXIT_SETUP, errno, "cannot clear the %s keyring of uid %ld", what, (long) getuid());
  }
}

/*
 * Kernel keyrings outlive processes: a UID's user, user-session and persistent keyrings keep
 * what a worker put there after it exited, for the next worker leased the same UID to read; and
 * the session keyring is inherited through the UID change, with every right its possessor has,
 * so without a new one every worker would share the gateway's (reading and adding keys there).
 * Called as the worker's UID: empties the UID's keyrings and joins a new session keyring.
 */
static void fresh_keyrings(void) {
  clear_keyring((unsigned long) KEY_SPEC_USER_KEYRING, "user");
  clear_keyring((unsigned long) KEY_SPEC_USER_SESSION_KEYRING, "user-session");
  if (keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0) < 0) {
    if (no_keyrings(errno)) {
      return;
    }
    fail(EXIT_SETUP, errno, "cannot start a session keyring of its own");
  }
  long persistent = keyctl(KEYCTL_GET_PERSISTENT, (unsigned long) (uid_t) -1,
      (unsigned long) KEY_SPEC_SESSION_KEYRING);
  if (persistent < 0) {
    if (!no_keyrings(errno)) {
      fail(EXIT_SETUP, errno, "cannot find the persistent keyring of uid %ld", (long) getuid());
    }
    return;
  }
  clear_keyring((unsigned long) persistent, "persistent");
  keyctl(KEYCTL_UNLINK, (unsigned long) persistent, (unsigned long) KEY_SPEC_SESSION_KEYRING);
}

/* Step 6: becomes the worker. Never returns. */
static void exec_worker(const struct options *o, long expected_parent) {
  if (o->drop_caps) {
    drop_bounding_and_ambient();
  }
  if (o->uid >= 0) {
    if (setgroups(0, NULL) != 0) {
      fail(EXIT_SETUP, errno, "cannot leave the supplementary groups");
    }
    if (setresgid((gid_t) o->gid, (gid_t) o->gid, (gid_t) o->gid) != 0) {
      fail(EXIT_SETUP, errno, "cannot switch to gid %ld", o->gid);
    }
    if (setresuid((uid_t) o->uid, (uid_t) o->uid, (uid_t) o->uid) != 0) {
      fail(EXIT_SETUP, errno, "cannot switch to uid %ld", o->uid);
    }
    fresh_keyrings();
  }
  if (o->drop_caps) {
    clear_capabilities();
  }
  if (o->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fail(EXIT_SETUP, errno, "cannot set no_new_privs");
  }
  arm_parent_death(SIGKILL, expected_parent); /* a credential change cleared it */
  if (o->chdir != NULL && chdir(o->chdir) != 0) {
    fail(EXIT_SETUP, errno, "cannot enter directory %s as uid %ld", o->chdir, (long) getuid());
  }
  reset_signal_dispositions();
  sigprocmask(SIG_SETMASK, &original_mask, NULL);
  execv(o->argv[0], o->argv);
  int err = errno;
  fail(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC, err, "cannot execute %s as uid %ld",
      o->argv[0], (long) getuid());
}

static void exit_like(int status) {
  if (WIFEXITED(status)) {
    _exit(WEXITSTATUS(status));
  }
  _exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}

/*
 * SIGKILLs every child of this process, found by the parent pid in each /proc/<pid>/stat (the
 * kernel's /proc/<pid>/task/<tid>/children file is not built into every kernel). Only this
 * process reaps its children, so none of these pids can be reused before the kill. Returns how
 * many it found, or -1 when /proc cannot be read.
 */
static int kill_children(void) {
  DIR *proc = opendir("/proc");
  if (proc == NULL) {
    return -1;
  }
  long self = (long) getpid();
  int found = 0;
  for (struct dirent *entry = readdir(proc); entry != NULL; entry = readdir(proc)) {
    char *end;
    long pid = strtol(entry->d_name, &end, 10);
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9' || *end != '\0' || pid == self) {
      continue;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      continue; /* gone meanwhile */
    }
    char stat[512];
    ssize_t length = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (length <= 0) {
      continue;
    }
    stat[length] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so after the last ')'. */
    char *comm_end = strrchr(stat, ')');
    char state;
    long ppid;
    if (comm_end != NULL && sscanf(comm_end + 1, " %c %ld", &state, &ppid) == 2 && ppid == self) {
      kill((pid_t) pid, SIGKILL);
      found++;
    }
  }
  closedir(proc);
  return found;
}

/*
 * Without --namespaces, once the worker is gone: SIGKILLs what it left, children, daemons and
 * whatever they started. This process is the child subreaper of the worker's tree, so each orphan
 * in it (a double fork and setsid included) becomes its child in turn: kill every child, reap,
 * again, until waitpid finds no child left. Gives up after KILL_SECONDS (a process the kernel
 * cannot kill yet, /proc unreadable), leaving the rest to the host's init.
 */
static void kill_descendants(void) {
  sigset_t child_exit;
  sigemptyset(&child_exit);
  sigaddset(&child_exit, SIGCHLD); /* blocked since main() */
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int status;
    pid_t gone;
    do {
      gone = waitpid(-1, &status, WNOHANG);
    } while (gone > 0 || (gone < 0 && errno == EINTR));
    if (gone < 0) {
      return; /* ECHILD: nothing is left */
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= KILL_SECONDS || kill_children() < 0) {
      dprintf(STDERR_FILENO, "herd-launch: cannot kill every process the worker left\n");
      return;
    }
    struct timespec tick = {0, 10 * 1000 * 1000};
    sigtimedwait(&child_exit, NULL, &tick); /* until one of them exits, or 10 ms */
  }
}

/*
 * Waits for signals: forwards the FORWARDED ones to child, reaps every exited child (an init
 * inherits orphans, and so does a child subreaper), and exits like child once it has exited.
 * Every signal in set is blocked, so none is lost between fork and this loop, and PID 1 gets them
 * although it installs no handler. With subreaper (no --namespaces), it kills every descendant
 * left before it exits, and on PARENT_GONE kills the child and them, and exits.
 */
static void supervise(pid_t child, const sigset_t *set, int subreaper) {
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(set, &info);
    if (sig < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail(EXIT_SETUP, errno, "cannot wait for signals");
    }
    if (subreaper && sig == PARENT_GONE) {
      kill(child, SIGKILL);
      kill_descendants();
      _exit(128 + SIGKILL);
    }
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    for (;;) {
      int status;
      pid_t gone = waitpid(-1, &status, WNOHANG);
      if (gone <= 0) {
        break;
      }
      if (gone == child) {
        if (subreaper) {
          kill_descendants();
        }
        exit_like(status);
      }
    }
  }
}

/*
 * Forks the worker: in the child, a session of its own and then exec_worker (whose parent-death
 * signal refers to expected_parent, this process). Returns the worker's pid to the parent.
 */
static pid_t fork_worker(const struct options *o, long expected_parent) {
  pid_t worker = fork();
  if (worker < 0) {
    fail(EXIT_SETUP, errno, "cannot fork the worker");
  }
  if (worker == 0) {
    if (setsid() < 0) {
      fail(EXIT_SETUP, errno, "cannot start a session");
    }
    exec_worker(o, expected_parent);
  }
  return worker;
}

/* The namespace's PID 1. Never returns. */
static void run_init(const struct options *o, int outer_alive, const sigset_t *set) {
  /* Armed before the check: if the outer launcher dies after the poll, the signal comes. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    fail(EXIT_SETUP, errno, "cannot set the parent-death signal of the init");
  }
  struct pollfd hangup = {outer_alive, POLLIN, 0};
  if (poll(&hangup, 1, 0) > 0) {
    _exit(EXIT_SETUP); /* the outer launcher is gone: its end of the pipe closed */
  }
  set_up_mounts(o);
  supervise(fork_worker(o, 1), set, 0);
}

/*
 * Without --namespaces: the worker's supervisor and the child subreaper of its tree, so that no
 * process the worker starts outlives it. Never returns.
 */
static void run_subreaper(const struct options *o, const sigset_t *set) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    fail(EXIT_SETUP, errno, "cannot become the child subreaper of the worker");
  }
  supervise(fork_worker(o, (long) getpid()), set, 1);
}

int herd_serve(int argc, char **argv); /* herd-serve.c: --serve, the factory's supervisor */

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--serve") == 0) {
    return herd_serve(argc, argv);
  }
  struct options o;
  parse(argc, argv, &o);

  sigset_t set;
  sigemptyset(&set);
  for (int i = 0; i < FORWARDED_COUNT; i++) {
    sigaddset(&set, FORWARDED[i]);
  }
  sigaddset(&set, SIGCHLD);
  if (!o.namespaces) {
    sigaddset(&set, PARENT_GONE);
  }
  if (sigprocmask(SIG_BLOCK, &set, &original_mask) != 0) {
    fail(EXIT_SETUP, errno, "cannot block signals");
  }

  if (o.setsid && setsid() < 0) {
    fail(EXIT_SETUP, errno, "cannot start a session");
  }
  if (o.parent >= 0) {
    arm_parent_death(o.namespaces ? SIGKILL : PARENT_GONE, o.parent);
  }
  join_cgroups(&o);
  if (o.netns != NULL) {
    enter_network(o.netns);
  }
  if (!o.namespaces) {
    run_subreaper(&o, &set);
  }

  if (unshare(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNS) != 0) {
    fail(EXIT_SETUP, errno, "cannot create PID, IPC and mount namespaces");
  }
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) != 0) {
    fail(EXIT_SETUP, errno, "cannot create a pipe");
  }
  pid_t init = fork();
  if (init < 0) {
    fail(EXIT_SETUP, errno, "cannot fork the namespace's init");
  }
  if (init == 0) {
    close(alive[1]);
    run_init(&o, alive[0], &set);
  }
  close(alive[0]);
  supervise(init, &set, 0);
  return EXIT_SETUP;
}
