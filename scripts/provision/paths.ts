import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, independent of the current working directory. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
