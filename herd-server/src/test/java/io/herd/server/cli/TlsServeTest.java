package io.herd.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.herd.server.HerdProcess;
import io.herd.server.TestConfigs;
import io.herd.server.config.HerdConfigLoader;
import io.herd.server.config.InvalidConfigFileException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS on the front door: a self-signed certificate made with the {@code openssl} CLI (skipped
 * where it is missing), {@code herd serve} with {@code tls:}, and an HTTPS client that trusts
 * exactly that certificate.
 */
class TlsServeTest {

  @TempDir
  static Path dir;

  static Path cert;
  static Path key;

  @BeforeAll
  static void makeCertificate() throws Exception {
    cert = dir.resolve("cert.pem");
    key = dir.resolve("key.pem");
    Process p;
    try {
      p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
          "-keyout", key.toString(), "-out", cert.toString(), "-days", "1",
          "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
          .redirectErrorStream(true).start();
    } catch (java.io.IOException e) {
      p = null;
    }
    assumeThat(p).as("the openssl CLI").isNotNull();
    p.getInputStream().readAllBytes();
    assumeThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0).isTrue();
  }

  @Test
  void gatewayServesHttpsWithTheConfiguredCertificate() throws Exception {
    Path config = TestConfigs.write(dir, "header:X-Session-ID",
        "tls: { cert: cert.pem, key: key.pem }\n");
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      String base = herd.awaitServing(Duration.ofSeconds(60));
      assertThat(base).startsWith("https://127.0.0.1:");

      HttpClient client = HttpClient.newBuilder().sslContext(trusting(cert))
          .connectTimeout(Duration.ofSeconds(5)).build();
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(base + "/pid"))
          .header("X-Session-ID", "alice").timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(Long.parseLong(r.body())).isPositive();
      assertThat(r.sslSession()).isPresent();
      HttpResponse<String> echo = client.send(HttpRequest.newBuilder(URI.create(base + "/echo"))
          .header("X-Session-ID", "alice").timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(echo.body())
          .as("the worker is told the client came over https")
          .containsPattern("(?i)header x-forwarded-proto: https");
      assertThat(herd.terminate(Duration.ofSeconds(20))).isZero();
      assertThat(herd.survivors()).isEmpty();
    }
  }

  @Test
  void keyThatDoesNotParseIsAConfigErrorAtItsLine() throws Exception {
    Files.writeString(dir.resolve("bad-key.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n"
        + "-----END PRIVATE KEY-----\n");
    String yaml = "worker:\n  command: [sh]\ntls:\n  cert: cert.pem\n  key: bad-key.pem\n";

    InvalidConfigFileException e = org.assertj.core.api.Assertions.catchThrowableOfType(
        InvalidConfigFileException.class, () -> new HerdConfigLoader(Map.of()).parse("herd.yaml",
            yaml, dir, HerdConfigLoader.Overrides.NONE));

    assertThat(e.problems()).hasSize(1);
    assertThat(e.problems().get(0).toString()).startsWith("herd.yaml:4: tls.cert and tls.key do"
        + " not make a server certificate: " + dir.resolve("cert.pem") + " + "
        + dir.resolve("bad-key.pem") + " (expected: a PEM certificate chain and its unencrypted"
        + " PEM private key; ");
  }

  private static SSLContext trusting(Path pem) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    try (InputStream in = Files.newInputStream(pem)) {
      X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(in);
      store.setCertificateEntry("herd", c);
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }
}
