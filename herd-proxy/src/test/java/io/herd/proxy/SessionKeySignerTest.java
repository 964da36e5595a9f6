package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.proxy.SessionKeySigner.Status;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class SessionKeySignerTest {

  private static final byte[] SECRET = "0123456789abcdef-secret".getBytes(StandardCharsets.UTF_8);
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration TTL = Duration.ofHours(1);

  private static SessionKeySigner at(Instant now, Duration ttl) {
    return new SessionKeySigner(SECRET, ttl, Clock.fixed(now, ZoneOffset.UTC));
  }

  @Test
  void aKeyWithALifetimeIsValidUntilItsExpiryAndNamesTheSessionByItsIdOnly() {
    String key = at(T0, TTL).sign("alice");
    assertThat(key).matches("alice\\.\\d+\\.[A-Za-z0-9_-]+");
    assertThat(at(T0.plus(TTL).minusSeconds(1), TTL).check(key))
        .isEqualTo(new SessionKeySigner.Verification(Status.VALID, "alice"));
    assertThat(at(T0.plus(TTL), TTL).check(key).status()).isEqualTo(Status.EXPIRED);
    assertThat(at(T0.plus(TTL), null).check(key).status())
        .as("a key's own expiry holds even after the lifetime setting is removed")
        .isEqualTo(Status.EXPIRED);
  }

  @Test
  void aKeyWithoutExpiryIsValidWithoutALifetimeAndExpiredWithOne() {
    String legacy = new SessionKeySigner(SECRET).sign("bob");
    assertThat(legacy).matches("bob\\.[A-Za-z0-9_-]+");
    assertThat(new SessionKeySigner(SECRET).check(legacy))
        .isEqualTo(new SessionKeySigner.Verification(Status.VALID, "bob"));
    assertThat(at(T0, TTL).check(legacy))
        .as("once keys must expire, a key that never would counts as expired")
        .isEqualTo(new SessionKeySigner.Verification(Status.EXPIRED, "bob"));
  }

  @Test
  void neitherFormsSignatureStandsForTheOther() {
    SessionKeySigner legacy = new SessionKeySigner(SECRET);
    // A legacy key for the id "carol.99999999999" looks like a new key for "carol" that never
    // expires; and a new key looks like a legacy key for the id "carol.<expiry>".
    String lookAlike = legacy.sign("carol.99999999999");
    assertThat(legacy.check(lookAlike).id()).isEqualTo("carol.99999999999");
    assertThat(at(T0, TTL).check(lookAlike).status()).isNotEqualTo(Status.VALID);
    String fresh = at(T0, TTL).sign("carol");
    assertThat(at(T0, null).check(fresh).id()).as("the new key is read as the new form")
        .isEqualTo("carol");
    String idAndExpiry = fresh.substring(0, fresh.lastIndexOf('.'));
    assertThat(legacy.sign(idAndExpiry)).as("the new signature is not the legacy one of id.expiry")
        .isNotEqualTo(fresh);
    assertThatThrownBy(() -> legacy.sign("herd-key-v2\ncarol\n99999999999"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("line feed");
  }

  @Test
  void forgeriesAndOtherSecretsAreInvalid() {
    SessionKeySigner signer = at(T0, TTL);
    String key = signer.sign("dave");
    assertThat(new SessionKeySigner("another-secret-0123".getBytes(StandardCharsets.UTF_8), TTL,
        Clock.fixed(T0, ZoneOffset.UTC)).check(key).status()).isEqualTo(Status.INVALID);
    String laterExpiry = key.replaceFirst("\\.(\\d+)\\.", ".99999999999.");
    assertThat(signer.check(laterExpiry).status()).as("the expiry is signed").isEqualTo(Status.INVALID);
    assertThat(signer.check("dave").status()).isEqualTo(Status.INVALID);
    assertThat(signer.check(".x").status()).isEqualTo(Status.INVALID);
    assertThat(signer.check("dave.").status()).isEqualTo(Status.INVALID);
    assertThat(signer.newKey()).isNotEqualTo(signer.newKey());
    assertThat(signer.check(signer.newKey()).status()).isEqualTo(Status.VALID);
  }
}
