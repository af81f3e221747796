// ESLint flat config: typescript-eslint's recommended rules; formatting is Prettier's job. The layer rules at the
// end enforce who may import whom (docs/architecture.md).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** A project folder, matched in a relative import specifier (`../../adapters/store/links.js`). */
const folder = (name) => [`**/${name}/*`, `**/${name}/**`];

const LAYERS = {
  'sync-rules': 'pure rules: they import no other project folder',
  lib: 'lib/ is the bottom layer (logger, metrics, crypto, config): it imports only lib/ and workflows/names',
  adapters: 'adapters/ (store, Google, Pipedrive) are shared by both processes: lib/ and sync-rules/ only',
  activities: 'activities/ run in the worker: adapters/, lib/ and sync-rules/, never the processes',
  workflows:
    'workflows/ run in the deterministic sandbox: sync-rules/ and type-only imports of activities/ and adapters/',
  client:
    'client/ (web service, admin API, CLI) talks to the worker only through Temporal: never activities/ or worker/',
  worker: 'worker/ wires the worker process: anything but client/',
  testing:
    'the test harness (testing/) is what bench/, scripts/ and test/ share: it never imports the tests or benchmarks',
  bench: 'bench/ measures through the harness in testing/, never through test/',
  scripts: 'scripts/ use the harness in testing/, never test/',
  emulators: 'emulators/ follow the documentation of the APIs, not our code: lib/ only',
};

/**
 * The import rule of one layer: its files may not import the `forbidden` folders, nor anything but types from the
 * `typesOnly` folders. `allowed` lists single modules of a forbidden folder that stay importable.
 */
function layer(name, forbidden, { typesOnly = [], allowed = [] } = {}) {
  const pattern = (dir, allowTypeImports) => ({
    group: [...folder(dir), ...allowed.filter((a) => a.includes(`/${dir}/`)).map((a) => `!${a}`)],
    message: LAYERS[name],
    allowTypeImports,
  });
  return {
    files: [`${name}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [...forbidden.map((d) => pattern(d, false)), ...typesOnly.map((d) => pattern(d, true))] },
      ],
    },
  };
}

const OUTSIDE_PRODUCT = ['test', 'testing', 'bench', 'scripts', 'emulators'];
const ACTIVITIES_FORBIDDEN = ['workflows', 'worker', 'client', ...OUTSIDE_PRODUCT];

/**
 * A sync direction is a leaf: it may not import the other direction (what both need has a module of its own).
 * Its rule repeats the activities layer's patterns, because a later rule for the same files replaces an earlier one.
 */
function direction(name, other) {
  const [, { patterns }] = layer('activities', ACTIVITIES_FORBIDDEN).rules['@typescript-eslint/no-restricted-imports'];
  const message = `the sync directions are leaves: ${name} does not import ${other} (docs/architecture.md, "The sync modules")`;
  return {
    files: [`activities/sync/${name}.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [...patterns, { group: [`**/${other}.js`], message }] },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The settings page's script runs in the browser.
    files: ['client/http/assets/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'script' },
  },
  {
    // Loaded by path with `require` (lib/failure-converter.cjs explains why).
    files: ['**/*.cjs'],
    languageOptions: { globals: globals.node, sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The calendar-sync launcher (package.json bin) is plain Node ESM.
    files: ['bin/**/*.js'],
    languageOptions: { globals: globals.node, sourceType: 'module' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Who may import whom (docs/architecture.md, "Layers").
  layer('sync-rules', ['activities', 'adapters', 'lib', 'workflows', 'worker', 'client', ...OUTSIDE_PRODUCT]),
  layer('lib', ['activities', 'adapters', 'workflows', 'worker', 'client', ...OUTSIDE_PRODUCT], {
    allowed: ['**/workflows/names.js'],
  }),
  layer('adapters', ['activities', 'workflows', 'worker', 'client', ...OUTSIDE_PRODUCT]),
  layer('activities', ACTIVITIES_FORBIDDEN),
  direction('pipedrive-to-google', 'google-to-pipedrive'),
  direction('google-to-pipedrive', 'pipedrive-to-google'),
  layer('workflows', ['lib', 'worker', 'client', ...OUTSIDE_PRODUCT], { typesOnly: ['activities', 'adapters'] }),
  layer('client', ['activities', 'worker', ...OUTSIDE_PRODUCT]),
  layer('worker', ['client', ...OUTSIDE_PRODUCT]),
  layer('testing', ['test', 'bench']),
  layer('bench', ['test']),
  layer('scripts', ['test']),
  layer('emulators', [
    'activities',
    'adapters',
    'sync-rules',
    'workflows',
    'worker',
    'client',
    'test',
    'testing',
    'bench',
    'scripts',
  ]),
);
