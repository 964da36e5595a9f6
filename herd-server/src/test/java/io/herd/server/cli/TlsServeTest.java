package io.herd.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static io.herd.testkit.TestCertificate.trusting;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.herd.server.HerdProcess;
import io.herd.server.TestConfigs;
import io.herd.server.config.HerdConfig;
import io.herd.server.config.HerdConfigLoader;
import io.herd.server.config.InvalidConfigFileException;
import io.herd.server.config.TlsConfig;
import io.herd.testkit.TestCertificate;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS on the front door: a self-signed certificate made with the {@code openssl} CLI (skipped
 * where it is missing), {@code herd serve} with {@code tls:}, and an HTTPS client that trusts
 * exactly that certificate; which versions and suites a real client can (not) negotiate; and the
 * validation of {@code tls.protocols} / {@code tls.ciphers}.
 */
class TlsServeTest {

  @TempDir
  static Path dir;

  static Path cert;
  static Path key;

  @BeforeAll
  static void makeCertificate() throws Exception {
    Optional<TestCertificate> made = TestCertificate.create(dir);
    assumeThat(made).as("a certificate made by the openssl CLI").isPresent();
    cert = made.get().cert();
    key = made.get().key();
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

    InvalidConfigFileException e = catchThrowableOfType(
        InvalidConfigFileException.class, () -> new HerdConfigLoader(Map.of()).parse("herd.yaml",
            yaml, dir, HerdConfigLoader.Overrides.NONE));

    assertThat(e.problems()).hasSize(1);
    assertThat(e.problems().get(0).toString()).startsWith("herd.yaml:4: tls.cert and tls.key do"
        + " not make a server certificate: " + dir.resolve("cert.pem") + " + "
        + dir.resolve("bad-key.pem") + " (expected: a PEM certificate chain and its unencrypted"
        + " PEM private key; ");
  }

