package io.herd.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A self-signed certificate for {@code localhost} and {@code 127.0.0.1}, made by the {@code
 * openssl} command line tool, for tests of the TLS front door. Made with the real tool rather
 * than a library so that the tests read PEM files as an operator's would be.
 *
 * @param cert the certificate, PEM
 * @param key its unencrypted private key, PEM
 */
public record TestCertificate(Path cert, Path key) {

  /**
   * Writes {@code cert.pem} and {@code key.pem} (RSA 2048, valid one day) into {@code dir}.
   *
   * @return the certificate, or empty when {@code openssl} is missing or fails (tests then skip)
   */
  public static Optional<TestCertificate> create(Path dir) throws InterruptedException {
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    Process p;
    try {
      p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
          "-keyout", key.toString(), "-out", cert.toString(), "-days", "1",
          "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
          .redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
    } catch (IOException e) {
      return Optional.empty();
    }
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
      return Optional.empty();
    }
    return p.exitValue() == 0 ? Optional.of(new TestCertificate(cert, key)) : Optional.empty();
  }

  /** A client context that trusts {@code cert} (and nothing else): what a client of the test uses. */
  public static SSLContext trusting(Path cert) throws IOException, GeneralSecurityException {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    try (InputStream in = Files.newInputStream(cert)) {
      store.setCertificateEntry("herd", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }
}
