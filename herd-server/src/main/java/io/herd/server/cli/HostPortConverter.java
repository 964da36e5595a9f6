package io.herd.server.cli;

import io.herd.server.config.HostPort;
import picocli.CommandLine;

/** Parses {@code --listen}/{@code --admin-listen} values; a bad one is a usage error (exit 2). */
final class HostPortConverter implements CommandLine.ITypeConverter<HostPort> {

  @Override
  public HostPort convert(String value) {
    try {
      HostPort hp = HostPort.parse(value);
      hp.toSocketAddress();
      return hp;
    } catch (IllegalArgumentException e) {
      throw new CommandLine.TypeConversionException(
          "not an address: " + value + " (expected: " + HostPort.EXPECTED + ")");
    }
  }
}
