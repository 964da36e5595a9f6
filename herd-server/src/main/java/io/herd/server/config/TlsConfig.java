package io.herd.server.config;

import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * TLS on the gateway's front door ({@code tls:}): a PEM certificate chain and its PEM private key
 * (PKCS#8, unencrypted), and the protocol versions and cipher suites it accepts — by default TLS
 * 1.3 and TLS 1.2 with forward-secret AEAD suites only (see {@link TlsPolicy}). Immutable.
 *
 * @param cert the certificate chain file
 * @param key the private key file
 * @param protocols the TLS versions accepted, e.g. {@code TLSv1.3}
 * @param ciphers the cipher suites accepted, by IANA name, in order of preference
 */
public record TlsConfig(Path cert, Path key, List<String> protocols, List<String> ciphers) {

  public TlsConfig {
    Objects.requireNonNull(cert, "cert");
    Objects.requireNonNull(key, "key");
    protocols = List.copyOf(protocols);
    ciphers = List.copyOf(ciphers);
  }

  /** The files with the default versions and suites. */
  public TlsConfig(Path cert, Path key) {
    this(cert, key, TlsPolicy.DEFAULT_PROTOCOLS, TlsPolicy.DEFAULT_CIPHERS);
  }

  /**
   * A server context from the files, accepting exactly {@code protocols} and {@code ciphers}
   * (names the JVM does not support are never dropped silently: binding refused them already).
   *
   * @throws SSLException saying what is wrong with the files
   */
  public SslContext newServerContext() throws SSLException {
    try {
      return SslContextBuilder.forServer(cert.toFile(), key.toFile())
          .protocols(protocols)
          .ciphers(ciphers, IdentityCipherSuiteFilter.INSTANCE)
          .build();
    } catch (IllegalArgumentException e) {
      throw new SSLException(e.getMessage(), e);
    }
  }

  /** Binds {@code tls:}; absent when the section is. Paths are relative to {@code baseDir}. */
  static Optional<TlsConfig> bind(SectionReader r, Path baseDir, boolean present) {
    Optional<String> cert = r.string("cert");
    Optional<String> key = r.string("key");
    // null when absent, or when not a list (that error is reported already)
    List<String> writtenProtocols = r.stringList("protocols", null);
    List<String> writtenCiphers = r.stringList("ciphers", null);
    r.finish();
    if (!present) {
      return Optional.empty();
    }
    List<String> protocols = TlsPolicy.bindProtocols(r, writtenProtocols);
    List<String> ciphers = TlsPolicy.bindCiphers(r, writtenCiphers, protocols);
    Path certFile = file(r, "cert", cert, baseDir);
    Path keyFile = file(r, "key", key, baseDir);
    if (certFile == null || keyFile == null || protocols == null || ciphers == null) {
      return Optional.empty();
    }
    TlsConfig tls = new TlsConfig(certFile, keyFile, protocols, ciphers);
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
