/**
 * The Kubernetes manifest validator (`tools/kube-validate`): a small Go program that decodes every manifest
 * strictly into the API's own Go types (k8s.io/api), offline — schema validators such as kubeconform download
 * their JSON schemas from GitHub at run time. Built with Go into `.tools/` on first use (Go fetches its modules
 * from the Go module proxy) and rebuilt when its source changes.
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from './paths.js';

const run = promisify(execFile);

const source = path.join(projectRoot, 'tools', 'kube-validate');
const binary = path.join(projectRoot, '.tools', 'kube-validate');

export interface KubeValidation {
  /** `apiVersion/Kind name` of every object, sorted. */
  objects: string[];
}

/** Builds the validator unless an up-to-date binary is there; returns its path. */
export async function buildKubeValidator(): Promise<string> {
  const newestSource = Math.max(...['main.go', 'go.mod', 'go.sum'].map((f) => statSync(path.join(source, f)).mtimeMs));
  if (existsSync(binary) && statSync(binary).mtimeMs >= newestSource) return binary;
  try {
    await run('go', ['build', '-o', binary, '.'], { cwd: source, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new Error(
      `Validating the Kubernetes manifests needs Go (to build tools/kube-validate): ${(err as { stderr?: string }).stderr || (err as Error).message}`,
      { cause: err },
    );
  }
  return binary;
}

/** Validates the kustomization in `dir`: resolves with its objects, rejects with every problem found. */
export async function validateKubernetesManifests(dir: string): Promise<KubeValidation> {
  const bin = await buildKubeValidator();
  try {
    const { stdout } = await run(bin, [dir], { maxBuffer: 16 * 1024 * 1024 });
    return { objects: stdout.split('\n').filter(Boolean) };
  } catch (err) {
    throw new Error((err as { stderr?: string }).stderr || (err as Error).message, { cause: err });
  }
}
