/**
 * Gives the project a Postgres to talk to. With `DATABASE_URL` set we use it and start nothing. Otherwise we
 * run a project-local server from the PostgreSQL binaries on this machine:
 *
 *   `PG_BIN` → `pg_config --bindir` → `/usr/lib/postgresql/<newest>/bin` → `/usr/local/pgsql/bin`
 *   → (root on Debian/Ubuntu only) `apt-get install postgresql`
 *
 * Postgres refuses to run as root, and CI runs as root: in that case initdb and the server run as the
 * unprivileged `nobody` user (Node's spawn uid/gid), with the data directory owned by it and placed under
 * the system temp dir, because a project checked out under /root is not traversable for `nobody`.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chown, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PostgresHandle {
  /** Connection string of the project database (created if missing). */
  url: string;
  /** True when we started the server ourselves (and `stop()` stops it). */
  started: boolean;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** Where the cluster lives; kept between runs so the sandbox keeps its data. */
  dataDir: string;
  port: number;
  database: string;
  /** Trade durability for speed, and delete the cluster on stop (tests). */
  ephemeral?: boolean;
  log?: (msg: string) => void;
}

export async function ensurePostgres(opts: LocalPostgresOptions): Promise<PostgresHandle> {
  const given = process.env.DATABASE_URL;
  if (given) return { url: given, started: false, stop: async () => {} };

  const log = opts.log ?? (() => {});
  const bin = await findPostgresBin(log);
  const owner = runAsUser();
  const dataDir = postgresDataDir(opts.dataDir);
  const spawnAs = owner ? { uid: owner.uid, gid: owner.gid } : {};

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await mkdir(dataDir, { recursive: true });
    if (owner) await chown(dataDir, owner.uid, owner.gid);
    log(`Initialising a local Postgres cluster in ${dataDir} …`);
    await exec(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync', '--no-instructions'],
      spawnAs,
    );
  }

  const settings = [`-p ${opts.port}`, `-k ${dataDir}`, `-c listen_addresses=127.0.0.1`, '-c max_connections=200'];
  if (opts.ephemeral) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
  await exec(
    path.join(bin, 'pg_ctl'),
    ['-D', dataDir, '-o', settings.join(' '), '-l', path.join(dataDir, 'server.log'), '-w', '-t', '60', 'start'],
    spawnAs,
  );

  const adminUrl = `postgres://postgres@127.0.0.1:${opts.port}/postgres`;
  await createDatabase(adminUrl, opts.database);
  return {
    url: `postgres://postgres@127.0.0.1:${opts.port}/${opts.database}`,
    started: true,
    stop: async () => {
      await exec(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop'], spawnAs).catch(() => {});
      if (opts.ephemeral) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function createDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

async function findPostgresBin(log: (msg: string) => void): Promise<string> {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  try {
    candidates.push((await run('pg_config', ['--bindir'])).stdout.trim());
  } catch {
    // pg_config is optional (it ships with the -dev packages)
  }
  candidates.push(...debianBinDirs(), '/usr/local/pgsql/bin', '/opt/homebrew/bin', '/usr/local/bin', '/usr/bin');
  const found = candidates.find((dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl')));
  if (found) return found;

  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    log("No PostgreSQL binaries found; installing Debian's postgresql package …");
    await exec('apt-get', ['update', '-qq'], {});
    await exec('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    const after = debianBinDirs()[0];
    if (after) return after;
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl) were not found. Install PostgreSQL 13+ (e.g. `apt-get install ' +
      'postgresql`), point PG_BIN at its bin directory, or set DATABASE_URL to an existing database.',
  );
}

/** `/usr/lib/postgresql/<major>/bin`, newest first. */
function debianBinDirs(): string[] {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(base, v, 'bin'));
}

/** When running as root, the unprivileged account Postgres runs as. */
function runAsUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) throw new Error('Running as root, but there is no `nobody` user to run Postgres as');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Where the cluster for a requested data directory really lives: the directory itself, or, when running as root,
 * a directory `nobody` can reach (see `rootSafeDir`). Whoever removes the requested directory removes this too.
 */
export function postgresDataDir(dataDir: string): string {
  return runAsUser() ? rootSafeDir(dataDir) : dataDir;
}

/** A data directory `nobody` can reach: the requested one, moved under the system temp dir. */
function rootSafeDir(dataDir: string): string {
  if (path.dirname(path.resolve(dataDir)) === os.tmpdir()) return dataDir;
  const tag = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `pipedrive-calendar-sync-pg-${tag}`);
}

function exec(
  cmd: string,
  args: string[],
  opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${code}):\n${output}`)),
    );
  });
}
