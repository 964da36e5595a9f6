package io.herd.server.metrics;

import com.sun.management.UnixOperatingSystemMXBean;
import io.herd.server.BuildInfo;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.core.metrics.Info;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * The gateway process's own meters, in base units: CPU seconds ({@code process_cpu_seconds_total},
 * the name Prometheus's own clients use, so standard dashboards work), JVM memory, garbage
 * collection, threads and class loading, open and maximum file descriptors ({@code
 * process_open_fds}, {@code process_max_fds}, as Prometheus's clients name them), uptime and start
 * time, and {@code herd_build_info{version, commit, java} 1}.
 *
 * <p>Bind once per registry; {@link #close()} stops the garbage-collection listener, which would
 * otherwise keep the registry reachable. Thread-safe.
 */
public final class RuntimeMetrics implements AutoCloseable {

  private final JvmGcMetrics gc;

  private RuntimeMetrics(JvmGcMetrics gc) {
    this.gc = gc;
  }

  /** Binds every meter to {@code registry}. */
  public static RuntimeMetrics bind(PrometheusMeterRegistry registry) {
    // Micrometer's own CPU counter is in nanoseconds and its file descriptor gauges are named
    // process_files_*; the Prometheus names below replace them.
    registry.config().meterFilter(MeterFilter.deny(id -> id.getName().equals("process.cpu.time")));
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      FunctionCounter.builder("process.cpu", sun, RuntimeMetrics::cpuSeconds)
          .baseUnit("seconds")
          .description("CPU time used by the gateway process (all its threads), in seconds")
          .register(registry);
    }
    if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      Gauge.builder("process.open.fds", unix, RuntimeMetrics::openFds)
          .description("Open file descriptors of the gateway process: sockets, pipes to workers,"
              + " files")
          .register(registry);
      Gauge.builder("process.max.fds", unix,
              UnixOperatingSystemMXBean::getMaxFileDescriptorCount)
          .description("The gateway process's limit of open file descriptors (ulimit -n)")
          .register(registry);
    }
    // An info metric, which Micrometer has no meter for (a gauge named *_info loses the suffix):
    // registered on the Prometheus registry underneath.
    BuildInfo build = BuildInfo.current();
    Info info = Info.builder()
        .name("herd_build_info")
        .help("Always 1; the labels say which herd and Java this is")
        .labelNames("version", "commit", "java")
        .register(registry.getPrometheusRegistry());
    info.addLabelValues(build.version(), build.commit(), build.java());
    return new RuntimeMetrics(gc);
  }

  /** Process CPU time in seconds; 0 where the platform does not tell (it reports -1). */
  private static double cpuSeconds(com.sun.management.OperatingSystemMXBean os) {
    long nanos = os.getProcessCpuTime();
    return nanos < 0 ? 0 : nanos / 1e9;
  }

  @Override
  public void close() {
    gc.close();
  }

  /**
   * The JDK counts {@code /proc/self/fd} by opening it, which at the descriptor limit fails with
   * an {@link InternalError}: a scrape then reads NaN for this gauge instead of failing whole,
   * just when the figure matters ({@code process.max.fds} still says what the limit is).
   */
  private static double openFds(UnixOperatingSystemMXBean unix) {
    try {
      return unix.getOpenFileDescriptorCount();
    } catch (InternalError atTheLimit) {
      return Double.NaN;
    }
  }
}
