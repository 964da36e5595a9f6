package io.herd.proxy.internal;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.nio.charset.StandardCharsets;

/**
 * The gateway's own answers: short plain-text bodies that say what happened, always with {@code
 * Connection: close} since the request may not have been read to its end. Each is a {@link
 * GatewayAnswer} that carries the tag of its {@link Refusal} or {@link UpstreamFailure}, so that
 * the exchange observer can report why the gateway answered. Stateless.
 */
public final class ErrorResponses {

  private static final int MAX_DETAIL = 200;

  private ErrorResponses() {}

  /** A response the gateway wrote itself, with the tag of the reason; not thread-safe. */
  public static final class GatewayAnswer extends DefaultFullHttpResponse {
    private final String outcome;

    GatewayAnswer(HttpResponseStatus status, byte[] body, String outcome) {
      super(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
      this.outcome = outcome;
    }

    /** The tag of the refusal or failure, e.g. {@code missing_key}. */
    public String outcome() {
      return outcome;
    }
  }

  /** {@code <code> <reason>: <detail>} as the body; the refusal's own message when detail is null. */
  public static FullHttpResponse of(Refusal refusal, String detail) {
    return answer(refusal.status(), detail == null ? refusal.message() : detail, 0, refusal.tag());
  }

  /** An answer for {@code failure}, with its {@code Retry-After} when it has one. */
  public static FullHttpResponse of(UpstreamFailure failure, long retryAfterSeconds) {
    return of(failure, null, retryAfterSeconds);
  }

  /**
   * An answer for {@code failure} caused by {@code cause} (may be null), whose message and
   * {@code Retry-After} the failure decides ({@link UpstreamFailure#message(Throwable)}, {@link
   * UpstreamFailure#retryAfterSeconds}); {@code configuredRetryAfter} is {@code proxy.retryAfter}.
   */
  public static FullHttpResponse of(
      UpstreamFailure failure, Throwable cause, long configuredRetryAfter) {
    return answer(failure.status(), failure.message(cause),
        failure.retryAfterSeconds(cause, configuredRetryAfter), failure.tag());
  }

  /** 414, 431, 505 or 400 (or what the decoder decided) for a request it refused, saying why. */
  public static FullHttpResponse forMalformed(Throwable cause) {
    return of(refusalOf(cause), detailOf(cause));
  }

  /** The refusal a decoder failure stands for. */
  static Refusal refusalOf(Throwable cause) {
    if (cause instanceof StrictRequestDecoder.MalformedRequestException m) {
      return m.refusal();
    } else if (cause instanceof TooLongHttpLineException) {
      return Refusal.URI_TOO_LONG;
    } else if (cause instanceof TooLongHttpHeaderException) {
      return Refusal.HEADERS_TOO_LARGE;
    }
    return Refusal.MALFORMED;
  }

  private static String detailOf(Throwable cause) {
    if (cause instanceof TooLongHttpLineException || cause instanceof TooLongHttpHeaderException) {
      return null;
    } else if (cause instanceof TooLongFrameException) {
      return "request too large";
    }
    return cause == null ? null : cause.getMessage();
  }

  private static FullHttpResponse answer(
      HttpResponseStatus status, String detail, long retryAfterSeconds, String outcome) {
    String d = detail.length() > MAX_DETAIL ? detail.substring(0, MAX_DETAIL) : detail;
    byte[] body = (status.code() + " " + status.reasonPhrase() + ": " + d + "\n")
        .getBytes(StandardCharsets.UTF_8);
    GatewayAnswer response = new GatewayAnswer(status, body, outcome);
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    if (retryAfterSeconds > 0) {
      response.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(retryAfterSeconds));
    }
    if (status.code() == HttpResponseStatus.UNAUTHORIZED.code()) {
      // RFC 9110 §15.5.2: a 401 names the scheme that would authenticate; here, a session key.
      response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Herd-Session realm=\"herd\"");
    }
    return response;
  }
}
