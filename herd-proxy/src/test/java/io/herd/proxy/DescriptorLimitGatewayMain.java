package io.herd.proxy;

import io.herd.core.PoolConfig;
import io.herd.core.SessionPool;
import io.herd.core.testing.ObjectWorkerFactory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * A gateway for {@link GatewayDescriptorLimitTest}, run in a child JVM whose open-files limit the
 * test sets small ({@code prlimit --nofile=N:N}): one pool of one worker at {@code args[0]} (a
 * server in the test's JVM, which keeps its own limit), every tunnel in one session. Prints {@code
 * port P} once serving; then, per line read from stdin, {@code counts}: {@code refusals <new
 * clients> <worker connections>}. Closes the gateway when stdin ends.
 */
public final class DescriptorLimitGatewayMain {

  private DescriptorLimitGatewayMain() {}

  public static void main(String[] args) throws Exception {
    URI worker = URI.create(args[0]);
    ObjectWorkerFactory factory = new ObjectWorkerFactory(worker, OptionalLong.empty());
    SessionPool pool = SessionPool.create(PoolConfig.builder().name("fd-limit").min(1).max(1)
        .warm(0).ttl(Duration.ofHours(1)).healthInterval(Duration.ofHours(1)).build(), factory);
    HerdGateway gateway = HerdGateway.builder(pool)
        .sessionKey("header:X-Session-ID")
        .listen(new InetSocketAddress("127.0.0.1", 0))
        // A connection that holds a descriptor with half a head stays until the test lets go.
        .options(GatewayOptions.builder().headerTimeout(Duration.ofMinutes(2))
            .retryAfter(Duration.ofSeconds(3)).drainTimeout(Duration.ofSeconds(2)).build())
        .start();
    preloadClasses();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String counts = counts(gateway); // loads what answering takes, while descriptors are free
    System.out.println("port " + gateway.port());
    System.out.flush();
    for (String line; (line = in.readLine()) != null; ) {
      if (line.equals("counts")) {
        counts = counts(gateway);
        System.out.println(counts);
        System.out.flush();
      }
    }
    gateway.close();
    pool.close();
  }

  private static String counts(HerdGateway gateway) {
    DescriptorRefusals r = gateway.descriptorRefusals();
    return "refusals " + r.newClients() + " " + r.workerConnections();
  }

  /**
   * Loads every class of the gateway's and the pool's modules now. Test classes are read from
   * directories, one file (one descriptor) per class as it is first used: at the limit, a class
   * of the refusal path not yet loaded could not be. The real gateway runs from one jar, which
   * the JVM holds open from the start.
   */
  private static void preloadClasses() throws IOException, ClassNotFoundException {
    ClassLoader loader = DescriptorLimitGatewayMain.class.getClassLoader();
    for (Class<?> anchor : List.of(HerdGateway.class, SessionPool.class)) {
      Path root;
      try {
        root = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
      } catch (URISyntaxException e) {
        throw new IllegalStateException(e);
      }
      if (!Files.isDirectory(root)) {
        continue; // a jar: open already
      }
      List<String> names;
      try (Stream<Path> files = Files.walk(root)) {
        names = files.map(f -> root.relativize(f).toString())
            .filter(f -> f.endsWith(".class") && !f.equals("module-info.class"))
            .map(f -> f.substring(0, f.length() - ".class".length()).replace('/', '.'))
            .toList();
      }
      for (String name : names) {
        Class.forName(name, false, loader);
      }
    }
    FileDescriptors.now().describe();
  }
}
