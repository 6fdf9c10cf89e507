package org.vigil.client;

/**
 * Guards the store's data key instead of a PIN, e.g. over the Android keystore
 * (vigil/client.h, VigilKeyProtector). Called only during the call that was given it.
 */
public interface KeyProtector {
  /** Wraps the data key; returns the blob to store, or null on failure. */
  byte[] wrap(byte[] key);

  /** Unwraps a stored blob; returns the data key, or null when the secret is wrong. */
  byte[] unwrap(byte[] blob);
}
