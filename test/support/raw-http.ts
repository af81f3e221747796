/**
 * Raw HTTP over a TCP socket, for requests `fetch` refuses to send (malformed request lines and targets, bad
 * header bytes, slow writers). Every call is bounded in time.
 */
import net from 'node:net';

export interface RawAnswer {
  /** The status code of the first response line, or null when the server closed without answering. */
  status: number | null;
  text: string;
  /** Milliseconds until the server answered or closed. */
  ms: number;
}

/** Writes `chunks` (with `gapMs` between them) and resolves with what came back before close or `timeoutMs`. */
export function rawRequest(
  url: string,
  chunks: (string | Buffer)[],
  { gapMs = 0, timeoutMs = 5000 }: { gapMs?: number; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let text = '';
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, text, ms: Date.now() - started });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      // One answer is all we wait for: stop at the end of its headers plus whatever body arrived with them.
      if (/\r\n\r\n/.test(text)) setTimeout(finish, 50);
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (settled || socket.destroyed) return;
        socket.write(chunk);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}
