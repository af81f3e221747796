/**
 * Benchmark options: `--name=value` flags, else `BENCH_NAME` environment variables, else the default.
 */
export interface BenchArgs {
  get(name: string, fallback: string): string;
  /** A positive number. */
  num(name: string, fallback: number): number;
  /** A positive integer. */
  int(name: string, fallback: number): number;
}

export function benchArgs(argv: string[] = process.argv.slice(2)): BenchArgs {
  const args = new Map(
    argv
      .filter((a) => a.startsWith('--'))
      .map((a) => {
        const [k, v] = a.slice(2).split('=');
        return [k!, v ?? 'true'] as const;
      }),
  );
  const get = (name: string, fallback: string) =>
    args.get(name) ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? fallback;
  const positive = (name: string, fallback: number, integer: boolean) => {
    const n = Number(get(name, String(fallback)));
    const ok = integer ? Number.isInteger(n) && n > 0 : Number.isFinite(n) && n > 0;
    if (!ok) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}`);
    return n;
  };
  return { get, num: (n, f) => positive(n, f, false), int: (n, f) => positive(n, f, true) };
}

/** An `on`/`off` option. */
export function onOff(value: string, name: string): boolean {
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  throw new Error(`--${name} is on or off, got "${value}"`);
}
