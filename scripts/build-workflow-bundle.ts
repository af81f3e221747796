/**
 * Prebuilds the workflow bundle for production (`npm run build`): the worker then starts without webpack
 * and every worker of a deployment runs byte-identical workflow code. Set WORKFLOW_BUNDLE_PATH to use it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleSyncWorkflows } from '../worker/create-worker.js';
import { projectRoot } from './provision/paths.js';

const out = path.join(projectRoot, 'dist', 'workflow-bundle.js');
const { code } = await bundleSyncWorkflows();
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, code);
console.log(`wrote ${path.relative(projectRoot, out)} (${(code.length / 1024).toFixed(0)} KiB)`);
