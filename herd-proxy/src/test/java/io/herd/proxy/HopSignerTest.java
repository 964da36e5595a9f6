package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.proxy.HopSigner.Status;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class HopSignerTest {

  private static final String SECRET = "s3cret-s3cret-s3cret-s3cret-0123"; // 32 characters
  private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");

  private static HopSigner at(String node, Instant now) {
    return new HopSigner(node, SECRET, Clock.fixed(now, ZoneOffset.UTC));
  }

  private final HopSigner a = at("gw-a", NOW);
  private final HopSigner b = at("gw-b", NOW);

  @Test
  void aSignedHopVerifiesOnThePeerAndNamesItsSender() {
    String header = a.sign("alice", "GET", "/x?y=1");

    HopSigner.Verification v = b.verify(header, "alice", "GET", "/x?y=1");

    assertThat(v.status()).isEqualTo(Status.VALID);
    assertThat(v.valid()).isTrue();
    assertThat(v.node()).isEqualTo("gw-a");
  }

  @Test
  void theHeaderIsVersionNodeMillisAndTheBase64urlHmacOfTheDocumentedPayload() throws Exception {
    String header = a.sign("alice", "POST", "/upload");

    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    String millis = Long.toString(NOW.toEpochMilli());
    byte[] expected = mac.doFinal(("v1\ngw-a\n" + millis + "\nalice\nPOST\n/upload")
        .getBytes(StandardCharsets.UTF_8));
    assertThat(header).isEqualTo("v1 gw-a " + millis + " "
        + Base64.getUrlEncoder().withoutPadding().encodeToString(expected));
  }

  @Test
  void aHopForAnotherKeyMethodOrTargetDoesNotVerify() {
    String header = a.sign("alice", "GET", "/x");

    assertThat(b.verify(header, "bob", "GET", "/x").status()).as("another key")
        .isEqualTo(Status.BAD_SIGNATURE);
    assertThat(b.verify(header, "alice", "POST", "/x").status()).as("another method")
        .isEqualTo(Status.BAD_SIGNATURE);
    assertThat(b.verify(header, "alice", "GET", "/x?admin=1").status()).as("another target")
        .isEqualTo(Status.BAD_SIGNATURE);
  }

  @Test
  void tamperingWithAnyFieldOfTheHeaderFails() {
    String[] p = a.sign("alice", "GET", "/x").split(" ");
    String millis = Long.toString(Long.parseLong(p[2]) + 1);
    char last = p[3].charAt(0);
    String mac = (last == 'A' ? 'B' : 'A') + p[3].substring(1);

    assertThat(b.verify("v2 " + p[1] + " " + p[2] + " " + p[3], "alice", "GET", "/x").status())
        .as("version").isEqualTo(Status.MALFORMED);
    assertThat(b.verify("v1 gw-c " + p[2] + " " + p[3], "alice", "GET", "/x").status())
        .as("node").isEqualTo(Status.BAD_SIGNATURE);
    assertThat(b.verify("v1 " + p[1] + " " + millis + " " + p[3], "alice", "GET", "/x").status())
        .as("timestamp").isEqualTo(Status.BAD_SIGNATURE);
    assertThat(b.verify("v1 " + p[1] + " " + p[2] + " " + mac, "alice", "GET", "/x").status())
        .as("mac").isEqualTo(Status.BAD_SIGNATURE);
  }

  @Test
  void aHopSignedWithAnotherSecretDoesNotVerify() {
    HopSigner other = new HopSigner("gw-a", SECRET + "-other", Clock.fixed(NOW, ZoneOffset.UTC));

    assertThat(b.verify(other.sign("alice", "GET", "/"), "alice", "GET", "/").status())
        .isEqualTo(Status.BAD_SIGNATURE);
  }

  @Test
  void malformedHeadersAreReportedAsSuchWithoutANode() {
    String[] p = a.sign("alice", "GET", "/").split(" ");
    for (String bad : new String[] {
        null, "", "v1", "v1 gw-a " + p[2], // missing fields
        "v1 gw-a " + p[2] + " " + p[3] + " extra", // one too many
        "v1  gw-a " + p[2] + " " + p[3], // two spaces
        "v1 gw-a " + p[2] + " " + p[3] + " ", // trailing space
        "v1 gw-a -" + p[2] + " " + p[3], // signed timestamp
        "v1 gw-a 12x4 " + p[3], // not digits
        "v1 gw-a 1234567890123456789 " + p[3], // 19 digits: could overflow
        "v1 gw-a " + p[2] + " " + p[3].substring(1), // a MAC of the wrong size
        "v1 gw-a " + p[2] + " " + p[3] + "=", // padded
        "v1 gw-a " + p[2] + " " + p[3].replace(p[3].charAt(5), '+'), // not base64url
        "v1 gw\u00e9 " + p[2] + " " + p[3], // non-ASCII node
    }) {
      HopSigner.Verification v = b.verify(bad, "alice", "GET", "/");
      assertThat(v.status()).as("header %s", bad).isEqualTo(Status.MALFORMED);
      assertThat(v.node()).as("header %s", bad).isNull();
    }
  }

  @Test
  void aTimestampExactlyThirtySecondsAwayIsValidAndOneMillisecondMoreIsExpired() {
    Duration skew = HopSigner.MAX_SKEW;
    String signedNow = a.sign("alice", "GET", "/");

    assertThat(at("gw-b", NOW.plus(skew)).verify(signedNow, "alice", "GET", "/").status())
        .as("receiver 30 s ahead").isEqualTo(Status.VALID);
    assertThat(at("gw-b", NOW.minus(skew)).verify(signedNow, "alice", "GET", "/").status())
        .as("receiver 30 s behind").isEqualTo(Status.VALID);
    assertThat(at("gw-b", NOW.plus(skew).plusMillis(1)).verify(signedNow, "alice", "GET", "/")
        .status()).as("receiver 30.001 s ahead").isEqualTo(Status.EXPIRED);
    assertThat(at("gw-b", NOW.minus(skew).minusMillis(1)).verify(signedNow, "alice", "GET", "/")
        .status()).as("receiver 30.001 s behind").isEqualTo(Status.EXPIRED);
  }

  @Test
  void anExpiredHopStillNamesItsSenderSinceItsMacIsGood() {
    String old = at("gw-a", NOW.minusSeconds(60)).sign("alice", "GET", "/");

    HopSigner.Verification v = b.verify(old, "alice", "GET", "/");

    assertThat(v.status()).isEqualTo(Status.EXPIRED);
    assertThat(v.node()).isEqualTo("gw-a");
  }

  @Test
  void aSecretShorterThan32CharactersIsRefusedWithoutEchoingIt() {
    String shortSecret = "x".repeat(31);

    assertThatThrownBy(() -> new HopSigner("gw-a", shortSecret))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("secret is too short: 31 characters")
        .hasMessageContaining("at least 32")
        .hasMessageNotContaining(shortSecret);
    assertThatThrownBy(() -> new HopSigner("gw-a", null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("secret is too short: null");
    assertThat(new HopSigner("gw-a", "y".repeat(32)).node()).isEqualTo("gw-a");
  }

  @Test
  void aNodeNameThatCannotBeOneHeaderFieldIsRefused() {
    for (String bad : new String[] {null, "", "gw a", "gw\ta", "gw\u00e9", "n".repeat(129)}) {
      assertThatThrownBy(() -> new HopSigner(bad, SECRET)).as("node %s", bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("node is invalid");
    }
  }

  @Test
  void itsStringFormNamesTheNodeButNeverTheSecret() {
    assertThat(a.toString()).contains("gw-a").doesNotContain(SECRET);
  }
}