  @Test
  void defaultsRefuseStaticRsaCbcSuitesAndTls11AndAcceptForwardSecretAeadSuites()
      throws Exception {
    Path config = TestConfigs.write(dir, "header:X-Session-ID",
        "tls: { cert: cert.pem, key: key.pem }\n");
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      int port = URI.create(herd.awaitServing(Duration.ofSeconds(60))).getPort();

      assertThat(handshake(port, "TLSv1.3", null)).as("TLS 1.3 with any of its suites")
          .matches("TLSv1\\.3 TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)");
      assertThat(handshake(port, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"))
          .isEqualTo("TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
      assertThat(handshake(port, "TLSv1.2", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"))
          .isEqualTo("TLSv1.2 TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
      assertThatThrownBy(() -> handshake(port, "TLSv1.2", "TLS_RSA_WITH_AES_128_CBC_SHA"))
          .as("AES128-SHA: no forward secrecy, CBC").isInstanceOf(SSLHandshakeException.class);
      assertThatThrownBy(() -> handshake(port, "TLSv1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256"))
          .as("AES128-GCM-SHA256: no forward secrecy").isInstanceOf(SSLHandshakeException.class);
      assertThatThrownBy(() -> handshake(port, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"))
          .as("ECDHE-RSA-AES128-SHA: CBC").isInstanceOf(SSLHandshakeException.class);

      // The JDK's client cannot even offer TLS 1.1; openssl can, at security level 0.
      String tls11 = openssl(port, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0");
      assertThat(tls11).as("the client connected and offered TLS 1.1").contains("CONNECTED")
          .doesNotContain("no protocols available");
      assertThat(tls11).as("herd refused it").contains("alert protocol version")
          .contains("Cipher is (NONE)");
      String aes128sha = openssl(port, "-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0");
      assertThat(aes128sha).contains("CONNECTED").contains("alert handshake failure")
          .contains("Cipher is (NONE)");
      assertThat(openssl(port, "-tls1_2")).as("openssl's TLS 1.2 defaults")
          .containsPattern("Cipher is ECDHE-RSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)");
      assertThat(herd.terminate(Duration.ofSeconds(30))).isZero();
      assertThat(herd.survivors()).isEmpty();
    }
  }

  @Test
  void configuredProtocolsAndCiphersReplaceTheDefaults() throws Exception {
    Path config = TestConfigs.write(dir, "header:X-Session-ID", """
        tls:
          cert: cert.pem
          key: key.pem
          protocols: [TLSv1.3, TLSv1.2]
          ciphers: [TLS_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA]
        """);
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      int port = URI.create(herd.awaitServing(Duration.ofSeconds(60))).getPort();

      assertThat(handshake(port, "TLSv1.2", "TLS_RSA_WITH_AES_128_CBC_SHA"))
          .as("listed, so accepted").isEqualTo("TLSv1.2 TLS_RSA_WITH_AES_128_CBC_SHA");
      assertThat(handshake(port, "TLSv1.3", null)).isEqualTo("TLSv1.3 TLS_AES_128_GCM_SHA256");
      assertThatThrownBy(() -> handshake(port, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"))
          .as("a default that is not listed").isInstanceOf(SSLHandshakeException.class);
      assertThat(herd.stderr()).as("a deliberate weak suite is warned about")
          .anyMatch(l -> l.contains("tls.ciphers[1] is not forward-secret:"
              + " TLS_RSA_WITH_AES_128_CBC_SHA"));
      assertThat(herd.terminate(Duration.ofSeconds(30))).isZero();
    }
  }

  @Test
  void unknownProtocolAndCipherNamesAreErrorsWithDidYouMean() {
    String yaml = """
        worker: { command: [sh] }
        tls:
          cert: cert.pem
          key: key.pem
          protocols: [TLS1.2, TLSv1.1]
          ciphers:
            - ECDHE-RSA-AES128-GCM-SHA256
            - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265
            - TLS_FANCY
        """;

    InvalidConfigFileException e = catchThrowableOfType(InvalidConfigFileException.class,
        () -> new HerdConfigLoader(Map.of()).parse("herd.yaml", yaml, dir,
            HerdConfigLoader.Overrides.NONE));

    assertThat(e.problems()).extracting(Object::toString).containsExactly(
        "herd.yaml:5: tls.protocols[0] is not a TLS version: TLS1.2, did you mean TLSv1.2?"
            + " (expected: TLSv1.3 or TLSv1.2)",
        "herd.yaml:5: tls.protocols[1] is disabled in this JVM: TLSv1.1 (expected: TLSv1.3 or"
            + " TLSv1.2; versions before TLS 1.2 are obsolete, RFC 8996, and the JDK's"
            + " jdk.tls.disabledAlgorithms turns them off)",
        "herd.yaml:7: tls.ciphers[0] is not a cipher suite this JVM knows:"
            + " ECDHE-RSA-AES128-GCM-SHA256, did you mean TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256?"
            + " (expected: IANA names as Java spells them, e.g."
            + " TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)",
        "herd.yaml:8: tls.ciphers[1] is not a cipher suite this JVM knows:"
            + " TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265, did you mean"
            + " TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256? (expected: IANA names as Java spells"
            + " them, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)",
        "herd.yaml:9: tls.ciphers[2] is not a cipher suite this JVM knows: TLS_FANCY"
            + " (expected: IANA names as Java spells them, e.g."
            + " TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
  }

  @Test
  void aProtocolWithoutASuiteOfItsOwnIsAnError() {
    String yaml = """
        worker: { command: [sh] }
        tls: { cert: cert.pem, key: key.pem, protocols: [TLSv1.3],
               ciphers: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256] }
        """;

    InvalidConfigFileException e = catchThrowableOfType(InvalidConfigFileException.class,
        () -> new HerdConfigLoader(Map.of()).parse("herd.yaml", yaml, dir,
            HerdConfigLoader.Overrides.NONE));

    assertThat(e.problems()).extracting(Object::toString).containsExactly(
        "herd.yaml:3: tls.ciphers has no suite for TLSv1.3:"
            + " [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256] (expected: a TLS 1.3 suite such as"
            + " TLS_AES_128_GCM_SHA256, or TLSv1.3 removed from tls.protocols)");
  }

  @Test
  void defaultsAreTls13And12WithForwardSecretAeadSuitesOnly() {
    HerdConfig c = new HerdConfigLoader(Map.of()).parse("herd.yaml",
        "worker: { command: [sh], workdir: / }\ntls: { cert: cert.pem, key: key.pem }\n", dir,
        HerdConfigLoader.Overrides.NONE);

    TlsConfig tls = c.tls().orElseThrow();
    assertThat(tls.protocols()).containsExactly("TLSv1.3", "TLSv1.2");
    assertThat(tls.ciphers()).allSatisfy(suite -> assertThat(suite)
        .matches("TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)"
            + "|TLS_ECDHE_(RSA|ECDSA)_WITH_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)"));
    assertThat(c.warnings()).isEmpty();
  }

  /**
   * Handshakes with the gateway offering only {@code protocol} and, when given, only {@code
   * suite}; answers "protocol suite" as negotiated.
   */
  private static String handshake(int port, String protocol, String suite) throws Exception {
    try (SSLSocket socket = (SSLSocket) trusting(cert).getSocketFactory()
        .createSocket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(30_000);
      socket.setEnabledProtocols(new String[] {protocol});
      if (suite != null) {
        socket.setEnabledCipherSuites(new String[] {suite});
      }
      socket.startHandshake();
      return socket.getSession().getProtocol() + " " + socket.getSession().getCipherSuite();
    }
  }

  /** {@code openssl s_client} against the gateway with {@code args}; its whole output. */
  private static String openssl(int port, String... args) throws Exception {
    List<String> argv = new ArrayList<>(List.of("openssl", "s_client", "-connect",
        "127.0.0.1:" + port, "-servername", "localhost"));
    argv.addAll(List.of(args));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    p.getOutputStream().close(); // EOF on stdin: s_client quits after the handshake
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("openssl s_client exits").isTrue();
    return out;
  }

}
