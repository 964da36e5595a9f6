package io.herd.server.runtime;

import io.herd.core.WorkerFactory;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.WorkerOutput;
import io.herd.vm.PreparedImage;
import io.herd.vm.VmConfig;
import io.herd.vm.qemu.VmWorkerFactory;
import java.util.Optional;

/**
 * microVM workers ({@code worker.vm}): herd-vm's {@link VmWorkerFactory}, which runs each VM's
 * QEMU through a process factory of its own (the sandbox, output capture and health checks of
 * program workers). Its VMs start as they did at start: not reconfigurable.
 *
 * <p>Before the factory exists the image is made bootable ({@link PreparedImage}: unpacked, cached
 * per digest, packed with herd's guest init into an initramfs this gateway owns and deletes at
 * {@link #close()}).
 *
 * <p>Thread-safe, as the factory is.
 */
final class VmBackend implements WorkerBackend {

  private final VmWorkerFactory factory;
  private final ProcessWorkerConfig config;
  private final PreparedImage image;

  private VmBackend(VmWorkerFactory factory, ProcessWorkerConfig config, PreparedImage image) {
    this.factory = factory;
    this.config = config;
    this.image = image;
  }

  /**
   * Prepares the boot image of {@code vm} and the factory; blocks while the image is unpacked
   * (once per digest) and packed.
   *
   * @param worker the VMM process settings: health path, timeouts, sandbox
   * @throws RuntimeException saying what is wrong with the image, kernel or cache directory
   */
  static VmBackend start(VmConfig vm, ProcessWorkerConfig worker) {
    PreparedImage image = PreparedImage.prepare(vm);
    try {
      return new VmBackend(new VmWorkerFactory(vm, worker, image.boot()), worker, image);
    } catch (RuntimeException | Error e) {
      image.close();
      throw e;
    }
  }

  @Override
  public WorkerFactory factory() {
    return factory;
  }

  @Override
  public ProcessWorkerConfig config() {
    return config;
  }

  @Override
  public boolean reconfigurable() {
    return false;
  }

  @Override
  public void reconfigure(ProcessWorkerConfig next) {
    throw new UnsupportedOperationException("microVM workers start as they did at start");
  }

  @Override
  public Optional<WorkerOutput> output(String workerId) {
    return factory.processes().output(workerId);
  }

  @Override
  public void close() {
    try {
      factory.close();
    } finally {
      image.close();
    }
  }
}
