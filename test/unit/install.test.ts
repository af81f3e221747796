/**
 * What the README's install step (`npm ci`) leaves: a `calendar-sync` command that runs without a build, and
 * no install script npm would flag as unreviewed.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../scripts/provision/paths.js';

const run = promisify(execFile);

async function packageJson(): Promise<{ bin: Record<string, string>; allowScripts?: Record<string, boolean> }> {
  return JSON.parse(await readFile(path.join(projectRoot, 'package.json'), 'utf8'));
}

describe('the calendar-sync command', () => {
  it('is a launcher in the repository that npm exec finds and that runs the CLI', async () => {
    const { bin } = await packageJson();
    const launcher = path.join(projectRoot, bin['calendar-sync']!);
    expect((await readFile(launcher, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    const { stdout } = await run('npm', ['exec', '--offline', '--', 'calendar-sync', 'help'], { cwd: projectRoot });
    expect(stdout).toMatch(/^Usage: calendar-sync <command>/);
  }, 60_000);

  it('keeps the CLI exit codes (2 for a usage error)', async () => {
    const { bin } = await packageJson();
    const err = await run(process.execPath, [path.join(projectRoot, bin['calendar-sync']!), 'no-such-command'], {
      cwd: projectRoot,
    }).catch((e: { code?: number; stderr?: string }) => e);
    expect((err as { code?: number }).code).toBe(2);
  }, 60_000);
});

describe('npm install scripts', () => {
  it('are all reviewed in allowScripts, so npm ci prints no advisory about them', async () => {
    const { stdout, stderr } = await run('npm', ['approve-scripts', '--allow-scripts-pending'], { cwd: projectRoot });
    expect(`${stdout}${stderr}`).toContain('No packages with unreviewed install scripts.');
  }, 60_000);
});
