package io.herd.vm.qemu;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import io.herd.core.SuspendableWorkerFactory;
import io.herd.core.SuspendedWorker;
import io.herd.core.Worker;
import io.herd.core.WorkerStartException;
import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.process.StartHook;
import io.herd.vm.VmConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts workers as QEMU microVMs ({@code worker.vm}), through herd-core's {@link
 * ProcessWorkerFactory}: QEMU is the worker process, so a VM gets everything a process worker
 * gets (the sandbox on the VMM, the parent-death signal that takes every QEMU down with the
 * gateway even on SIGKILL, output capture of the guest's serial console, crash detection, HTTP
 * health checks through the forwarded port).
 *
 * <p>Starts. Before the first one, the factory prepares the {@link BootImage} (kernel and
 * initramfs) and decides the accelerator ({@link AccelProbe}), once, off the caller's thread.
 * With {@code worker.vm.snapshots} (the default), the first spawn also boots a <em>template</em>
 * VM (one per factory, shared by concurrent first spawns), waits for its health, saves its device
 * state to a file while its RAM stays in a shared RAM file, and ends it; each spawn is then a
 * <em>clone</em>: a QEMU mapping that RAM file private (copy-on-write) and started with {@code
 * -incoming defer}, into which a {@link StartHook} loads the saved state, lets it run and sends
 * the guest's init a {@code sync} line (the host's clock and fresh entropy: clones share neither
 * the template's clock nor its CRNG state, see {@link GuestSync}), before the health checks
 * begin. The network device needs no change: each VM
 * has a user-mode network of its own, so clones sharing a MAC address never meet. A template that
 * cannot be made is logged once at WARN and every spawn cold-boots from then on. Without
 * snapshots every spawn cold-boots.
 *
 * <p>Suspend and resume ({@link SuspendableWorkerFactory}): suspend stops the guest and saves
 * its whole state (all RAM it wrote, device state) into its scratch directory, moves the file into
 * the factory's private {@code suspended/} directory (0600), and kills QEMU; resume starts a QEMU
 * with plain RAM and {@code -incoming defer}, moves the file into its scratch directory, loads it,
 * syncs the guest, and health-checks it. The saved state does not depend on the template, so a
 * session survives a template rebuilt meanwhile.
 *
 * <p>Files: see {@link VmFiles}. Templates live as long as the factory ({@link #close()} deletes
 * them): a state file is only valid for the exact QEMU binary and command line that wrote it, so
 * a template is rebuilt at each gateway start, at the cost of one cold boot.
 *
 * <p>Threads: the process factory's, plus {@code herd-vm-N} (up to {@value #BLOCKING_THREADS}
 * daemon threads) for the blocking work: image preparation, the KVM probe, QMP dances. Thread-safe.
 * Lifetime: construction to {@link #close()}, which does not stop live VMs (their pool does).
 */
public final class VmWorkerFactory implements SuspendableWorkerFactory {

  private static final Logger log = LoggerFactory.getLogger(VmWorkerFactory.class);
  private static final int BLOCKING_THREADS = 4;
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static final Duration SAVE_TIMEOUT = Duration.ofSeconds(120);

  private final VmConfig vm;
  private final ProcessWorkerConfig workerConfig;
  private final ProcessWorkerFactory processes;
  private final ThreadPoolExecutor blocking;
  private final Path runDir;
  private final Path suspendedDir;
  /** The boot image and the accelerator, decided once. */
  private final CompletableFuture<Prepared> prepared;
  private final Object templateLock = new Object();
  /** The one template of this factory, once asked for. Guarded by {@link #templateLock}. */
  private CompletableFuture<Template> template;
  private final AtomicInteger templateCount = new AtomicInteger();
  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * A factory for VMs booting {@code boot}, already prepared (kernel, initramfs, guest port).
   *
   * @param vm what the VMs are ({@code worker.vm}): memory, cpus, accel, cacheDir, snapshots; its
   *     image and port are not read here, {@code boot} stands for them
   * @param worker the worker settings: health path, start and stop timeouts, sandbox; its command
   *     is not used (the factory runs QEMU), nor its environment (the guest has the image's)
   * @throws io.herd.core.InvalidConfigException when the sandbox is required and unavailable, or
   *     {@code worker.vm.cacheDir} is where sandboxed workers cannot see it
   * @throws io.herd.core.HerdException when {@code worker.vm.accel} is {@code kvm} and {@code
   *     /dev/kvm} cannot be opened (a KVM that opens but does not boot fails the first spawns)
   * @throws UncheckedIOException when the cache directory cannot be set up
   */
  public VmWorkerFactory(VmConfig vm, ProcessWorkerConfig worker, BootImage boot) {
    this(vm, worker, () -> boot, new AccelProbe());
  }

  VmWorkerFactory(VmConfig vm, ProcessWorkerConfig worker, Supplier<BootImage> bootSource,
      AccelProbe accelProbe) {
    this.vm = Objects.requireNonNull(vm, "vm");
    this.workerConfig = Objects.requireNonNull(worker, "worker").toBuilder()
        .command("qemu-system-x86_64").build();
    if (vm.accel() == VmConfig.Accel.KVM) {
      accelProbe.quickDecide(vm.accel()); // no /dev/kvm fails now; the probe boot comes later
    }
    int n = SEQUENCE.incrementAndGet();
    this.processes = new ProcessWorkerFactory(workerConfig);
    if (processes.sandbox().hidesFromWorkers(vm.cacheDir())) {
      processes.close();
      throw new InvalidConfigException(List.of(FieldProblem.of("worker.vm.cacheDir",
          vm.cacheDir(), "is under a directory each sandboxed worker gets a private copy of",
          "a directory outside /tmp, /var/tmp, /dev/shm and /run, e.g. /var/cache/herd/vm")));
    }
    Path runRoot = vm.cacheDir().resolve("run");
    try {
      VmFiles.directory(vm.cacheDir(), "rwxr-xr-x");
      VmFiles.directory(runRoot, "rwx--x--x");
      VmFiles.sweepDead(runRoot);
      this.runDir = VmFiles.directory(
          runRoot.resolve(ProcessHandle.current().pid() + "-" + n), "rwx--x--x");
      this.suspendedDir = VmFiles.directory(runDir.resolve("suspended"), "rwx------");
    } catch (IOException e) {
      processes.close();
      throw new UncheckedIOException("cannot set up worker.vm.cacheDir " + vm.cacheDir()
          + ": " + e.getMessage() + " (expected: a directory this user can create and write)", e);
    }
    this.blocking = new ThreadPoolExecutor(BLOCKING_THREADS, BLOCKING_THREADS, 30,
        TimeUnit.SECONDS, new LinkedBlockingQueue<>(), runnable -> {
          Thread thread = new Thread(runnable, "herd-vm-" + n);
          thread.setDaemon(true);
          return thread;
        });
    blocking.allowCoreThreadTimeOut(true);
    this.prepared = CompletableFuture.supplyAsync(() -> {
      BootImage boot = bootSource.get();
      AccelChoice accel = accelProbe.decide(vm.accel(), boot.kernel());
      log.info("microVM workers: {} MiB, {} vCPU, accel {}, guest port {}, snapshots {}",
          vm.memoryBytes() >> 20, vm.cpus(), accel, boot.guestPort(),
          vm.snapshots() ? "on" : "off");
      return new Prepared(boot, accel);
    }, blocking);
  }

  /**
   * The accelerator guests run with, once decided (before the first VM starts); fails as the
   * factory's preparation failed.
   */
  public CompletableFuture<AccelChoice> accel() {
    return prepared.thenApply(Prepared::accel);
  }

  /** The process factory that runs QEMU: its sandbox, and the output of live VMs. */
  public ProcessWorkerFactory processes() {
    return processes;
  }

  /**
   * Starts a VM: a clone of the template where snapshots work, else a cold boot. Completes once
   * the guest's app answers its health path; cancelling kills a VM still starting.
   */
  @Override
  public CompletableFuture<Worker> spawn(String workerId) {
    Objects.requireNonNull(workerId, "workerId");
    Start start = new Start(workerId);
    if (closed.get()) {
      start.fail(new IllegalStateException("the worker factory is closed"));
      return start.result;
    }
    prepared.whenComplete((p, error) -> {
      if (error != null) {
        start.fail(error);
      } else if (!vm.snapshots()) {
        coldBoot(p, start);
      } else {
        template(p).whenComplete((t, templateError) -> {
          if (templateError != null) {
            coldBoot(p, start);
          } else {
            clone(p, t, start);
          }
        });
      }
    });
    return start.result;
  }

  /**
   * Saves {@code worker}'s whole state to a private file and kills its QEMU; completes once the
   * process has gone. The guest stays stopped from the save on.
   */
  @Override
  public CompletableFuture<SuspendedWorker> suspend(Worker worker) {
    if (!(worker instanceof VmWorker)) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(
          "not a VM of this factory: " + worker));
    }
    VmWorker vmWorker = (VmWorker) worker;
    return CompletableFuture.supplyAsync(() -> {
      Path inScratch = vmWorker.scratch().resolve("suspend.state");
      Path saved = suspendedDir.resolve(vmWorker.id() + "-" + UUID.randomUUID() + ".state");
      try (Qmp qmp = VmMigration.connect(vmWorker.scratch())) {
        VmMigration.save(qmp, inScratch, false, SAVE_TIMEOUT);
        long size = VmFiles.moveIn(inScratch, saved, "rw-------");
        vmWorker.kill().get(workerConfig.stopTimeout().toMillis(), TimeUnit.MILLISECONDS);
        return (SuspendedWorker) new SuspendedVm(vmWorker.id(), saved, size);
      } catch (IOException | ExecutionException | TimeoutException e) {
        deleteQuietly(saved);
        throw new CompletionException(new IOException("cannot suspend VM " + vmWorker.id()
            + ": " + e.getMessage(), e));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        deleteQuietly(saved);
        throw new CompletionException(e);
      }
    }, blocking);
  }

  /**
   * Starts a VM from a suspended one's state, under {@code workerId}; the state is consumed
   * whatever the outcome.
   */
  @Override
  public CompletableFuture<Worker> resume(SuspendedWorker state, String workerId) {
    Start start = new Start(workerId);
    if (!(state instanceof SuspendedVm) || !((SuspendedVm) state).take()) {
      start.fail(new IllegalArgumentException("not a suspended VM of this factory, or resumed or"
          + " discarded already: " + state));
      return start.result;
    }
    SuspendedVm saved = (SuspendedVm) state;
    start.result.whenComplete((w, e) -> deleteQuietly(saved.file()));
    if (closed.get()) {
      start.fail(new IllegalStateException("the worker factory is closed"));
      return start.result;
    }
    prepared.whenComplete((p, error) -> {
      if (error != null) {
        start.fail(error);
        return;
      }
      List<String> argv = command(p).memory(QemuCommand.Memory.PRIVATE, null).incoming(true)
          .build().argv();
      start.launch(argv, restoreHook(p, false, process -> {
        Path local = process.scratch().resolve("resume.state");
        VmFiles.moveIn(saved.file(), local, "rw-r--r--");
        return local;
      }), VmWorker.Start.RESUME);
    });
    return start.result;
  }

  /**
   * Refuses new starts, aborts starts in flight, stops the factory's threads and deletes its
   * templates and any suspended state left. Live VMs keep running (their pool stops them first).
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    processes.close();
    blocking.shutdown();
    try {
      blocking.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      VmFiles.deleteTree(runDir);
    } catch (IOException e) {
      log.warn("cannot delete the VM templates and states under {}: {}", runDir, e.toString());
    }
  }

  private void coldBoot(Prepared p, Start start) {
    List<String> argv = command(p).memory(QemuCommand.Memory.PRIVATE, null).build().argv();
    start.launch(argv, StartHook.NONE, VmWorker.Start.COLD);
  }

  private void clone(Prepared p, Template t, Start start) {
    List<String> argv = command(p).memory(QemuCommand.Memory.CLONE, t.ram()).incoming(true)
        .build().argv();
    start.launch(argv, restoreHook(p, true, process -> t.state()),
        VmWorker.Start.CLONE);
  }

  /** The template, made on first call; a failed one stays failed (cold boots from then on). */
  private CompletableFuture<Template> template(Prepared p) {
    synchronized (templateLock) {
      if (template == null) {
        template = makeTemplate(p);
        template.whenComplete((t, e) -> {
          if (e != null) {
            log.warn("microVM snapshots are off for this pool, every VM cold-boots: cannot make"
                + " the template VM: {}", rootCause(e).getMessage());
          } else {
            log.info("microVM template ready: clones start from {}", t.state());
          }
        });
      }
      return template;
    }
  }

  private CompletableFuture<Template> makeTemplate(Prepared p) {
    int n = templateCount.incrementAndGet();
    Path dir;
    Path ram;
    try {
      dir = VmFiles.directory(runDir.resolve("template-" + n), "rwx--x--x");
      ram = VmFiles.sizedFile(dir.resolve("ram"), vm.memoryBytes(), "rw-rw-rw-");
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
    List<String> argv = command(p).memory(QemuCommand.Memory.TEMPLATE, ram).build().argv();
    return processes.spawn("vm-template-" + n, argv, StartHook.NONE)
        .thenApplyAsync(worker -> {
          ProcessWorker template = (ProcessWorker) worker;
          Path scratch = template.sandbox().workdir().orElseThrow();
          try (Qmp qmp = VmMigration.connect(scratch)) {
            if (p.boot().controlChannel()) {
              // Proves the guest's init holds its control port open before every clone inherits
              // that state: an init that missed the port (it appears asynchronously) would make
              // clones that can never be synced.
              GuestSync.sync(scratch.resolve(QemuCommand.CONTROL_SOCKET),
              workerConfig.startTimeout());
            }
            Path inScratch = scratch.resolve("template.state");
            VmMigration.save(qmp, inScratch, true, SAVE_TIMEOUT);
            Path state = dir.resolve("state");
            VmFiles.moveIn(inScratch, state, "rw-r--r--");
            return new Template(ram, state);
          } catch (IOException e) {
            throw new CompletionException(e);
          } finally {
            template.kill();
          }
        }, blocking);
  }

  /**
   * The hook that loads a saved state into a QEMU started with {@code -incoming defer}, lets it
   * run and syncs the guest (clock, entropy) before its first health check: no request, not even
   * a probe, reaches a clone that still has its template's CRNG state.
   */
  private StartHook restoreHook(Prepared p, boolean ignoreShared, StateSource source) {
    return process -> CompletableFuture.runAsync(() -> {
      long start = System.nanoTime();
      try (Qmp qmp = VmMigration.connect(process.scratch())) {
        long connected = System.nanoTime();
        Path state = source.stateFor(process);
        VmMigration.restore(qmp, state, ignoreShared, workerConfig.startTimeout());
        long restored = System.nanoTime();
        if (p.boot().controlChannel()) {
          GuestSync.sync(process.scratch().resolve(QemuCommand.CONTROL_SOCKET),
              workerConfig.startTimeout());
        }
        if (log.isDebugEnabled()) {
          log.debug("VM {} restored: QMP up after {} ms, state loaded and running after {} ms,"
              + " synced after {} ms", process.workerId(), (connected - start) / 1_000_000,
              (restored - connected) / 1_000_000, (System.nanoTime() - restored) / 1_000_000);
        }
      } catch (IOException e) {
        throw new CompletionException(new IOException(
            "cannot restore the VM's snapshot: " + e.getMessage(), e));
      }
    }, blocking);
  }

  private QemuCommand.Builder command(Prepared p) {
    BootImage boot = p.boot();
    return QemuCommand.builder()
        .accel(p.accel().qemuName())
        .memoryMiB(vm.memoryBytes() >> 20)
        .cpus(vm.cpus())
        .kernel(boot.kernel())
        .initrd(boot.initrd())
        .kernelArgs(boot.kernelArgs())
        .guestPort(boot.guestPort());
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log.warn("cannot delete {}: {}", file, e.toString());
    }
  }

  private static Throwable rootCause(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** Where a restore reads its state, decided once the process (and its scratch) exists. */
  @FunctionalInterface
  private interface StateSource {
    Path stateFor(StartHook.StartedProcess process) throws IOException;
  }

  /** What every start needs: the boot image and the accelerator. */
  private record Prepared(BootImage boot, AccelChoice accel) {}

  /** A template snapshot: the RAM file (clones map it private) and the device state file. */
  private record Template(Path ram, Path state) {}

  /**
   * One spawn or resume: the future handed out, and the process spawn behind it once launched,
   * so that cancelling the one cancels the other (which kills a QEMU still starting).
   */
  private final class Start {
    final String workerId;
    final CompletableFuture<Worker> result = new CompletableFuture<>();
    final AtomicReference<CompletableFuture<Worker>> inner = new AtomicReference<>();

    Start(String workerId) {
      this.workerId = workerId;
      result.whenComplete((w, e) -> {
        if (result.isCancelled()) {
          CompletableFuture<Worker> spawn = inner.get();
          if (spawn != null) {
            spawn.cancel(false);
          }
        }
      });
    }

    void launch(List<String> argv, StartHook hook, VmWorker.Start kind) {
      if (result.isDone()) {
        return;
      }
      CompletableFuture<Worker> spawn;
      try {
        spawn = processes.spawn(workerId, argv, hook);
      } catch (RuntimeException e) {
        fail(e);
        return;
      }
      inner.set(spawn);
      if (result.isCancelled()) {
        spawn.cancel(false);
      }
      spawn.whenComplete((worker, error) -> {
        if (error != null) {
          Throwable cause = rootCause(error);
          result.completeExceptionally(cause instanceof WorkerStartException
              ? cause : new WorkerStartException(
                  "cannot start VM " + workerId + ": " + cause.getMessage(), cause));
        } else if (!result.complete(new VmWorker((ProcessWorker) worker, kind))) {
          worker.kill(); // cancelled just now: nobody will own it
        }
      });
    }

    void fail(Throwable error) {
      Throwable cause = rootCause(error);
      result.completeExceptionally(new WorkerStartException(
          "cannot start VM " + workerId + ": " + cause.getMessage(), cause));
    }
  }
}
