package org.vigil.client;

/**
 * Where a running sync stands (vigil/client.h, VigilSyncProgress). Called on the thread that
 * called {@link VigilClient#sync}; must not call the same client except {@link
 * VigilClient#syncCancel}. The counts never go down during one sync; a sync that succeeds ends
 * with phase "done" and recordsSent == recordsTotal. An exception thrown here cancels the sync
 * and is rethrown by {@code sync}.
 */
@FunctionalInterface
public interface SyncProgress {
  /**
   * One report: {@code phase} is "seal", "push", "pull", "apply", "purge", "done", or a retry
   * such as "push batch 3: retry 1 in 210 ms (…)".
   */
  void onProgress(String phase, long batchesSent, long batchesTotal, long recordsSent,
      long recordsTotal, long bytesSent);
}
