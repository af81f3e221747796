/**
 * The CLI process around one command: its exit code is the command's, and a command that never finishes is a failure.
 *
 * Node exits with code 0 once nothing is left to wait for, even while a promise is still pending. A command whose
 * request to the sync server ended that way would otherwise look like a success that printed nothing; now it exits
 * 1 and says so.
 */
export function runMain(command: () => Promise<number>): void {
  const stderr = process.stderr;
  let finished = false;
  process.once('beforeExit', () => {
    if (finished) return;
    stderr.write(
      'calendar-sync: the command stopped before it finished (a request to the sync server got no answer)\n',
    );
    process.exitCode = 1;
  });
  command().then(
    (code) => {
      finished = true;
      process.exitCode = code;
    },
    (err: unknown) => {
      finished = true;
      stderr.write(`calendar-sync failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
