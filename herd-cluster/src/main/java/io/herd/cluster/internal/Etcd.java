package io.herd.cluster.internal;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Txn;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseGrantResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The cluster's etcd client: jetcd with every request bounded by the configured timeout, so that no
 * future the cluster waits on stays pending while etcd is unreachable.
 *
 * <p>jetcd is set up to fail fast ({@code waitForReady(false)}): a request made while the channel
 * is down fails at once with {@code UNAVAILABLE} instead of waiting for a connection. A request
 * that timed out here may still reach etcd later; every write the cluster makes is therefore either
 * a create-if-absent, guarded by a compare on a revision, or harmless when repeated (see {@code
 * Claims}).
 *
 * <p>Thread-safe. Futures complete on jetcd's threads: dependents must be quick and never block.
 * Lifetime: from construction to {@link #close()}.
 */
final class Etcd implements AutoCloseable {

  private static final int PAGE = 1000;
  private static final int MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

  private final Client client;
  private final Duration timeout;

  Etcd(List<URI> endpoints, Duration timeout) {
    this.timeout = timeout;
    this.client =
        Client.builder()
            .endpoints(endpoints)
            .waitForReady(false)
            .connectTimeout(timeout)
            .retryMaxAttempts(1)
            .retryDelay(100)
            .retryMaxDelay(500)
            // A lease expiry deletes all of a gateway's claims in one revision: one watch message.
            .maxInboundMessageSize(MAX_MESSAGE_BYTES)
            .build();
  }

  CompletableFuture<LeaseGrantResponse> grant(long ttlSeconds) {
    return timed(client.getLeaseClient().grant(ttlSeconds));
  }

  /** Fails with an {@link EtcdException} {@link ErrorCode#NOT_FOUND} when the lease is gone. */
  CompletableFuture<LeaseKeepAliveResponse> keepAliveOnce(long lease) {
    return timed(client.getLeaseClient().keepAliveOnce(lease));
  }

  CompletableFuture<Void> revoke(long lease) {
    return timed(client.getLeaseClient().revoke(lease)).thenApply(r -> null);
  }

  /** A transaction; commit it through {@link #commit(Txn)}. */
  Txn txn() {
    return client.getKVClient().txn();
  }

  CompletableFuture<TxnResponse> commit(Txn txn) {
    return timed(txn.commit());
  }

  CompletableFuture<Void> put(ByteSequence key, ByteSequence value, long lease) {
    return timed(
            client.getKVClient().put(key, value, PutOption.builder().withLeaseId(lease).build()))
        .thenApply(r -> null);
  }

  CompletableFuture<GetResponse> get(ByteSequence key) {
    return timed(client.getKVClient().get(key));
  }

  /** Every key under {@code prefix} at one revision, read in pages. */
  CompletableFuture<Snapshot> snapshot(ByteSequence prefix) {
    return page(prefix, prefix, 0, new ArrayList<>());
  }

  /** Everything under a prefix at {@link #revision}. */
  record Snapshot(long revision, List<KeyValue> kvs) {}

  private CompletableFuture<Snapshot> page(
      ByteSequence prefix, ByteSequence from, long revision, List<KeyValue> into) {
    GetOption.Builder option =
        GetOption.builder()
            .withRange(io.etcd.jetcd.options.OptionsUtil.prefixEndOf(prefix))
            .withLimit(PAGE);
    if (revision > 0) {
      option.withRevision(revision);
    }
    return timed(client.getKVClient().get(from, option.build()))
        .thenCompose(
            response -> {
              into.addAll(response.getKvs());
              long rev = revision > 0 ? revision : response.getHeader().getRevision();
              if (!response.isMore() || response.getKvs().isEmpty()) {
                return CompletableFuture.completedFuture(new Snapshot(rev, into));
              }
              KeyValue last = response.getKvs().get(response.getKvs().size() - 1);
              ByteSequence next = last.getKey().concat(ByteSequence.from(new byte[] {0}));
              return page(prefix, next, rev, into);
            });
  }

  /** Watches every key under {@code prefix} from {@code revision} on. */
  Watch.Watcher watch(ByteSequence prefix, long revision, Watch.Listener listener) {
    WatchOption option =
        WatchOption.builder().isPrefix(true).withRevision(revision).withPrevKV(false).build();
    return client.getWatchClient().watch(prefix, option, listener);
  }

  @Override
  public void close() {
    client.close();
  }

  private <T> CompletableFuture<T> timed(CompletableFuture<T> future) {
    // A copy, so that the timeout does not complete jetcd's own future under its feet.
    return future.thenApply(r -> r).orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The cause behind the wrappers of a failed future. */
  static Throwable unwrap(Throwable error) {
    Throwable e = error;
    while ((e instanceof CompletionException || e instanceof ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  /** Whether {@code error} says the lease it was about does not exist (any more). */
  static boolean isLeaseNotFound(Throwable error) {
    Throwable e = unwrap(error);
    return e instanceof EtcdException ee
        && ee.getErrorCode() == ErrorCode.NOT_FOUND
        && String.valueOf(ee.getMessage()).contains("lease not found");
  }

  /** A short description of a failure, for logs and 503 bodies: no stack trace. */
  static String describe(Throwable error) {
    Throwable e = unwrap(error);
    if (e instanceof TimeoutException) {
      return "no answer within the request timeout";
    }
    String message = e.getMessage();
    return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}
