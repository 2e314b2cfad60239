// The house rules. The layering of src/ (CONTRIBUTING.md) is written here as import rules, so an
// upward import or a cycle fails `npm test` instead of waiting for a reviewer to spot it.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** The globals of Node that the JavaScript files (bin/, bench/, .ci/) use. */
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'Buffer',
    'URL',
    'performance',
    'AbortController',
    'AbortSignal',
    'structuredClone',
    'fetch',
    'URLSearchParams',
  ].map((name) => [name, 'readonly']),
);

/** Relative imports of these src/ folders, from any depth. */
const folders = (...names) => names.flatMap((name) => [`../${name}/*`, `../../${name}/*`, `../../../${name}/*`]);
const forbid = (message, ...names) => ({ group: folders(...names), message });

/** The SDKs: only their own provider folder may load them. */
const sdks = { group: ['firebase-admin', 'firebase-admin/*', '@parse/node-apn', 'web-push'], message: 'Only src/providers/<name>/ loads a provider SDK.' };

/** Layer by layer, what each folder of src/ may not import: nothing above it. */
const layers = [
  {
    files: ['src/domain/**'],
    patterns: [
      forbid(
        'src/domain is the ground floor: it imports only itself.',
        'config',
        'audience',
        'message',
        'journal',
        'providers',
        'engine',
        'report',
        'registry',
        'campaign',
        'cli',
        'emulator',
      ),
    ],
  },
  {
    files: ['src/config/**'],
    patterns: [
      forbid('config knows the settings, not what uses them.', 'audience', 'message', 'journal', 'providers', 'engine', 'report', 'registry', 'campaign', 'cli', 'emulator'),
    ],
  },
  {
    files: ['src/audience/**', 'src/message/**'],
    patterns: [forbid('Reading inputs knows nothing of sending.', 'journal', 'providers', 'engine', 'report', 'registry', 'campaign', 'cli', 'emulator')],
  },
  {
    files: ['src/journal/**'],
    patterns: [
      forbid(
        'The journal is written by the engine and read by the campaign and the report: it imports neither.',
        'providers',
        'engine',
        'report',
        'registry',
        'campaign',
        'cli',
        'emulator',
      ),
    ],
  },
  {
    files: ['src/providers/**'],
    patterns: [forbid('Providers never import the engine, the campaign or the CLI.', 'journal', 'engine', 'report', 'registry', 'campaign', 'cli', 'emulator')],
  },
  {
    files: ['src/engine/**'],
    patterns: [
      forbid('The engine is handed the providers (ProviderSource): it names none.', 'report', 'registry', 'campaign', 'cli', 'emulator'),
      {
        group: [...folders('providers/fcm', 'providers/apns', 'providers/webpush'), '../providers/descriptors*', '../providers/provider-set*', '../providers/dry-run*'],
        message: 'The engine names no provider: only providers/provider.js, the contract.',
      },
    ],
  },
  {
    files: ['src/report/**', 'src/registry/**'],
    patterns: [
      forbid(
        'Reports and the registry read the domain, the journal and each other, never the engine, the campaign or the CLI.',
        'providers',
        'engine',
        'campaign',
        'cli',
        'emulator',
      ),
    ],
  },
  { files: ['src/campaign/**'], patterns: [forbid('The campaign touches no terminal: it never imports the CLI.', 'cli', 'emulator')] },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', 'scratch/', 'coverage/', '.ci/results.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: nodeGlobals },
    plugins: { 'import-x': importX },
    settings: {
      // How import-x reads the files it follows: TypeScript sources, imported as .js (NodeNext).
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.check.json' })],
    },
    rules: {
      'import-x/no-cycle': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  ...layers.map(({ files, patterns }) => ({
    files,
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: files.includes('src/providers/**') ? patterns : [...patterns, sdks] }] },
  })),
  {
    // The emulator stands in for the providers, so it must not share the sender's assumptions:
    // it imports node built-ins, its own folder, and the config's types (to write a config file).
    files: ['src/emulator/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../*', '!../config/config.js'], message: 'The emulator imports nothing of the sender.' },
            { group: ['../config/config.js'], allowTypeImports: true, message: 'The emulator may import the config types only.' },
            sdks,
          ],
        },
      ],
    },
  },
);
