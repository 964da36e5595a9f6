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
 * Connection: close} since the request may not have been read to its end. Stateless.
 */
public final class ErrorResponses {

  private ErrorResponses() {}

  /**
   * {@code <code> <reason>: <detail>} as the body.
   *
   * @param retryAfterSeconds sent as {@code Retry-After} when positive
   */
  public static FullHttpResponse of(HttpResponseStatus status, String detail, long retryAfterSeconds) {
    byte[] body = (status.code() + " " + status.reasonPhrase() + ": " + detail + "\n")
        .getBytes(StandardCharsets.UTF_8);
    FullHttpResponse response =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    if (retryAfterSeconds > 0) {
      response.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(retryAfterSeconds));
    }
    return response;
  }

  /** 414, 431 or 400 for a request the decoder refused, saying why. */
  public static FullHttpResponse forMalformed(Throwable cause) {
    if (cause instanceof TooLongHttpLineException) {
      return of(HttpResponseStatus.REQUEST_URI_TOO_LONG, "request line too long", 0);
    } else if (cause instanceof TooLongHttpHeaderException) {
      return of(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request headers too large", 0);
    } else if (cause instanceof TooLongFrameException) {
      return of(HttpResponseStatus.BAD_REQUEST, "request too large", 0);
    }
    String why = cause == null || cause.getMessage() == null ? "malformed request" : cause.getMessage();
    return of(HttpResponseStatus.BAD_REQUEST, why.length() > 200 ? why.substring(0, 200) : why, 0);
  }

  /** An answer for {@code failure}, with its {@code Retry-After} when it has one. */
  public static FullHttpResponse of(UpstreamFailure failure, long retryAfterSeconds) {
    return of(failure.status(), failure.message(), failure.retryLater() ? retryAfterSeconds : 0);
  }
}
