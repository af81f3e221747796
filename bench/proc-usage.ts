/**
 * CPU and memory of whole processes, read from Linux's `/proc` (no dependency, no load on the measured
 * processes): `/proc/<pid>/stat` for CPU time (utime + stime, in clock ticks) and `/proc/<pid>/status` for
 * `VmRSS`. A "process" here is a tree — the root and every descendant — because Postgres forks a backend per
 * connection and the CPU those backends burn is Postgres' CPU.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux' USER_HZ: the unit of utime/stime, 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime of the process itself. */
  ticks: number;
  /** cutime + cstime: ticks of children that exited and were reaped (lost from the tree otherwise). */
  reapedTicks: number;
}

/** Parses `/proc/<pid>/stat`; the command name (field 2) may contain spaces and parentheses. */
export function parseStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  const pid = Number(text.slice(0, text.indexOf(' ')));
  // Fields after the name, numbered from 3 (state) in proc(5): ppid is 4, utime 14, stime 15, cutime 16, cstime 17.
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const at = (field: number) => Number(f[field - 3]);
  return { pid, ppid: at(4), ticks: at(14) + at(15), reapedTicks: at(16) + at(17) };
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone
  }
}

function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The root and all its descendants except the subtrees rooted at `exclude`, from one pass over `/proc`. */
function tree(root: number, exclude: ReadonlySet<number> = new Set()): ProcStat[] {
  const all: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.push(s);
  }
  const children = new Map<number, ProcStat[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const out: ProcStat[] = [];
  const rootStat = all.find((s) => s.pid === root);
  if (!rootStat) return out;
  const stack = [rootStat];
  while (stack.length) {
    const s = stack.pop()!;
    out.push(s);
    stack.push(...(children.get(s.pid) ?? []).filter((c) => !exclude.has(c.pid)));
  }
  return out;
}

export interface TreeSample {
  at: number;
  ticks: number;
  rss: number;
  processes: number;
}

export function sampleTree(root: number, exclude?: ReadonlySet<number>): TreeSample {
  const procs = tree(root, exclude);
  const ticks = procs.reduce((n, s) => n + s.ticks, 0) + (procs[0]?.reapedTicks ?? 0);
  const rss = procs.reduce((n, s) => n + rssBytes(s.pid), 0);
  return { at: Date.now(), ticks, rss, processes: procs.length };
}

export interface Usage {
  name: string;
  pid: number;
  /** Mean CPU over the window, in % of one core (200 = both cores of a 2-core machine). */
  cpuPercent: number;
  /** CPU seconds spent in the window. */
  cpuSeconds: number;
  peakRssBytes: number;
  endRssBytes: number;
  processes: number;
}

/**
 * Samples the given process trees every `intervalMs` until `stop()`, which returns each one's usage over the
 * window. A target's tree leaves out the other targets (the driver is the parent of the worker, the web service
 * and the Temporal dev server; each is counted once, as itself). Sampling one `/proc` pass per tree per second
 * costs a few ms of the driver's CPU (counted in it).
 */
export function startUsageSampler(targets: { name: string; pid: number }[], intervalMs = 1000) {
  const pids = new Set(targets.map((t) => t.pid));
  const take = (pid: number) => sampleTree(pid, new Set([...pids].filter((p) => p !== pid)));
  const first = targets.map((t) => take(t.pid));
  const peak = first.map((s) => s.rss);
  const timer = setInterval(() => {
    targets.forEach((t, i) => (peak[i] = Math.max(peak[i]!, take(t.pid).rss)));
  }, intervalMs);
  timer.unref();
  return {
    stop(): Usage[] {
      clearInterval(timer);
      return targets.map((t, i) => {
        const end = take(t.pid);
        const seconds = (end.at - first[i]!.at) / 1000;
        const cpuSeconds = (end.ticks - first[i]!.ticks) / TICKS_PER_SECOND;
        return {
          name: t.name,
          pid: t.pid,
          cpuPercent: seconds > 0 ? +((100 * cpuSeconds) / seconds).toFixed(1) : NaN,
          cpuSeconds: +cpuSeconds.toFixed(2),
          peakRssBytes: Math.max(peak[i]!, end.rss),
          endRssBytes: end.rss,
          processes: end.processes,
        };
      });
    },
  };
}

/** The pid of the first process whose command line (argv) satisfies `match` (e.g. the Temporal dev server). */
export function findProcess(match: (argv: string[]) => boolean): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (match(cmd)) return Number(name);
    } catch {
      // gone
    }
  }
  return undefined;
}
