package io.herd.proxy;

import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Installs Netty's leak detection for the whole test run, before any test class is even
 * discovered, and records every leak Netty reports so that {@link LeakCheckExtension} can fail
 * the class it happened in.
 *
 * <p>Why a launcher session listener: Netty creates a buffer class's detector once, when that
 * class initialises, from whatever factory is installed at that moment. Installed from a test
 * class or an extension it came too late whenever another test (in random run order) had already
 * touched a buffer, and leaks were then only logged. The JUnit Platform opens the session, and
 * calls this listener, before it loads any test class. Registered in {@code
 * META-INF/services/org.junit.platform.launcher.LauncherSessionListener}.
 *
 * <p>Thread-safe: the leak list is concurrent; Netty reports from whichever thread allocates.
 */
public final class NettyLeakDetection implements LauncherSessionListener {

  /** Leaks reported since the last {@link #clear()}: resource type and access records. */
  private static final List<String> LEAKS = new CopyOnWriteArrayList<>();
  private static volatile boolean installed;

  @Override
  public void launcherSessionOpened(LauncherSession session) {
    install();
  }

  /** Installs the recording detector factory at paranoid level; idempotent. */
  static synchronized void install() {
    if (installed) {
      return;
    }
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
      @Override
      @SuppressWarnings("deprecation")
      public <T> ResourceLeakDetector<T> newResourceLeakDetector(
          Class<T> resource, int samplingInterval, long maxActive) {
        return new RecordingDetector<>(resource, samplingInterval);
      }
    });
    installed = true;
  }

  /** Whether the session listener ran (false when tests run without the JUnit Platform launcher). */
  static boolean installed() {
    return installed;
  }

  static List<String> leaks() {
    return List.copyOf(LEAKS);
  }

  static void clear() {
    LEAKS.clear();
  }

  /** Forgets the leaks whose report contains {@code marker}: those a test caused on purpose. */
  static void forget(String marker) {
    LEAKS.removeIf(l -> l.contains(marker));
  }

  private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
    @SuppressWarnings("deprecation")
    RecordingDetector(Class<T> resource, int samplingInterval) {
      super(resource, samplingInterval);
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      LEAKS.add(resourceType + records);
      super.reportTracedLeak(resourceType, records);
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      LEAKS.add(resourceType);
      super.reportUntracedLeak(resourceType);
    }
  }
}
