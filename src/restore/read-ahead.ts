// Runs an async iterator ahead of its consumer: while the consumer works on one item, the next
// ones are being made. A restore plan is made from trees read through the writer thread and is
// applied on the main thread; read ahead, the two overlap instead of taking turns, and the
// content those items will need can be asked for early (`seen`).

/**
 * Yields `source`'s items in order, pulling up to `size` of them before the consumer asks.
 * `seen` is told of each item as soon as it is pulled. A failure of the source is thrown to the
 * consumer after the items pulled before it, as without read-ahead. When the consumer stops early
 * (or throws), the source is closed once its pull in flight has settled.
 */
export async function* readAhead<T>(source: AsyncIterator<T>, size: number, seen: (item: T) => void): AsyncGenerator<T> {
  const ready: T[] = [];
  let ended = false;
  let failure = null as { err: unknown } | null; // set in a callback: not narrowed to null
  // Invariant: unless the source has ended or failed, a pull is in flight whenever fewer than
  // `size` items are ready; so an empty `ready` always has one to wait for.
  let pulling: Promise<void> | null = null;
  const pull = (): void => {
    pulling = source.next().then(
      (r) => {
        pulling = null;
        if (r.done) {
          ended = true;
          return;
        }
        ready.push(r.value);
        try {
          seen(r.value);
        } catch (err) {
          failure = { err };
          return;
        }
        if (ready.length < size) pull();
      },
      (err: unknown) => {
        pulling = null;
        failure = { err };
      },
    );
  };
  try {
    pull();
    for (;;) {
      if (ready.length === 0) {
        if (failure) throw failure.err;
        if (ended) return;
        await pulling;
        continue;
      }
      const item = ready.shift()!;
      if (!pulling && !ended && !failure) pull();
      yield item;
    }
  } finally {
    while (pulling) await pulling;
    // A generator that threw is closed already; its return() only says so.
    if (!ended) await source.return?.(undefined);
  }
}
