package io.herd.core.process;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The environment a worker process starts with: built from nothing, so that what the gateway
 * holds in its own environment (an admin token, a session-signing secret, cloud credentials)
 * never reaches a worker unless {@code worker.inheritEnv} names it. In this order, later entries
 * overriding earlier ones:
 *
 * <ol>
 *   <li>{@code PATH} (the gateway's, or a standard one), {@code HOME} = the worker's scratch
 *       directory, {@code TMPDIR} = its {@code tmp}, and {@code LANG}, {@code LC_ALL}, {@code TZ}
 *       when the gateway has them;
 *   <li>what the gateway defines for the worker: {@code PORT}, {@code HERD_WORKER_ID}, {@code
 *       HERD_WORKDIR} (the scratch directory), and the sandbox's own ({@code HOST} with network
 *       isolation);
 *   <li>{@code worker.env}, placeholders replaced;
 *   <li>{@code worker.inheritEnv}: each named variable the gateway has, copied.
 * </ol>
 *
 * <p>Stateless and thread-safe.
 */
final class WorkerEnvironment {

  /** The worker's id, as the pool and the logs know it. */
  static final String WORKER_ID = "HERD_WORKER_ID";
  /** The worker's scratch directory, also {@code HOME}. */
  static final String WORKDIR = "HERD_WORKDIR";
  /** Used when the gateway has no {@code PATH}: Debian's default for a login shell, plus sbin. */
  static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  private static final List<String> PASSED_WHEN_SET = List.of("LANG", "LC_ALL", "TZ");

  private WorkerEnvironment() {}

  /**
   * The whole environment of one worker.
   *
   * @param gateway the JVM's environment ({@code System.getenv()})
   * @param scratch the worker's scratch directory; null only without one (tests)
   * @param tmpdir its {@code tmp}; null only without one
   * @param sandboxEnv what the sandbox adds, e.g. {@code HOST}
   */
  static Map<String, String> build(Map<String, String> gateway, ProcessWorkerConfig config,
      String workerId, int port, Path scratch, Path tmpdir, Map<String, String> sandboxEnv) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", gateway.getOrDefault("PATH", DEFAULT_PATH));
    if (scratch != null) {
      env.put("HOME", scratch.toString());
    }
    if (tmpdir != null) {
      env.put("TMPDIR", tmpdir.toString());
    }
    for (String name : PASSED_WHEN_SET) {
      String value = gateway.get(name);
      if (value != null) {
        env.put(name, value);
      }
    }
    env.put(ProcessWorkerConfig.PORT_ENV, Integer.toString(port));
    env.put(WORKER_ID, workerId);
    if (scratch != null) {
      env.put(WORKDIR, scratch.toString());
    }
    env.putAll(sandboxEnv);
    env.putAll(config.envFor(port, scratch));
    for (String name : config.inheritEnv()) {
      String value = gateway.get(name);
      if (value != null) {
        env.put(name, value);
      }
    }
    return env;
  }
}
