package io.herd.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class PoolConfigTest {

  @Test
  void defaultsAreValid() {
    PoolConfig c = PoolConfig.builder().build();
    assertThat(c.min()).isZero();
    assertThat(c.max()).isEqualTo(10);
    assertThat(c.maxLifetime()).isEmpty();
  }

  @Test
  void everyProblemIsReportedAtOnceWithKeyValueAndConstraint() {
    assertThatThrownBy(
            () ->
                PoolConfig.builder()
                    .max(0)
                    .min(-1)
                    .warm(-2)
                    .maxQueue(-3)
                    .ttl(Duration.ZERO)
                    .healthFailures(0)
                    .build())
        .isInstanceOfSatisfying(
            InvalidConfigException.class,
            e ->
                assertThat(e.problems())
                    .containsExactly(
                        "pool.max is too small: 0 (expected: >= 1)",
                        "pool.min is negative: -1 (expected: >= 0)",
                        "pool.warm is negative: -2 (expected: >= 0)",
                        "pool.maxQueue is negative: -3 (expected: >= 0)",
                        "pool.healthFailures is too small: 0 (expected: >= 1)",
                        "pool.ttl is not positive: PT0S (expected: > 0)"));
  }

  @Test
  void minAboveMaxIsNamed() {
    assertThatThrownBy(() -> PoolConfig.builder().min(5).max(2).build())
        .hasMessage("pool.min exceeds pool.max: 5 (expected: <= 2)");
  }

  @Test
  void problemsAreDataAFrontEndCanMapWithoutParsingMessages() {
    InvalidConfigException e =
        catchThrowableOfType(
            InvalidConfigException.class, () -> PoolConfig.builder().max(0).warm(7).build());
    assertThat(e.fieldProblems())
        .containsExactly(new FieldProblem("pool.max", "0", "is too small", ">= 1"));
    assertThat(e.fieldProblems().get(0).withField("max").message())
        .isEqualTo("max is too small: 0 (expected: >= 1)");
  }

  @Test
  void toBuilderRoundTrips() {
    PoolConfig c = PoolConfig.builder().min(1).max(3).maxLifetime(Duration.ofHours(1)).build();
    assertThat(c.toBuilder().build().toString()).isEqualTo(c.toString());
  }

  @Test
  void suspendAfterMustBePositiveAndShorterThanTheTtl() {
    assertThat(PoolConfig.builder().ttl(Duration.ofMinutes(5)).suspendAfter(Duration.ofMinutes(1))
        .build().suspendAfter()).contains(Duration.ofMinutes(1));
    assertThat(PoolConfig.builder().build().suspendAfter()).isEmpty();
    assertThatThrownBy(() -> PoolConfig.builder().suspendAfter(Duration.ZERO).build())
        .isInstanceOfSatisfying(
            InvalidConfigException.class,
            e -> assertThat(e.problems())
                .containsExactly("pool.suspendAfter is not positive: PT0S (expected: > 0)"));
    assertThatThrownBy(
            () -> PoolConfig.builder().ttl(Duration.ofMinutes(5))
                .suspendAfter(Duration.ofMinutes(5)).build())
        .isInstanceOfSatisfying(
            InvalidConfigException.class,
            e -> assertThat(e.problems())
                .containsExactly(
                    "pool.suspendAfter is not shorter than pool.ttl, so an idle session would "
                        + "expire before it could be suspended: PT5M (expected: < pool.ttl = PT5M;"
                        + " lower pool.suspendAfter or raise pool.ttl)"));
  }

  @Test
  void suspendAfterSurvivesToBuilder() {
    PoolConfig c = PoolConfig.builder().suspendAfter(Duration.ofSeconds(30)).build();
    assertThat(c.toBuilder().build().suspendAfter()).contains(Duration.ofSeconds(30));
  }
}
