package io.herd.vm.qemu;

import io.herd.core.Worker;
import io.herd.vm.VmConfig;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A gateway stand-in for {@link VmJvmDeathTest}: a JVM that cold-boots one VM through a {@link
 * VmWorkerFactory}, prints {@code qemu-pid <pid>} and {@code ready}, and waits to be killed.
 * Argument: the cache directory, holding the test image in {@code image/}.
 */
public final class VmHostMain {

  private VmHostMain() {}

  public static void main(String[] args) throws Exception {
    Path cacheDir = Path.of(args[0]);
    Path image = cacheDir.resolve("image");
    BootImage boot = VmTestSupport.bootImage(image, cacheDir);
    VmConfig vm = VmConfig.builder().image(image).kernel(VmTestSupport.KERNEL)
        .cacheDir(cacheDir).snapshots(false).build();
    VmWorkerFactory factory = new VmWorkerFactory(vm, VmTestSupport.workerConfig(), boot);
    Worker worker = factory.spawn("w-1").get(120, TimeUnit.SECONDS);
    System.out.println("qemu-pid " + VmTestSupport.qemu(worker).pid());
    System.out.println("ready");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
