/**
 * Runs `fn` over `items` with at most `limit` running at once. The first
 * failure aborts the others (through the signal handed to `fn`) and is the
 * error thrown, after every started task has settled — so no transfer is
 * still writing when the caller cleans up.
 */
export async function forEachBounded<T>(items: readonly T[], limit: number, fn: (item: T, signal: AbortSignal) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const inner = new AbortController();
  const combined = signal ? AbortSignal.any([signal, inner.signal]) : inner.signal;
  let next = 0;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && firstError === undefined && !combined.aborted) {
      const item = items[next++]!;
      try {
        await fn(item, combined);
      } catch (err) {
        if (firstError === undefined) {
          firstError = err;
          inner.abort(err);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (firstError !== undefined) throw firstError;
  if (signal?.aborted) throw signal.reason;
}
