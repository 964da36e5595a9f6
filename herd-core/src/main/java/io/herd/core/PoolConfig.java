package io.herd.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How a {@link SessionPool} sizes itself, queues, expires sessions and checks its workers.
 * Immutable; {@link Builder#build()} validates every field and reports all problems at once.
 *
 * <p>Keys in error messages are the YAML keys of the standalone gateway ({@code pool.max}, ...), so
 * the same message serves library users and gateway operators.
 */
public final class PoolConfig {

  private final String name;
  private final int min;
  private final int max;
  private final int warm;
  private final int maxQueue;
  private final Duration acquireTimeout;
  private final Duration ttl;
  private final Duration maxLifetime;
  private final Duration suspendAfter;
  private final boolean reuse;
  private final int maxSessionsPerWorker;
  private final boolean evictIdleOnPressure;
  private final Duration healthInterval;
  private final Duration healthTimeout;
  private final int healthFailures;
  private final Duration spawnBackoffInitial;
  private final Duration spawnBackoffMax;

  private PoolConfig(Builder b) {
    this.name = b.name;
    this.min = b.min;
    this.max = b.max;
    this.warm = b.warm;
    this.maxQueue = b.maxQueue;
    this.acquireTimeout = b.acquireTimeout;
    this.ttl = b.ttl;
    this.maxLifetime = b.maxLifetime;
    this.suspendAfter = b.suspendAfter;
    this.reuse = b.reuse;
    this.maxSessionsPerWorker = b.maxSessionsPerWorker;
    this.evictIdleOnPressure = b.evictIdleOnPressure;
    this.healthInterval = b.healthInterval;
    this.healthTimeout = b.healthTimeout;
    this.healthFailures = b.healthFailures;
    this.spawnBackoffInitial = b.spawnBackoffInitial;
    this.spawnBackoffMax = b.spawnBackoffMax;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this config's values, to derive a changed copy. */
  public Builder toBuilder() {
    return new Builder()
        .name(name)
        .min(min)
        .max(max)
        .warm(warm)
        .maxQueue(maxQueue)
        .acquireTimeout(acquireTimeout)
        .ttl(ttl)
        .maxLifetime(maxLifetime)
        .suspendAfter(suspendAfter)
        .reuse(reuse)
        .maxSessionsPerWorker(maxSessionsPerWorker)
        .evictIdleOnPressure(evictIdleOnPressure)
        .healthInterval(healthInterval)
        .healthTimeout(healthTimeout)
        .healthFailures(healthFailures)
        .spawnBackoffInitial(spawnBackoffInitial)
        .spawnBackoffMax(spawnBackoffMax);
  }

  /** Pool name, used in logs, thread names and metrics. */
  public String name() {
    return name;
  }

  /** Workers kept alive even with no sessions; 0 lets the pool scale to zero. */
  public int min() {
    return min;
  }

  /** Hard cap on workers, starting ones included. */
  public int max() {
    return max;
  }

  /** Idle, ready workers kept as spares beyond those serving sessions (within {@link #max()}). */
  public int warm() {
    return warm;
  }

  /** Sessions that may wait for a worker at {@code max} before acquires are refused. */
  public int maxQueue() {
    return maxQueue;
  }

  /** Longest an acquire waits for a worker (queue and spawn together). */
  public Duration acquireTimeout() {
    return acquireTimeout;
  }

  /** A session with no open lease for this long ends ({@link SessionEndReason#EXPIRED}). */
  public Duration ttl() {
    return ttl;
  }

  /** When set, a session ends at this age whatever its activity. */
  public Optional<Duration> maxLifetime() {
    return Optional.ofNullable(maxLifetime);
  }

  /**
   * When set, a session with no open lease for this long is suspended: its worker's state is saved
   * and its process ends, and its next acquire starts it again from that state. The session keeps
   * its key and its TTL clock, so it still ends after {@link #ttl()} without a lease. Needs a
   * {@link SuspendableWorkerFactory}; shorter than {@link #ttl()}.
   */
  public Optional<Duration> suspendAfter() {
    return Optional.ofNullable(suspendAfter);
  }

  /**
   * Whether a worker freed by a session serves the next one (after a health check). Off by
   * default: every session starts on a process that has served nobody. Turn it on only for
   * workers that reset themselves completely between sessions.
   */
  public boolean reuse() {
    return reuse;
  }

  /** Recycle a worker after this many sessions; 0 means no limit. */
  public int maxSessionsPerWorker() {
    return maxSessionsPerWorker;
  }

  /** At {@code max} with sessions queued, end the least recently used idle session for them. */
  public boolean evictIdleOnPressure() {
    return evictIdleOnPressure;
  }

  /** Period of the liveness checks of every worker. */
  public Duration healthInterval() {
    return healthInterval;
  }

  /** Deadline of one liveness check. */
  public Duration healthTimeout() {
    return healthTimeout;
  }

  /** Consecutive failed checks after which a worker is removed as crashed. */
  public int healthFailures() {
    return healthFailures;
  }

  /** Delay before retrying after the first failed spawn; doubles per failure. */
  public Duration spawnBackoffInitial() {
    return spawnBackoffInitial;
  }

  /** Cap of the spawn retry delay. */
  public Duration spawnBackoffMax() {
    return spawnBackoffMax;
  }

  @Override
  public String toString() {
    return "PoolConfig{name=" + name + ", min=" + min + ", max=" + max + ", warm=" + warm
        + ", maxQueue=" + maxQueue + ", acquireTimeout=" + acquireTimeout + ", ttl=" + ttl
        + ", maxLifetime=" + maxLifetime + ", suspendAfter=" + suspendAfter + ", reuse=" + reuse
        + ", maxSessionsPerWorker="
        + maxSessionsPerWorker + ", evictIdleOnPressure=" + evictIdleOnPressure
        + ", healthInterval=" + healthInterval + ", healthTimeout=" + healthTimeout
        + ", healthFailures=" + healthFailures + "}";
  }

  /** Mutable builder; not thread-safe. Defaults suit a small interactive gateway. */
  public static final class Builder {
    private String name = "default";
    private int min = 0;
    private int max = 10;
    private int warm = 1;
    private int maxQueue = 1000;
    private Duration acquireTimeout = Duration.ofSeconds(30);
    private Duration ttl = Duration.ofMinutes(5);
    private Duration maxLifetime;
    private Duration suspendAfter;
    private boolean reuse = false;
    private int maxSessionsPerWorker = 0;
    private boolean evictIdleOnPressure = false;
    private Duration healthInterval = Duration.ofSeconds(5);
    private Duration healthTimeout = Duration.ofSeconds(2);
    private int healthFailures = 3;
    private Duration spawnBackoffInitial = Duration.ofMillis(100);
    private Duration spawnBackoffMax = Duration.ofSeconds(10);

    private Builder() {}

    public Builder name(String name) {
      this.name = name;
      return this;
    }

    public Builder min(int min) {
      this.min = min;
      return this;
    }

    public Builder max(int max) {
      this.max = max;
      return this;
    }

    public Builder warm(int warm) {
      this.warm = warm;
      return this;
    }

    public Builder maxQueue(int maxQueue) {
      this.maxQueue = maxQueue;
      return this;
    }

    public Builder acquireTimeout(Duration acquireTimeout) {
      this.acquireTimeout = acquireTimeout;
      return this;
    }

    public Builder ttl(Duration ttl) {
      this.ttl = ttl;
      return this;
    }

    /** {@code null} (the default) means sessions have no maximum age. */
    public Builder maxLifetime(Duration maxLifetime) {
      this.maxLifetime = maxLifetime;
      return this;
    }

    /** {@code null} (the default) means idle sessions are never suspended. */
    public Builder suspendAfter(Duration suspendAfter) {
      this.suspendAfter = suspendAfter;
      return this;
    }

    public Builder reuse(boolean reuse) {
      this.reuse = reuse;
      return this;
    }

    public Builder maxSessionsPerWorker(int maxSessionsPerWorker) {
      this.maxSessionsPerWorker = maxSessionsPerWorker;
      return this;
    }

    public Builder evictIdleOnPressure(boolean evictIdleOnPressure) {
      this.evictIdleOnPressure = evictIdleOnPressure;
      return this;
    }

    public Builder healthInterval(Duration healthInterval) {
      this.healthInterval = healthInterval;
      return this;
    }

    public Builder healthTimeout(Duration healthTimeout) {
      this.healthTimeout = healthTimeout;
      return this;
    }

    public Builder healthFailures(int healthFailures) {
      this.healthFailures = healthFailures;
      return this;
    }

    public Builder spawnBackoffInitial(Duration spawnBackoffInitial) {
      this.spawnBackoffInitial = spawnBackoffInitial;
      return this;
    }

    public Builder spawnBackoffMax(Duration spawnBackoffMax) {
      this.spawnBackoffMax = spawnBackoffMax;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws InvalidConfigException listing every invalid field
     */
    public PoolConfig build() {
      List<FieldProblem> problems = new ArrayList<>();
      if (name == null || name.isBlank() || !name.matches("[A-Za-z0-9._-]{1,64}")) {
        problems.add(FieldProblem.of("pool.name", name, "is invalid",
            "1-64 characters of letters, digits, '.', '_' or '-'"));
      }
      if (max < 1) {
        problems.add(FieldProblem.of("pool.max", max, "is too small", ">= 1"));
      }
      if (min < 0) {
        problems.add(FieldProblem.of("pool.min", min, "is negative", ">= 0"));
      } else if (max >= 1 && min > max) {
        problems.add(FieldProblem.of("pool.min", min, "exceeds pool.max", "<= " + max));
      }
      if (warm < 0) {
        problems.add(FieldProblem.of("pool.warm", warm, "is negative", ">= 0"));
      } else if (max >= 1 && warm > max) {
        problems.add(FieldProblem.of("pool.warm", warm, "exceeds pool.max", "<= " + max));
      }
      if (maxQueue < 0) {
        problems.add(FieldProblem.of("pool.maxQueue", maxQueue, "is negative", ">= 0"));
      }
      if (maxSessionsPerWorker < 0) {
        problems.add(FieldProblem.of("pool.maxSessionsPerWorker", maxSessionsPerWorker,
            "is negative", ">= 0, 0 = unlimited"));
      }
      if (healthFailures < 1) {
        problems.add(FieldProblem.of("pool.healthFailures", healthFailures, "is too small",
            ">= 1"));
      }
      requirePositive(problems, "pool.acquireTimeout", acquireTimeout);
      requirePositive(problems, "pool.ttl", ttl);
      if (maxLifetime != null) {
        requirePositive(problems, "pool.maxLifetime", maxLifetime);
      }
      if (suspendAfter != null) {
        requirePositive(problems, "pool.suspendAfter", suspendAfter);
        if (!suspendAfter.isNegative() && !suspendAfter.isZero() && ttl != null && !ttl.isNegative()
            && suspendAfter.compareTo(ttl) >= 0) {
          problems.add(FieldProblem.of("pool.suspendAfter", suspendAfter,
              "is not shorter than pool.ttl, so an idle session would expire before it could be "
                  + "suspended",
              "< pool.ttl = " + ttl + "; lower pool.suspendAfter or raise pool.ttl"));
        }
      }
      requirePositive(problems, "worker.health.interval", healthInterval);
      requirePositive(problems, "worker.health.timeout", healthTimeout);
      requirePositive(problems, "pool.spawnBackoffInitial", spawnBackoffInitial);
      requirePositive(problems, "pool.spawnBackoffMax", spawnBackoffMax);
      if (problems.isEmpty() && spawnBackoffMax.compareTo(spawnBackoffInitial) < 0) {
        problems.add(FieldProblem.of("pool.spawnBackoffMax", spawnBackoffMax,
            "is below pool.spawnBackoffInitial", ">= " + spawnBackoffInitial));
      }
      if (!problems.isEmpty()) {
        throw new InvalidConfigException(problems);
      }
      return new PoolConfig(this);
    }

    private static void requirePositive(List<FieldProblem> problems, String key, Duration value) {
      if (value == null) {
        problems.add(FieldProblem.of(key, null, "is missing", "a positive duration"));
      } else if (value.isNegative() || value.isZero()) {
        problems.add(FieldProblem.of(key, value, "is not positive", "> 0"));
      }
    }
  }
}
