// The house rules. The layering of src/ (CONTRIBUTING.md) is written here as import rules, so an
// upward import or a cycle fails `npm test` instead of waiting for a reviewer to spot it.
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const root = fileURLToPath(new URL('.', import.meta.url));

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

const folders = (...names) => names.map((name) => `src/${name}`);

/**
 * Layer by layer, what each folder of src/ may not import: nothing above it. Zones are folders,
 * matched on the file an import resolves to, so they hold at any depth and for `import()` too.
 */
const layers = [
  { target: 'src/domain', from: 'src', except: ['./domain'], message: 'src/domain is the ground floor: it imports only itself.' },
  {
    target: 'src/config',
    from: folders('audience', 'message', 'journal', 'providers', 'engine', 'report', 'registry', 'campaign', 'cli', 'emulator'),
    message: 'config knows the settings, not what uses them.',
  },
  {
    target: folders('audience', 'message'),
    from: folders('journal', 'providers', 'engine', 'report', 'registry', 'campaign', 'cli', 'emulator'),
    message: 'Reading inputs knows nothing of sending.',
  },
  {
    target: 'src/journal',
    from: folders('providers', 'engine', 'report', 'registry', 'campaign', 'cli', 'emulator'),
    message: 'The journal is written by the engine and read by the campaign and the report: it imports neither.',
  },
  {
    target: 'src/providers',
    from: folders('journal', 'engine', 'report', 'registry', 'campaign', 'cli', 'emulator'),
    message: 'Providers never import the engine, the campaign or the CLI.',
  },
  {
    // One rule for the sessions of all three adapters: http2/ serves them and names none.
    target: 'src/providers/http2',
    from: folders('providers/fcm', 'providers/apns', 'providers/webpush', 'providers/threads', 'providers/descriptors.ts', 'providers/provider-set.ts'),
    message: 'providers/http2/ is what the adapters share of HTTP/2: it imports no adapter (fcm, apns, webpush, threads) nor their list.',
  },
  {
    target: 'src/engine',
    from: folders('report', 'registry', 'campaign', 'cli', 'emulator'),
    message: 'The engine is handed the providers (ProviderSource): it names none.',
  },
  {
    target: 'src/engine',
    from: 'src/providers',
    except: ['./provider.ts'],
    message: 'The engine names no provider: only providers/provider.js, the contract.',
  },
  {
    target: folders('report', 'registry'),
    from: folders('providers', 'engine', 'campaign', 'cli', 'emulator'),
    message: 'Reports and the registry read the domain, the journal and each other, never the engine, the campaign or the CLI.',
  },
  { target: 'src/campaign', from: folders('cli', 'emulator'), message: 'The campaign touches no terminal: it never imports the CLI.' },
  // The emulator stands in for the providers, so it must not share the sender's assumptions: it
  // imports node built-ins, its own folder, and the config's types (to write a config file).
  { target: 'src/emulator', from: 'src', except: ['./emulator', './config/config.ts'], message: 'The emulator imports nothing of the sender.' },
  {
    target: 'src/cli/commands',
    from: 'src/cli/commands',
    message: 'A command never imports another: what two commands share lives in src/cli/ (or below), each command only wires it.',
  },
];

/** Which package each provider's client is: only src/providers/<name>/ loads it, in any way. */
const sdks = { fcm: 'firebase-admin', apns: '@parse/node-apn', webpush: 'web-push' };

/** Every way a file can load a package: import, export from, import(), a type of it, require() or createRequire()(). */
function loading(pkg, message) {
  // esquery's regular expressions cannot hold a slash: \u002f is one.
  const source = `/^${pkg.replace('/', '\\u002f')}($|\\u002f)/`;
  return [
    `ImportDeclaration[source.value=${source}]`,
    `ExportNamedDeclaration[source.value=${source}]`,
    `ExportAllDeclaration[source.value=${source}]`,
    `ImportExpression[source.value=${source}]`,
    `TSImportType[source.value=${source}]`,
    `CallExpression:matches([callee.name='require'], [callee.callee.name='createRequire'])[arguments.0.value=${source}]`,
  ].map((selector) => ({ selector, message }));
}

const sdkLoads = (except) =>
  Object.entries(sdks)
    .filter(([name]) => name !== except)
    .flatMap(([name, pkg]) => loading(pkg, `Only src/providers/${name}/ loads ${pkg}: anything else goes through what that folder exports.`));

/**
 * Only src/cli/main.ts touches the process: env, argv, exit, signals, stdio, cwd and pid reach
 * everything else through CliIo, so a test runs a command with its own. node:process is the same
 * object, so importing it is no way around. Allowed everywhere: what reads only this process's
 * own facts and has no effect outside it, so a test has nothing to replace:
 */
const harmlessProcess = [
  'versions', // which Node.js runs: what a message advises, which driver loads quietly
  'hrtime',
  'cpuUsage',
  'resourceUsage', // the time, CPU and peak memory a run reports having used
  'nextTick', // Node's own queue: an event emitted after the caller returns, as Node's streams do
];
const processUse = [
  `MemberExpression[object.name='process'][property.name!=/^(${harmlessProcess.join('|')})$/]`,
  ":not(MemberExpression) > Identifier[name='process']",
  "MemberExpression[object.name='globalThis'][property.name='process']",
  ':matches(ImportDeclaration, ImportExpression, ExportNamedDeclaration, ExportAllDeclaration)[source.value=/^(node:)?process$/]',
].map((selector) => ({ selector, message: 'Only src/cli/main.ts touches process: take what you need from CliIo (src/cli/io.ts), passed down.' }));

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
  {
    files: ['src/**'],
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: root, zones: layers }],
      'no-restricted-syntax': ['error', ...sdkLoads(), ...processUse],
    },
  },
  ...Object.keys(sdks).map((name) => ({ files: [`src/providers/${name}/**`], rules: { 'no-restricted-syntax': ['error', ...sdkLoads(name), ...processUse] } })),
  { files: ['src/cli/main.ts'], rules: { 'no-restricted-syntax': ['error', ...sdkLoads()] } },
  {
    // Rules that need the types: the engine's promises (a batch, a retry, a close) are awaited or
    // handled, never dropped; one meant to run on its own is marked `void`, with why.
    // (no-misused-promises found nothing and cost 4 to 5 s more of a 30 s lint: left out.)
    files: ['src/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',

      // A file this long holds more than one idea: a warning, to split it when next changed.
      'max-lines': ['warn', { max: 350, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Only the types: a value of the config's module would be the sender's code.
    files: ['src/emulator/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/config/config.js'], allowTypeImports: true, message: 'The emulator may import the config types only.' }] },
      ],
    },
  },
);
