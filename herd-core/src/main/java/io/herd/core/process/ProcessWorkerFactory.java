package io.herd.core.process;

import io.herd.core.HerdException;
import io.herd.core.Worker;
import io.herd.core.WorkerFactory;
import io.herd.core.WorkerStartException;
import io.herd.core.sandbox.LauncherBinary;
import io.herd.core.sandbox.Sandbox;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.core.sandbox.WorkerSandbox;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts workers as local processes that serve HTTP on 127.0.0.1: any command, given a port
 * picked from the kernel through {@code {{port}}}/{@code {{.Port}}} in its arguments and
 * environment and through {@code $PORT}. A spawn completes once {@code GET <health path>}
 * answers 200: the port is watched every millisecond until something listens there, and then
 * probed (see {@link WorkerStartup}); a process that exits meanwhile fails the spawn at once with its exit code and last stderr lines, one that
 * stays unhealthy past {@code worker.startTimeout} is SIGKILLed with its descendants.
 *
 * <p>Every worker is started by the native launcher {@code herd-launch} (see {@link
 * io.herd.core.sandbox.LauncherBinary}), which sets the parent-death signal (so that the worker
 * and every process it started die when the JVM dies, even by SIGKILL), gives the worker a
 * session of its own (a terminal's Ctrl-C reaches the gateway only), applies the sandbox (see
 * {@link Sandbox}) and stays as the worker's supervisor, the process the factory holds. The
 * launchers are forked by the factory's one {@link ProcessSupervisor} ({@code herd-launch
 * --serve}), started by the first spawn, so that the JVM has one child and a fixed number of
 * threads however many workers run; where it cannot start, each launcher is the JVM's own child
 * ({@link JdkWorkerProcess}). The parent-death signal fires when the <em>thread</em> that forked
 * the child ends, so the supervisor (or, in that fallback, every worker) is forked on one
 * dedicated launcher thread that lives as long as what it started, never on a pool thread that
 * might retire. In addition a shutdown hook kills every live worker tree when the JVM exits
 * normally. Where the launcher cannot be extracted, the factory says so in its startup log and
 * falls back to {@code setpriv --pdeathsig} (util-linux) without any sandbox protection, or to
 * the hook alone.
 *
 * <p>Each worker gets a private scratch directory, created before it starts and deleted after it
 * exited: {@code {{workdir}}} in the command and in {@code worker.env}, {@code $HERD_WORKDIR},
 * {@code $HOME}. Its environment is built from nothing ({@link WorkerEnvironment}): the JVM's
 * environment reaches it only through {@code worker.inheritEnv}.
 *
 * <p>Sandbox ({@code ProcessWorkerConfig.sandbox()}, {@link
 * io.herd.core.sandbox.SandboxConfig#defaults()} unless set): decided once here (see {@link
 * Sandbox}), logged once at INFO with what is and is not in force, and once at WARN when
 * something configured cannot be applied on this host (the factory fails to construct instead
 * when {@code sandbox.required}); leftovers of dead gateways' sandboxes are swept then too. Each
 * spawn then prepares the worker's scratch directory, cgroup, UID and network on the factory's
 * {@code herd-sandbox-N} thread (a few mkdir/write calls, and a few {@code ip} runs with network
 * isolation), checks that a worker under a UID of its own can read what its command names, and
 * launches it; a failure there fails that spawn. A spawn given a {@code mayStart} gate ({@link
 * #spawn(String, CompletableFuture)}) prepares all that at once and forks only once the gate
 * opens. The sandbox is released after the exit, on the sandbox's teardown thread, after {@code
 * onExit()} completed; {@link #close()} waits for those releases.
 *
 * <p>Threads, all daemons, owned by this factory: {@code herd-process-launcher-N} (forks the
 * supervisor), {@code herd-process-supervisor-N} and up to four {@code herd-process-events-N}
 * (see {@link ProcessSupervisor}), {@code herd-process-timer-N} (probe pauses, deadlines, stop
 * grace periods), {@code herd-health-probe-N} (the probes' socket I/O), {@code herd-sandbox-N}
 * (only while sandboxes are being prepared), {@code herd-sandbox-teardown-N} (only while exited
 * workers' sandboxes are being removed); only in the fallback without a supervisor, two
 * {@code herd-<worker id>-std*} output pumps per live worker. No thread is parked per spawn or
 * per health check; futures complete on these threads, so their dependents must not block (use
 * the {@code *Async} variants to block).
 *
 * <p>Thread-safe. Lifetime: from construction to {@link #close()}, which does <em>not</em> stop
 * live workers (their pool does that, and closes the factory afterwards).
 */
public final class ProcessWorkerFactory implements WorkerFactory {

  private static final Logger log = LoggerFactory.getLogger(ProcessWorkerFactory.class);
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  /**
   * What spawns start workers with: replaced whole by {@link #reconfigure}. Volatile and immutable
   * itself; each spawn reads it once, so a worker is started entirely with the old settings or
   * entirely with the new ones.
   */
  private volatile Settings settings;
  private final ParentDeathSignal parentDeathSignal;
  /** {@code herd-launch}, or null to fall back to {@link #parentDeathSignal}. */
  private final Path launcherBinary;
  private final long jvmPid = ProcessHandle.current().pid();
  private final LoopbackPortPicker ports = new LoopbackPortPicker();
  private final ProcessLauncherThread launcher;
  private final ScheduledThreadPoolExecutor timer;
  private final HttpHealthProbe probe;
  private final Sandbox sandbox;
  /**
   * Prepares worker sandboxes (mkdir, cgroup writes, {@code ip} runs: up to tens of
   * milliseconds) off the caller's thread, which may be an event loop; one thread, so spawns
   * stay in order.
   */
  private final ThreadPoolExecutor sandboxThread;
  /** Workers whose process runs, from start until exit: what the shutdown hook kills. */
  private final Set<ProcessWorker> live = ConcurrentHashMap.newKeySet();
  /** Which starts may watch their port every millisecond (see {@link WorkerStartup}). */
  private final Semaphore fineSlots = new Semaphore(WorkerStartup.FINE_SLOTS);
  /** Starts not yet decided: what close() aborts. */
  private final Set<WorkerStartup> starting = ConcurrentHashMap.newKeySet();
  private final Thread shutdownHook;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Whether workers should be started through a {@link ProcessSupervisor} (see below). */
  private final boolean supervise;
  private final Object supervisorLock = new Object();
  /**
   * Guarded by {@link #supervisorLock}: started by the first spawn; null before, and for good
   * once it could not be started ({@link #supervisorFailed}): spawns then start workers as the
   * JVM's own children.
   */
  private ProcessSupervisor supervisor;
  /** Guarded by {@link #supervisorLock}. */
  private boolean supervisorFailed;

  /**
   * A factory that starts workers through {@code herd-launch}, or {@code setpriv --pdeathsig}
   * where the launcher cannot be extracted.
   *
   * @throws io.herd.core.InvalidConfigException when {@code sandbox.required} is set and the
   *     sandbox cannot be applied on this host
   */
  public ProcessWorkerFactory(ProcessWorkerConfig config) {
    this(config, ParentDeathSignal.detect());
  }

  ProcessWorkerFactory(ProcessWorkerConfig config, ParentDeathSignal parentDeathSignal) {
    this(config, parentDeathSignal, true);
  }

  /**
   * @param supervise whether to start workers through one {@link ProcessSupervisor} (where
   *     {@code herd-launch} is available); false: each as a child of the JVM, for tests of that
   *     fallback
   */
  ProcessWorkerFactory(ProcessWorkerConfig config, ParentDeathSignal parentDeathSignal,
      boolean supervise) {
    Objects.requireNonNull(config, "config");
    this.parentDeathSignal = parentDeathSignal;
    this.sandbox = Sandbox.create(config.sandbox());
    // The launcher even without a sandbox: it replaces setpriv --pdeathsig.
    LauncherBinary binary = LauncherBinary.detect();
    this.launcherBinary = binary.path().orElse(null);
    this.supervise = supervise && launcherBinary != null;
    this.settings = new Settings(config, ProgramLocator.forWorkdir(config.workdir().orElse(null)));
    int n = SEQUENCE.incrementAndGet();
    this.timer = new ScheduledThreadPoolExecutor(1, daemonThreads("herd-process-timer-" + n));
    this.timer.setRemoveOnCancelPolicy(true);
    try {
      this.probe = new HttpHealthProbe(daemonThreads("herd-health-probe-" + n), timer);
    } catch (IOException e) {
      timer.shutdownNow();
      throw new HerdException("cannot start the health probe's I/O thread", e);
    }
    this.sandboxThread = new ThreadPoolExecutor(0, 1, 10, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), daemonThreads("herd-sandbox-" + n));
    this.launcher = new ProcessLauncherThread();
    this.shutdownHook = new Thread(this::killAllNow, "herd-process-kill-" + n);
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    if (launcherBinary == null) {
      String why = binary.problem().orElse("unknown");
      if (parentDeathSignal.available()) {
        log.warn("the worker launcher herd-launch is not available ({}): workers start through"
            + " setpriv --pdeathsig instead, without any sandbox protection", why);
      } else {
        log.warn("neither the worker launcher herd-launch ({}) nor setpriv --pdeathsig is"
            + " available: workers of this factory will outlive the JVM if it is killed with"
            + " SIGKILL, and get no sandbox protection", why);
      }
    }
    if (config.sandbox().enabled()) {
      log.info("worker sandbox: {}", sandbox.report().summary());
      sandbox.warning().ifPresent(log::warn);
    }
    sandbox.sweepStale();
  }

  /** Which sandbox protections this factory's workers get. */
  public Sandbox sandbox() {
    return sandbox;
  }

  /** The configuration workers are started with now: the last {@link #reconfigure}'s, if any. */
  public ProcessWorkerConfig config() {
    return settings.config();
  }

  /**
   * Starts workers from now on with {@code next}: its command, environment, working directory,
   * health path, start and stop timeouts, and its sandbox limits (memory, cpus, pids) where they
   * are set as before ({@link SandboxConfig#setsSameLimits}). The rest of the sandbox was decided
   * when this factory was created (UIDs, networks, cgroup parent, namespaces) and stays. Workers
   * already running, or starting, keep what they were started with, their stop timeout included.
   *
   * <p>Thread-safe; concurrent calls are applied one after the other.
   *
   * @return the configuration now in force: {@code next} with the sandbox as just described
   */
  public synchronized ProcessWorkerConfig reconfigure(ProcessWorkerConfig next) {
    Objects.requireNonNull(next, "next");
    SandboxConfig inForce = settings.config().sandbox();
    SandboxConfig sandboxNext = inForce;
    if (inForce.setsSameLimits(next.sandbox())) {
      sandboxNext = inForce.withLimitsOf(next.sandbox());
    }
    ProcessWorkerConfig effective = next.toBuilder().sandbox(sandboxNext).build();
    settings = new Settings(effective,
        ProgramLocator.forWorkdir(effective.workdir().orElse(null)));
    log.debug("worker factory reconfigured: new workers start with {}", effective);
    return effective;
  }

  /**
   * Starts a worker. Fails at once, without spawning, when the program cannot be found or the
   * factory is closed. Cancelling the future SIGKILLs a worker still starting.
   */
  @Override
  public CompletableFuture<Worker> spawn(String workerId) {
    return spawn(workerId, settings, StartHook.NONE, READY);
  }

  /**
   * Starts a worker as {@link #spawn(String)} does, but forks its process only once {@code
   * mayStart} completes: its scratch directory, cgroup, UID and network are prepared at once, on
   * the sandbox thread, while the pool waits for the slot the worker will take. When {@code
   * mayStart} fails, the spawn fails and what was prepared is released.
   */
  @Override
  public CompletableFuture<Worker> spawn(String workerId, CompletableFuture<Void> mayStart) {
    Objects.requireNonNull(mayStart, "mayStart");
    return spawn(workerId, settings, StartHook.NONE, mayStart);
  }

  /**
   * Starts a worker as {@link #spawn(String)} does, with everything of the configuration in force
   * but its command, which is {@code command} (placeholders replaced as for {@code
   * worker.command}, {@value ProcessWorkerConfig#HOST_PLACEHOLDER} too), and with {@code hook}
   * run between the process start and the first readiness probe. For factories built on this
   * one whose workers need a different command per start (a VM monitor booting, or restoring a
   * snapshot) and work of their own before the health checks count.
   *
   * @throws io.herd.core.InvalidConfigException when {@code command} is not a valid {@code
   *     worker.command}
   */
  public CompletableFuture<Worker> spawn(String workerId, List<String> command, StartHook hook) {
    Objects.requireNonNull(hook, "hook");
    Settings current = settings;
    ProcessWorkerConfig config = current.config().toBuilder().command(command).build();
    return spawn(workerId, new Settings(config, current.programs()), hook, READY);
  }

  /** The gate of a spawn that may fork as soon as its sandbox is ready. */
  private static final CompletableFuture<Void> READY = CompletableFuture.completedFuture(null);

  private CompletableFuture<Worker> spawn(String workerId, Settings current, StartHook hook,
      CompletableFuture<Void> mayStart) {
    Objects.requireNonNull(workerId, "workerId");
    if (closed.get()) {
      return failed(workerId, "the worker factory is closed", null);
    }
    ProcessWorkerConfig config = current.config();
    Path program;
    int port;
    try {
      program = sandbox.isolatesUid()
          ? current.programs().locate(config.command().get(0), Sandbox::othersCanRun)
          : current.programs().locate(config.command().get(0));
      port = ports.pick();
    } catch (FileNotFoundException e) {
      return failed(workerId, e.getMessage() + ". Command: " + config.command(), e);
    } catch (IOException e) {
      return failed(workerId, "no free port on 127.0.0.1: " + e.getMessage(), e);
    }
    long startNanos = System.nanoTime();
    CompletableFuture<Worker> result = new CompletableFuture<>();
    try {
      sandboxThread.execute(() -> prepareAndLaunch(workerId, config, program, port, hook,
          startNanos, mayStart, result));
    } catch (RejectedExecutionException e) {
      return failed(workerId, "the worker factory is closed", e);
    }
    return result;
  }

  /**
   * On the sandbox thread: the worker's sandbox and scratch directory, then the launch once
   * {@code mayStart} has completed (on the thread that completes it, when that is later).
   */
  private void prepareAndLaunch(String workerId, ProcessWorkerConfig config, Path program,
      int port, StartHook hook, long startNanos, CompletableFuture<Void> mayStart,
      CompletableFuture<Worker> result) {
    WorkerSandbox confinement;
    try {
      confinement = sandbox.prepare(workerId, config.sandbox());
    } catch (IOException | RuntimeException e) {
      result.completeExceptionally(new WorkerStartException("cannot start worker " + workerId
          + ": cannot prepare the worker sandbox: " + e.getMessage(), e));
      return;
    }
    Path scratch = confinement.workdir().orElseThrow();
    List<String> argv = config.commandFor(port, confinement.host(), scratch);
    argv.set(0, program.toString());
    // The configured directory, else the JVM's; a worker under a UID of its own may not be
    // able to enter the JVM's, so it starts in its scratch directory instead.
    Path cwd = config.workdir().map(Path::toAbsolutePath)
        .orElse(confinement.uid().isPresent() ? scratch : null);
    try {
      Sandbox.checkAccess(confinement, argv, config.workdir().orElse(null));
    } catch (IOException e) {
      confinement.release();
      result.completeExceptionally(new WorkerStartException("cannot start worker " + workerId
          + ": " + e.getMessage() + ". Command: " + argv, e));
      return;
    }
    boolean gated = !mayStart.isDone();
    mayStart.whenComplete((v, gateError) -> {
      if (gateError != null) {
        confinement.release();
        result.completeExceptionally(new WorkerStartException("worker " + workerId
            + " was not started: " + gateError.getMessage(), gateError));
      } else if (result.isDone()) { // cancelled meanwhile
        confinement.release();
      } else {
        // The start timeout counts from the moment the process may start, not from the wait.
        long start = gated ? System.nanoTime() : startNanos;
        try {
          launch(workerId, config, port, argv, cwd, confinement, hook, start, result);
        } catch (RuntimeException | Error e) { // a bug; the spawn must still end, not hang
          if (!result.isDone()) {
            confinement.release();
            result.completeExceptionally(new WorkerStartException("cannot start worker "
                + workerId + ": " + e, e));
          }
        }
      }
    });
  }

  /**
   * The full argv: the launcher and its flags, or the setpriv fallback, then the command.
   *
   * @param parent the pid of the process that starts it: its parent-death signal refers to it
   */
  private List<String> launchCommand(List<String> argv, Path cwd, WorkerSandbox confinement,
      long parent) {
    if (launcherBinary == null) {
      return parentDeathSignal.wrap(argv);
    }
    List<String> launched = new ArrayList<>(argv.size() + 24);
    launched.add(launcherBinary.toString());
    launched.addAll(List.of("--setsid", "--parent", Long.toString(parent)));
    launched.addAll(confinement.launcherFlags(argv, cwd));
    if (cwd != null) {
      launched.addAll(List.of("--chdir", cwd.toString()));
    }
    launched.add("--");
    launched.addAll(argv);
    return launched;
  }

  private void launch(String workerId, ProcessWorkerConfig config, int port, List<String> argv,
      Path cwd, WorkerSandbox confinement, StartHook hook, long startNanos,
      CompletableFuture<Worker> result) {
    long launchNanos = System.nanoTime(); // the sandbox is prepared (and the gate open)
    Map<String, String> env = WorkerEnvironment.build(System.getenv(), config, workerId, port,
        confinement.workdir().orElse(null), confinement.tmpdir().orElse(null),
        confinement.env());
    WorkerLines lines = new WorkerLines(workerId);
    ProcessSupervisor processes = supervisor();
    CompletableFuture<WorkerProcess> started;
    if (processes != null) {
      started = processes.spawn(launchCommand(argv, cwd, confinement, processes.pid()), env, cwd,
          lines);
    } else {
      ProcessBuilder builder = new ProcessBuilder(launchCommand(argv, cwd, confinement, jvmPid));
      if (cwd != null) {
        builder.directory(cwd.toFile());
      }
      builder.environment().clear();
      builder.environment().putAll(env);
      started = launcher.launch(builder)
          .thenApply(process -> JdkWorkerProcess.start(workerId, process, lines));
    }
    started.whenComplete((process, error) -> {
      if (error != null) {
        confinement.release();
        Throwable why = error instanceof CompletionException && error.getCause() != null
            ? error.getCause() : error;
        result.completeExceptionally(new WorkerStartException("cannot start worker " + workerId
            + ": " + why.getMessage() + ". Command: " + argv, why));
        return;
      }
      try {
        watch(workerId, config, process, lines, port, argv, confinement, hook,
            new WorkerStartup.Times(startNanos, launchNanos, System.nanoTime()), result);
      } catch (Throwable t) { // NOPMD: whatever failed, the process must not be left behind
        process.killTree();
        process.onExit().whenComplete((v, e) -> confinement.release());
        result.completeExceptionally(
            new WorkerStartException("cannot watch worker " + workerId + ": " + t, t));
      }
    });
  }

  /**
   * The factory's process supervisor, started by the first call; null where workers start as the
   * JVM's own children: no {@code herd-launch}, or it could not be started (said once at WARN).
   */
  private ProcessSupervisor supervisor() {
    if (!supervise) {
      return null;
    }
    synchronized (supervisorLock) {
      if (supervisor != null && supervisor.hasEnded() && !supervisorFailed) {
        // Killed from outside (its workers died with it and were reported): a new one.
        log.warn("the process supervisor (pid {}) is gone; starting another", supervisor.pid());
        supervisor = null;
      }
      if (supervisor == null && !supervisorFailed) {
        try {
          supervisor = ProcessSupervisor.start(launcherBinary, launcher);
        } catch (IOException e) {
          supervisorFailed = true;
          log.warn("cannot start the process supervisor herd-launch --serve ({}): workers start"
              + " as the JVM's own children instead, with three threads each", e.getMessage());
        }
      }
      return supervisor;
    }
  }

  /**
   * Refuses new spawns, SIGKILLs workers still starting (their spawns fail), removes the shutdown
   * hook and stops the timer and probe threads. Idempotent.
   *
   * <p>Live workers keep running: stopping them is their pool's job, done before this. A worker
   * stopped after this skips its grace period (the timer is gone) and its health checks answer
   * {@code false}. The process supervisor and the launcher thread linger until the last worker
   * has exited, since their end would kill them all through their parent-death signals.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    starting.forEach(startup -> startup.abort("the worker factory was closed"));
    synchronized (supervisorLock) {
      supervisorFailed = true; // no supervisor starts any more
      if (supervisor != null) {
        supervisor.close(); // exits once the last of its workers has
      }
    }
    launcher.close();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // the JVM is shutting down and runs the hook anyway
    }
    probe.close(); // fails probes in flight, which cancels their deadlines
    sandboxThread.shutdown(); // sandboxes queued still get prepared, then fail to launch
    sandbox.close(); // spare worker networks and the host firewall
    timer.shutdown();
    try {
      if (!timer.awaitTermination(1, TimeUnit.SECONDS)) {
        log.warn("worker factory closed with {} timer tasks pending (stop grace periods of workers"
            + " still stopping); they will still run", timer.getQueue().size());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (!live.isEmpty()) {
      log.info("worker factory closed while {} workers still run; their pool stops them",
          live.size());
    }
  }

  /**
   * The recent output of live worker {@code workerId} (see {@link ProcessWorker#output()}), or
   * empty when no live worker of this factory has that id. A scan of the live workers: meant for
   * an operator's request, not a hot path.
   */
  public Optional<WorkerOutput> output(String workerId) {
    for (ProcessWorker worker : live) {
      if (worker.id().equals(workerId)) {
        return Optional.of(worker.output());
      }
    }
    return Optional.empty();
  }

  /** How many of the fine-interval slots are free now, for tests. */
  int fineSlotsAvailable() {
    return fineSlots.availablePermits();
  }

  /** The pid of the process supervisor, while there is one, for tests. */
  java.util.OptionalLong supervisorPid() {
    synchronized (supervisorLock) {
      return supervisor == null ? java.util.OptionalLong.empty()
          : java.util.OptionalLong.of(supervisor.pid());
    }
  }

  /** The thread that forks the workers, for tests. */
  Thread launcherThread() {
    return launcher.thread();
  }

  private void watch(String workerId, ProcessWorkerConfig config, WorkerProcess process,
      WorkerLines lines, int port, List<String> command, WorkerSandbox confinement,
      StartHook hook, WorkerStartup.Times times, CompletableFuture<Worker> result) {
    ProcessWorker worker = ProcessWorker.start(workerId, process, lines, port, command, config,
        probe, timer, confinement, live::remove);
    live.add(worker);
    if (worker.onExit().isDone()) {
      live.remove(worker); // exited before it was added: onGone found nothing to remove
    }
    CompletableFuture<Void> hookDone;
    try {
      hookDone = hook.started(new StartHook.StartedProcess(workerId, worker.host(), port,
          confinement.workdir().orElse(null), process.pid()));
      Objects.requireNonNull(hookDone, "the start hook returned null");
    } catch (RuntimeException e) {
      hookDone = CompletableFuture.failedFuture(e);
    }
    WorkerStartup startup =
        new WorkerStartup(worker, config, probe, timer, fineSlots, times, hookDone, result);
    starting.add(startup);
    result.whenComplete((w, e) -> starting.remove(startup));
    if (closed.get()) {
      startup.abort("the worker factory was closed"); // close() ran while the process started
    }
    startup.begin();
  }

  private void killAllNow() {
    for (ProcessWorker worker : live) {
      try {
        worker.kill();
      } catch (RuntimeException e) {
        // keep killing the others
      }
    }
  }

  private static CompletableFuture<Worker> failed(String workerId, String why, Throwable cause) {
    return CompletableFuture.failedFuture(
        new WorkerStartException("cannot start worker " + workerId + ": " + why, cause));
  }

  private static ThreadFactory daemonThreads(String name) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      int i = count.getAndIncrement();
      Thread thread = new Thread(runnable, i == 0 ? name : name + "-" + i);
      thread.setDaemon(true);
      return thread;
    };
  }

  /** One consistent set of spawn settings: the config and the program lookup of its workdir. */
  private record Settings(ProcessWorkerConfig config, ProgramLocator programs) {}
}
