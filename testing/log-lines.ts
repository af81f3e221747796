/** A writable stream that collects pino's JSON lines into an array, for tests that read the log. */
import { Writable } from 'node:stream';

export function lineSink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(line);
      done();
    },
  });
}
