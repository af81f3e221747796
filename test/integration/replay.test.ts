/**
 * Workflow determinism: every stored history must replay against the current workflow code. A change to a
 * workflow that would break running workflows fails here before it reaches a user.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { bundlerLogger } from '../../worker/create-worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const historiesDir = path.join(here, '..', 'histories');

async function loadHistories() {
  const files = (await readdir(historiesDir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      file,
      history: historyFromJSON(JSON.parse(await readFile(path.join(historiesDir, file), 'utf8'))),
    })),
  );
}

const histories = await loadHistories();

describe('workflow replay', () => {
  it('has stored histories to replay', () => {
    expect(histories.length).toBeGreaterThan(0);
  });

  it.each(histories)('replays $file against the current workflow code', async ({ file, history }) => {
    await expect(
      Worker.runReplayHistory({ workflowBundle: { code: inject('workflowBundleCode') } }, history, file),
    ).resolves.toBeUndefined();
  });

  it('is built with zod and the settings module preloaded, shared by every workflow (not dropped as unused)', () => {
    const code = inject('workflowBundleCode');
    const preload = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(code)?.[1] ?? '';
    expect(preload).toContain('"./workflows/shared-modules.ts"');
    // The module's own definition in the bundle, and what it requires.
    const at = code.indexOf('"./workflows/shared-modules.ts"\n');
    expect(at).toBeGreaterThan(-1);
    expect(code.slice(at, at + 2_000)).toMatch(/__webpack_require__\([^)]*"\.\/sync-rules\/settings\.ts"\)/);
    const settings = code.indexOf('"./sync-rules/settings.ts"\n');
    expect(code.slice(settings, settings + 2_000)).toMatch(
      /__webpack_require__\([^)]*"\.\/node_modules\/zod\/[^"]+"\)/,
    );
  });

  it('rejects a stored history when the workflow code changed incompatibly', async () => {
    const [first] = histories;
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(here, '..', 'support', 'incompatible-workflow', 'index.ts'),
      logger: bundlerLogger,
    });
    await expect(Worker.runReplayHistory({ workflowBundle: { code } }, first!.history, first!.file)).rejects.toThrow(
      /Nondeterminism|DeterminismViolation|nondeterminis/i,
    );
  });
});
