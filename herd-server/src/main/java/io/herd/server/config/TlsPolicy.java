package io.herd.server.config;

import io.netty.handler.ssl.CipherSuiteConverter;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * Which TLS versions and cipher suites the gateway's front door accepts ({@code tls.protocols},
 * {@code tls.ciphers}), and the check of configured names against what this JVM can do.
 *
 * <p>The defaults admit only what protects past traffic if the server's key leaks and resists
 * padding-oracle attacks: TLS 1.3 (all of whose suites are forward-secret AEAD), and TLS 1.2 with
 * ECDHE key exchange and AES-GCM or ChaCha20-Poly1305. Static-RSA suites ({@code AES128-SHA},
 * i.e. {@code TLS_RSA_WITH_AES_128_CBC_SHA}) and CBC suites are off; so is everything before TLS
 * 1.2 (RFC 8996). Every client of the last decade speaks at least one default suite.
 *
 * <p>Names are the IANA names the JDK uses; an OpenSSL name ({@code ECDHE-RSA-AES128-GCM-SHA256})
 * is refused with the IANA name as a hint, never silently translated. Stateless.
 */
final class TlsPolicy {

  /** TLS 1.3 and 1.2. */
  static final List<String> DEFAULT_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

  /** Forward-secret AEAD suites: all of TLS 1.3's, and TLS 1.2's ECDHE with GCM or ChaCha20. */
  static final List<String> DEFAULT_CIPHERS = List.of(
      "TLS_AES_256_GCM_SHA384",
      "TLS_AES_128_GCM_SHA256",
      "TLS_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

  private TlsPolicy() {}

  /**
   * {@code tls.protocols}: the defaults when absent; null after reporting errors.
   *
   * @param written the list as read, null when absent or not a list
   */
  static List<String> bindProtocols(SectionReader r, List<String> written) {
    if (written == null) {
      return r.has("protocols") ? null : DEFAULT_PROTOCOLS;
    }
    String key = r.keyOf("protocols");
    SSLParameters jvm = jvmParameters();
    List<String> supported = Arrays.asList(jvm.getProtocols()); // what the JVM's policy enables
    List<String> known = Arrays.asList(supportedParameters().getProtocols());
    if (written.isEmpty()) {
      r.error("protocols", key + " is empty: [] (expected: one or more of "
          + String.join(", ", supported) + ")");
      return null;
    }
    boolean ok = true;
    for (int i = 0; i < written.size(); i++) {
      String name = written.get(i);
      String itemKey = key + "[" + i + "]";
      if (supported.contains(name)) {
        continue;
      }
      ok = false;
      if (known.contains(name)) {
        r.problems().errorAt(itemKey, itemKey + " is disabled in this JVM: " + name
            + " (expected: " + String.join(" or ", supported) + "; versions before TLS 1.2 are"
            + " obsolete, RFC 8996, and the JDK's jdk.tls.disabledAlgorithms turns them off)");
      } else {
        r.problems().errorAt(itemKey, itemKey + " is not a TLS version: " + name
            + hint(name, supported) + " (expected: " + String.join(" or ", supported) + ")");
      }
    }
    return ok ? List.copyOf(new LinkedHashSet<>(written)) : null;
  }

  /**
   * {@code tls.ciphers}: the defaults when absent; null after reporting errors. Warns about
   * suites that are not forward-secret or not AEAD, which only a deliberate choice puts here.
   */
  static List<String> bindCiphers(SectionReader r, List<String> written, List<String> protocols) {
    if (written == null) {
      if (r.has("ciphers")) {
        return null;
      }
      return protocols == null ? DEFAULT_CIPHERS : usable(DEFAULT_CIPHERS, protocols, r);
    }
    String key = r.keyOf("ciphers");
    Set<String> supported = new LinkedHashSet<>(Arrays.asList(
        supportedParameters().getCipherSuites()));
    supported.remove("TLS_EMPTY_RENEGOTIATION_INFO_SCSV"); // a signal, not a suite
    if (written.isEmpty()) {
      r.error("ciphers", key + " is empty: [] (expected: one or more cipher suites, e.g. "
          + DEFAULT_CIPHERS.get(1) + ")");
      return null;
    }
    boolean ok = true;
    for (int i = 0; i < written.size(); i++) {
      String name = written.get(i);
      String itemKey = key + "[" + i + "]";
      if (!supported.contains(name)) {
        ok = false;
        String iana = CipherSuiteConverter.toJava(name, "TLS");
        String hint = iana != null && !iana.equals(name) && supported.contains(iana)
            ? ", did you mean " + iana + "?" : hint(name, supported);
        r.problems().errorAt(itemKey, itemKey + " is not a cipher suite this JVM knows: " + name
            + hint + " (expected: IANA names as Java spells them, e.g. "
            + DEFAULT_CIPHERS.get(7) + ")");
        continue;
      }
      if (!isTls13(name) && !name.startsWith("TLS_ECDHE_") && !name.startsWith("TLS_DHE_")) {
        r.problems().warning(r.problems().lineOf(itemKey), "warning: " + itemKey + " is not"
            + " forward-secret: " + name + " (expected: an ECDHE suite; allowed, since it is"
            + " listed, but a leaked server key then decrypts recorded traffic)");
      } else if (!isTls13(name) && !name.contains("_GCM_") && !name.contains("_CHACHA20_")) {
        r.problems().warning(r.problems().lineOf(itemKey), "warning: " + itemKey + " is not an"
            + " AEAD suite: " + name + " (expected: AES-GCM or ChaCha20-Poly1305; allowed,"
            + " since it is listed)");
      }
    }
    if (!ok || protocols == null) {
      return null;
    }
    return usable(List.copyOf(new LinkedHashSet<>(written)), protocols, r);
  }

  /** {@code ciphers}, after checking that each protocol has one of them; null after an error. */
  private static List<String> usable(List<String> ciphers, List<String> protocols,
      SectionReader r) {
    for (String protocol : protocols) {
      boolean tls13 = protocol.equals("TLSv1.3");
      if (ciphers.stream().noneMatch(c -> isTls13(c) == tls13)) {
        r.error(r.has("ciphers") ? "ciphers" : "protocols", r.keyOf("ciphers")
            + " has no suite for " + protocol + ": " + ciphers + " (expected: "
            + (tls13 ? "a TLS 1.3 suite such as TLS_AES_128_GCM_SHA256" : "a TLS 1.2 suite such"
                + " as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") + ", or " + protocol
            + " removed from tls.protocols)");
        return null;
      }
    }
    return ciphers;
  }

  /** TLS 1.3 suites name no key exchange: {@code TLS_AES_128_GCM_SHA256}. */
  static boolean isTls13(String suite) {
    return suite.startsWith("TLS_") && !suite.contains("_WITH_");
  }

  private static String hint(String name, Collection<String> candidates) {
    for (String c : candidates) {
      if (c.equalsIgnoreCase(name)) {
        return ", did you mean " + c + "?";
      }
    }
    String closest = KeySuggestions.closest(name.toUpperCase(Locale.ROOT),
        candidates.stream().map(c -> c.toUpperCase(Locale.ROOT)).toList());
    if (closest == null) {
      return "";
    }
    for (String c : candidates) {
      if (c.equalsIgnoreCase(closest)) {
        return ", did you mean " + c + "?";
      }
    }
    return "";
  }

  /** What the JVM enables by default (its security policy applied). */
  private static SSLParameters jvmParameters() {
    return context().getDefaultSSLParameters();
  }

  /** Everything the JVM implements, enabled or not. */
  private static SSLParameters supportedParameters() {
    return context().getSupportedSSLParameters();
  }

  private static SSLContext context() {
    try {
      return SSLContext.getDefault();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no TLS implementation", e);
    }
  }
}
