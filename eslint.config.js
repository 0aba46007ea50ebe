// @ts-check
/**
 * eslint for src/, test/, bench/ and scripts/, run by `npm run lint`: typescript-eslint's
 * type-aware recommended rules, which catch floating promises and `any` flowing into typed code
 * where tsc says nothing. Formatting is prettier's job and layering dependency-cruiser's
 * (.dependency-cruiser.cjs).
 *
 * Every rule switched off or loosened below says why. `any` is refused everywhere
 * (no-explicit-any): where one is needed, an eslint-disable comment on it gives the reason.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The few globals the plain-JavaScript files use (TypeScript files get theirs from tsc). */
const NODE_GLOBALS = /** @type {const} */ ({
  process: 'readonly',
  console: 'readonly',
  URL: 'readonly',
  require: 'readonly',
  module: 'writable',
});

export default tseslint.config(
  { ignores: ['dist/', 'dist-check/', 'node_modules/', 'test/fixtures/', 'test/golden/', 'clusters/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // vitest.config.ts sits outside tsconfig.json's folders; the default project types it.
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An async function that implements a Promise-returning interface without awaiting (a fake
      // transport's exec, a close() with nothing to wait for) is clearer than a hand-built
      // Promise.resolve(); the bug this rule hunts, a promise nobody awaits, is
      // no-floating-promises' job and that one stays on.
      '@typescript-eslint/require-await': 'off',
      // Variables and settings are stringified after the JSON schema has made them scalars, and
      // nested settings are rendered as YAML before any String() sees them; the rule cannot see
      // the schema and would ask for a cast at each of these places.
      '@typescript-eslint/no-base-to-string': 'off',
      // A leading underscore marks a parameter or destructured slot that is unused on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Tests and the bench read parsed YAML/JSON documents and library objects field by field;
    // a document of the wrong shape fails the assertion, which is the test's point, so typing
    // every fixture would only repeat the schema. `any` itself still needs a reasoned
    // eslint-disable comment (no-explicit-any stays on).
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: NODE_GLOBALS },
  },
  {
    // A --require preload is CommonJS by definition.
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
