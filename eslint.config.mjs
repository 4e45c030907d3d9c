// Lint TypeScript sources with the recommended type-aware rules, and keep the layers apart.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** An import whose specifier goes up some directories and then into `dir`. */
const into = (dir) => `^(\\./)?(\\.\\./)+${dir}`;

export default tseslint.config(
  { ignores: ['dist/**', 'cdk.out/**', 'node_modules/**', '.pglite/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Config files and test setup scripts run in Node.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', module: 'writable', require: 'readonly', __dirname: 'readonly' },
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // Layering. The CDK app (constructs, stacks, config) bundles function code but never loads it; the one thing
  // it shares with a function is the migration resource's contract, as types.
  {
    files: ['lib/constructs/**/*.ts', 'lib/stacks/**/*.ts', 'lib/config/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { regex: into('lambda/(?!migrate-handler/resource-properties$)'), message: 'The CDK app does not import lambda/: functions are bundled, not loaded.' },
          { regex: into('lambda/migrate-handler/resource-properties$'), allowTypeImports: true, message: 'The migration resource contract is shared as types only (import type).' },
        ],
      }],
    },
  },
  // Functions run on their own: nothing of the CDK app, the CLI or the local tools goes into their bundles.
  {
    files: ['lambda/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ regex: into('(lib|bin)/'), message: 'lambda/ does not import lib/ or bin/.' }],
      }],
    },
  },
  // The CLI drives the runner through its public index, like any other user of it.
  {
    files: ['lib/db-cli/**/*.ts', 'bin/db.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ regex: into('lambda/migrator/.'), message: "The db CLI uses the runner's public index (lambda/migrator), not its modules." }],
      }],
    },
  },
);
