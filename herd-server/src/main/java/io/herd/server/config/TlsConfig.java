package io.herd.server.config;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * TLS on the gateway's front door ({@code tls:}): a PEM certificate chain and its PEM private key
 * (PKCS#8, unencrypted). Immutable.
 *
 * @param cert the certificate chain file
 * @param key the private key file
 */
public record TlsConfig(Path cert, Path key) {

  /**
   * A server context from the files; fails when they do not parse or do not match.
   *
   * @throws SSLException saying what is wrong with them
   */
  public SslContext newServerContext() throws SSLException {
    try {
      return SslContextBuilder.forServer(cert.toFile(), key.toFile()).build();
    } catch (IllegalArgumentException e) {
      throw new SSLException(e.getMessage(), e);
    }
  }

  /** Binds {@code tls:}; absent when the section is. Paths are relative to {@code baseDir}. */
  static Optional<TlsConfig> bind(SectionReader r, Path baseDir, boolean present) {
    Optional<String> cert = r.string("cert");
    Optional<String> key = r.string("key");
    r.finish();
    if (!present) {
      return Optional.empty();
    }
    Path certFile = file(r, "cert", cert, baseDir);
    Path keyFile = file(r, "key", key, baseDir);
    if (certFile == null || keyFile == null) {
      return Optional.empty();
    }
    TlsConfig tls = new TlsConfig(certFile, keyFile);
    try {
      tls.newServerContext();
    } catch (SSLException | RuntimeException e) {
      r.error("cert", "tls.cert and tls.key do not make a server certificate: " + certFile
          + " + " + keyFile + " (expected: a PEM certificate chain and its unencrypted PEM"
          + " private key; " + rootCause(e) + ")");
      return Optional.empty();
    }
    return Optional.of(tls);
  }

  private static Path file(SectionReader r, String name, Optional<String> value, Path baseDir) {
    String key = r.keyOf(name);
    if (value.isEmpty() || value.get().isBlank()) {
      r.error(name, key + " is missing: none (expected: the path of a PEM file)");
      return null;
    }
    Path path = baseDir.resolve(value.get()).normalize();
    if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
      r.error(name, key + " is not a readable file: " + path + " (expected: the path of a PEM"
          + " file)");
      return null;
    }
    return path;
  }

  private static String rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }
}
