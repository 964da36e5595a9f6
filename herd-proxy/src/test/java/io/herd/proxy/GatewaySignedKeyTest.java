package io.herd.proxy;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static io.herd.testkit.TestCertificate.trusting;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.herd.core.SessionInfo;
import io.herd.testkit.TestCertificate;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signed session keys at the front door: a verified key names its session by id only, keys expire
 * with {@code session.keyTtl}, and the issued cookie is {@code Secure} over TLS.
 */
@ExtendWith(LeakCheckExtension.class)
class GatewaySignedKeyTest {

  private static final String SECRET = "0123456789abcdef-test-secret";
  private static final SessionKeyRule COOKIE = SessionKeyRule.cookie("sid");

  @TempDir
  Path dir;

  private static int status(GatewayFixture fx, String cookie) {
    try (RawConnection c = new RawConnection(fx.gateway.port())) {
      return c.send("GET / HTTP/1.1\r\nHost: h\r\nCookie: sid=" + cookie + "\r\n\r\n").read().status();
    }
  }

  @Test
  void thePoolNamesASignedSessionByItsIdNeverByTheKey() {
    try (ScriptedWorker worker = new ScriptedWorker((r, out) -> out.write(ScriptedWorker.ok("ok")));
        GatewayFixture fx = new GatewayFixture(poolConfig(), COOKIE,
            options().signingSecret(SECRET).keyTtl(Duration.ofHours(1)), worker.factory())) {
      SessionKeySigner signer = new SessionKeySigner(SECRET.getBytes(StandardCharsets.UTF_8),
          Duration.ofHours(1), Clock.systemUTC());
      String key = signer.sign("alice");
      assertThat(status(fx, key)).isEqualTo(200);
      assertThat(fx.pool.sessions()).extracting(SessionInfo::key).containsExactly("alice");
      assertThat(worker.requests()).last().satisfies(seen ->
          assertThat(seen.header("Cookie")).as("the worker still gets the key it was sent")
              .isEqualTo("sid=" + key));
    }
  }

  @Test
  void anExpiredKeyIs401AndWithIssueKeysTheClientGetsANewSession() {
    SessionKeySigner past = new SessionKeySigner(SECRET.getBytes(StandardCharsets.UTF_8),
        Duration.ofHours(1), Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC));
    String expired = past.sign("old");
    try (ScriptedWorker worker = new ScriptedWorker((r, out) -> out.write(ScriptedWorker.ok("ok")))) {
      try (GatewayFixture fx = new GatewayFixture(poolConfig(), COOKIE,
              options().signingSecret(SECRET).keyTtl(Duration.ofHours(1)), worker.factory());
          RawConnection c = new RawConnection(fx.gateway.port())) {
        RawConnection.Response r =
            c.send("GET / HTTP/1.1\r\nHost: h\r\nCookie: sid=" + expired + "\r\n\r\n").read();
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.headers()).containsKey("www-authenticate");
        assertThat(r.body()).contains("expired");
        assertThat(status(fx, new SessionKeySigner(SECRET.getBytes(StandardCharsets.UTF_8)).sign("old")))
            .as("a key without expiry, once keys must expire").isEqualTo(401);
        assertThat(fx.pool.sessions()).isEmpty();
      }
      try (GatewayFixture fx = new GatewayFixture(poolConfig(), COOKIE,
              options().signingSecret(SECRET).keyTtl(Duration.ofHours(1)).issueKeys(true),
              worker.factory());
          RawConnection c = new RawConnection(fx.gateway.port())) {
        RawConnection.Response r =
            c.send("GET / HTTP/1.1\r\nHost: h\r\nCookie: sid=" + expired + "\r\n\r\n").read();
        assertThat(r.status()).isEqualTo(200);
        String setCookie = r.headers().get("set-cookie");
        assertThat(setCookie).startsWith("sid=").contains("Max-Age=3600").containsIgnoringCase("HttpOnly")
            .contains("SameSite=Lax").doesNotContain("Secure");
        String fresh = setCookie.substring(4, setCookie.indexOf(';'));
        assertThat(fresh).matches("[A-Za-z0-9_-]+\\.\\d+\\.[A-Za-z0-9_-]+");
        assertThat(fx.pool.sessions()).extracting(SessionInfo::key)
            .containsExactly(fresh.substring(0, fresh.indexOf('.')));
      }
    }
  }

  /**
   * The worker of a session the gateway started for a client sees that session's key: never the
   * expired key the client came with, which names another session (an application that reads its
   * cookie would act as that session inside this one), and not nothing either.
   */
  @Test
  void theWorkerOfAnIssuedSessionSeesItsNewKeyNotTheOneTheClientSent() {
    SessionKeySigner past = new SessionKeySigner(SECRET.getBytes(StandardCharsets.UTF_8),
        Duration.ofHours(1), Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC));
    String expired = past.sign("alice");
    try (ScriptedWorker worker = new ScriptedWorker((r, out) -> out.write(ScriptedWorker.ok("ok")));
        GatewayFixture fx = new GatewayFixture(poolConfig(), COOKIE,
            options().signingSecret(SECRET).keyTtl(Duration.ofHours(1)).issueKeys(true),
            worker.factory());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response r = c.send("GET / HTTP/1.1\r\nHost: h\r\nCookie: theme=dark; sid="
          + expired + "; lang=en\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      String fresh = issued(r);
      assertThat(worker.requests()).last().satisfies(seen -> assertThat(seen.header("Cookie"))
          .as("the new session's key, the client's other cookies kept")
          .isEqualTo("theme=dark; lang=en; sid=" + fresh));

      RawConnection.Response second = c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n").read();
      assertThat(second.status()).isEqualTo(200);
      String another = issued(second);
      assertThat(worker.requests()).last().satisfies(seen ->
          assertThat(seen.header("Cookie")).isEqualTo("sid=" + another));
    }
  }

  private static String issued(RawConnection.Response r) {
    String setCookie = r.headers().get("set-cookie");
    assertThat(setCookie).startsWith("sid=");
    return setCookie.substring(4, setCookie.indexOf(';'));
  }

  @Test
  void theIssuedCookieIsSecureWhenTheFrontDoorIsTls() throws Exception {
    Optional<TestCertificate> made = TestCertificate.create(dir);
    assumeThat(made).as("a certificate made by the openssl CLI").isPresent();
    Path cert = made.get().cert();
    Path key = made.get().key();

    try (ScriptedWorker worker = new ScriptedWorker((r, out) -> out.write(ScriptedWorker.ok("ok")));
        GatewayFixture fx = new GatewayFixture(poolConfig(), COOKIE,
            options().signingSecret(SECRET).issueKeys(true), worker.factory(),
            SslContextBuilder.forServer(cert.toFile(), key.toFile()).build())) {
      HttpClient https = HttpClient.newBuilder().sslContext(trusting(cert))
          .connectTimeout(Duration.ofSeconds(5)).build();
      HttpResponse<String> r = https.send(HttpRequest.newBuilder(fx.gateway.uri())
          .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("set-cookie")).hasValueSatisfying(c ->
          assertThat(c).contains("Secure").containsIgnoringCase("HttpOnly").contains("SameSite=Lax"));
    }
  }

}
