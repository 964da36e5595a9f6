package io.herd.vm.qemu;

import java.io.IOException;

/** QEMU answered a QMP command with an error: its class and description, and the command. */
public final class QmpException extends IOException {

  private static final long serialVersionUID = 1L;

  private final String errorClass;

  QmpException(String command, String errorClass, String description) {
    super("QMP " + command + " failed: " + description + " (" + errorClass + ")");
    this.errorClass = errorClass;
  }

  /** QEMU's error class, e.g. {@code GenericError}, {@code CommandNotFound}. */
  public String errorClass() {
    return errorClass;
  }
}
