package org.vigil.client;

/** A sealed batch waiting for a receipt: its sequence number and serialized SignedBatch. */
public final class PendingBatch {
  /** The batch's sequence number on this device. */
  public final long seq;
  /** The serialized vigil.v1.SignedBatch. */
  public final byte[] bytes;

  PendingBatch(long seq, byte[] bytes) {
    this.seq = seq;
    this.bytes = bytes;
  }
}
