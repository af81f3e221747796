import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A receiver that answers every request with 200 after `holdMs`, counting how many requests it holds at once:
 * for the emulators' bound on deliveries in flight.
 */
export async function startSlowReceiver(holdMs: number) {
  let open = 0;
  const stats = { answered: 0, maxOpen: 0 };
  const server = http.createServer((req, res) => {
    open++;
    stats.maxOpen = Math.max(stats.maxOpen, open);
    req.resume();
    setTimeout(() => {
      open--;
      stats.answered++;
      res.end();
    }, holdMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    stats,
    /** Resolves once `n` requests have been answered (fails after `timeoutMs`). */
    async answered(n: number, timeoutMs = 15_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (stats.answered < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} answered requests, got ${stats.answered}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
