package org.vigil.client;

import java.lang.annotation.Native;
import java.nio.charset.StandardCharsets;

/**
 * A failure of the device library: a status code (the {@code VIGIL_*} codes of
 * {@code vigil/client.h}, which are vigil::StatusCode's) and a message for people.
 */
public final class VigilException extends Exception {
  private static final long serialVersionUID = 1L;

  // The codes, equal to VIGIL_* (@Native: the JNI code static_asserts them against those).
  @Native public static final int OK = 0;
  @Native public static final int INVALID_ARGUMENT = 1;
  @Native public static final int NOT_FOUND = 2;
  @Native public static final int ALREADY_EXISTS = 3;
  @Native public static final int FAILED_PRECONDITION = 4;
  /** Includes "wrong PIN". */
  @Native public static final int PERMISSION_DENIED = 5;
  @Native public static final int UNAUTHENTICATED = 6;
  /** Includes "disk full". */
  @Native public static final int RESOURCE_EXHAUSTED = 7;
  /** Includes "the sync was cancelled". */
  @Native public static final int ABORTED = 8;
  @Native public static final int UNAVAILABLE = 9;
  @Native public static final int DATA_LOSS = 10;
  @Native public static final int UNIMPLEMENTED = 11;
  @Native public static final int INTERNAL = 12;

  private static final String[] NAMES = {
    "OK", "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "FAILED_PRECONDITION",
    "PERMISSION_DENIED", "UNAUTHENTICATED", "RESOURCE_EXHAUSTED", "ABORTED", "UNAVAILABLE",
    "DATA_LOSS", "UNIMPLEMENTED", "INTERNAL"
  };

  private final int code;

  /** A failure with one of the codes above. */
  public VigilException(int code, String message) {
    super(nameOf(code) + ": " + message);
    this.code = code;
  }

  /** Made by the JNI code: the message is the C API's UTF-8 bytes (maybe cut mid-character). */
  static VigilException fromNative(int code, byte[] message) {
    return new VigilException(code, new String(message, StandardCharsets.UTF_8));
  }

  /** The status code, one of the constants above. */
  public int code() {
    return code;
  }

  /** The code's name, e.g. "PERMISSION_DENIED". */
  public String codeName() {
    return nameOf(code);
  }

  /**
   * Whether the same call may succeed later without anything changed: true for UNAVAILABLE
   * (the server or network is down), ABORTED (a cancelled or conflicting sync) and
   * RESOURCE_EXHAUSTED (disk full, server busy); false for every other code (a wrong PIN, a
   * bad argument, a revoked device… need someone to act first).
   */
  public boolean isRetryable() {
    return code == UNAVAILABLE || code == ABORTED || code == RESOURCE_EXHAUSTED;
  }

  private static String nameOf(int code) {
    return code >= 0 && code < NAMES.length ? NAMES[code] : "CODE_" + code;
  }
}
