// @ts-check
/**
 * ESLint (flat config), part of `npm run lint`: typescript-eslint's recommended rules (syntax
 * only, no type information: fast) over src/, test/, bench/ and scripts/.
 */
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/ui/static/**', 'deploy/**', 'models/**', '.stryker-tmp/**', 'reports/**'] },
  {
    files: ['{src,test,bench,scripts}/**/*.{ts,mts,js,mjs}', '*.{js,cjs,mjs}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: globals.node },
    rules: {
      // `_name` marks a deliberately unused binding (a skipped tuple item, a dropped property)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
      // `cond ? a() : b()` and `x && f()` as statements are the house style
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true, allowShortCircuit: true }],
    },
  },
  {
    files: ['*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // these tests write numbers past 2^53 and control characters on purpose (precision, hostile input)
    files: ['test/collector/exposition-parser.test.ts', 'test/sinks/line-protocol.test.ts', 'test/ml/formula-hostile.test.ts'],
    rules: { 'no-loss-of-precision': 'off', 'no-control-regex': 'off' },
  },
  // tests read loosely typed JSON answers (HTTP bodies, gRPC replies) where a full type would add nothing
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
);
