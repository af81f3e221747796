/** `runMain` around a command that never finishes (`never`) or one that exits with 4 (`four`), for cli-process.test.ts. */
import { runMain } from '../../client/cli/run-main.js';

runMain(() => (process.argv[2] === 'never' ? new Promise<number>(() => {}) : Promise.resolve(4)));
