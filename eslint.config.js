// Lint: typescript-eslint's type-aware rules plus the architecture's import rules
// (../shared/ARCHITECTURE.md, "Import rules"), enforced per folder.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const area = (name) => [`**/src/${name}/**`, `src/${name}/**`];
const forbid = (...names) =>
  names.map((n) => ({ group: [`**/${n}/**`, `**/${n}`], message: `the architecture forbids importing ${n} from here` }));

/** One entry per area: which sibling areas it must never import. */
const rules = {
  // Small I/O helpers (durable files, ids) every area may use; they import nothing of ours.
  common: ['protocol', 'hub', 'device-agent', 'scheduler', 'firmware', 'cli'],
  protocol: ['hub', 'device-agent', 'scheduler', 'firmware', 'cli'],
  scheduler: ['hub', 'device-agent', 'firmware', 'cli'],
  firmware: ['hub', 'device-agent', 'scheduler', 'cli'],
  'device-agent': ['hub', 'scheduler', 'cli'],
  hub: ['device-agent', 'cli'],
  cli: ['hub', 'device-agent', 'scheduler'],
};

export default tseslint.config(
  // Plain-JS build scripts are outside the TypeScript project (and its type-aware rules).
  { ignores: ['dist/**', 'node_modules/**', 'hardware/build/**', 'bin/**', 'scripts/**', 'eslint.config.js', 'ava.reference.config.mjs', 'dashboard/vite.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          // zod's `z` export is one object holding all of zod: a bundler must keep every schema kind,
          // format and locale behind it. A namespace import lets esbuild keep only what is used (the
          // agent bundle's zod: 193 → 99 KB of code, −0.7 MB of heap; bench/RESULTS.md).
          selector: "ImportDeclaration[source.value='zod'][importKind='value'] > ImportSpecifier[imported.name='z']",
          message: "import zod as `import * as z from 'zod'`: `import { z }` keeps all of zod in the agent's bundle",
        },
      ],
    },
  },
  ...Object.entries(rules).map(([name, banned]) => ({
    files: area(name),
    rules: { 'no-restricted-imports': ['error', { patterns: forbid(...banned) }] },
  })),
  {
    // The dashboard runs in the browser and knows the hub only through its API: it may use the
    // protocol's types, nothing else of ours.
    files: ['dashboard/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: forbid('hub', 'device-agent', 'scheduler', 'firmware', 'cli', 'common') }] },
  },
  {
    // The emulated bench is an independent model of the MCUs: it must not share code with
    // the flasher it is used to check, or a bug in one would hide in both.
    files: ['hardware/bench/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: forbid('src') }] },
  },
);
