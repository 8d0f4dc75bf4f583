// ESLint (flat config): typescript-eslint's recommended rules for the TypeScript, ESLint's for the
// plain-JS scripts. Formatting is Prettier's (.prettierrc.json), so no style rules here. The
// rules are chosen so that `npx prettier --write . && npx eslint --fix .` leaves few errors;
// every exception below says why it is one.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'runs/', '.cache/', 'test/fixtures/', '.venv/', '.ci/cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Unused names are errors, except `_`-prefixed ones (kept on purpose in signatures).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // An empty catch is how best-effort clean-up says "ignore": allowed there only.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Lines stay under 120 columns (Prettier wraps code; this catches comments). Long strings, such as
      // one-line error messages, are exempt: splitting them hides them from grep.
      'max-len': [
        'error',
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
    },
  },
  {
    // Tests poke at the untyped boundary on purpose (wrong arguments to native ops).
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
