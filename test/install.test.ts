import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { root } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/tokens.js';
import { startEmulatorProcess } from './helpers/emulator.js';

/** Runs a command to its end, failing the test with its output if it fails. */
function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' }, timeout: 240_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** npm 11.16 brought allowScripts (package.json) and `npm install-scripts`; older npm runs every install script. */
const npmVersion = spawnSync('npm', ['--version'], { encoding: 'utf8' }).stdout.trim().split('.').map(Number);
const npmHasAllowScripts = npmVersion[0] > 11 || (npmVersion[0] === 11 && npmVersion[1] >= 16);

describe('the install scripts of the dependencies', () => {
  it.skipIf(!npmHasAllowScripts)("are each allowed or denied in package.json's allowScripts, so npm ci warns of none", () => {
    // A new dependency with an install script fails this until someone reads the script and decides.
    expect(run('npm', ['install-scripts', 'ls'], root).trim()).toBe('No packages with unreviewed install scripts.');
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).allowScripts).toMatchObject({ 'better-sqlite3': true });
  });
});

/** The files the "send to it:" line of `pushcast emulator`, started in `cwd`, names; the emulator is stopped after its first lines. */
async function emulatorHint(bin: string, cwd: string): Promise<[string, string]> {
  const { child, output: printed } = await startEmulatorProcess(cwd, ['--port', '0'], bin);
  const exited = new Promise((done) => child.on('exit', done));
  child.kill('SIGTERM');
  await exited;
  const output = printed();
  const hint = /^send to it: +pushcast send --config \S+ --audience (\S+) --message (\S+)$/m.exec(output);
  expect(hint, output).not.toBeNull();
  return [hint![1], hint![2]];
}

/** Node 24 and later have their own SQLite (node:sqlite) with no warning: the registry's when better-sqlite3 is not built. */
const ownSqlite = Number(process.versions.node.split('.')[0]) >= 24;

describe('the package as users install it', () => {
  it('packs, installs from the tarball into a fresh prefix, and runs pushcast demo, init and the emulator from unrelated folders', { timeout: 300_000 }, async () => {
    const scratch = tempDir('pushcast-install-');
    // The build is the one `npm test` made: packing must not rebuild dist under the other tests' feet.
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', scratch], root);
    const [tarball] = readdirSync(scratch).filter((name) => name.endsWith('.tgz'));
    const listed = run('tar', ['tzf', join(scratch, tarball)], scratch)
      .split('\n')
      .filter(Boolean);
    expect(listed).toContain('package/fixtures/audience.csv');
    expect(listed).toContain('package/schema/report-v1.schema.json');
    expect(listed.filter((path) => path.startsWith('package/src/') || path.startsWith('package/test/'))).toEqual([]);

    // Dependencies come from npm's cache where it has them, and no install script runs: nothing is
    // built, which is all an install on Node 24 and later needs (the registry uses node:sqlite).
    const prefix = join(scratch, 'prefix');
    run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(scratch, tarball)], scratch);
    const installed = join(prefix, 'lib/node_modules/pushcast');
    expect(existsSync(join(installed, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(false);
    // Source maps carry their sources: they point at nothing the package does not ship.
    const map = JSON.parse(readFileSync(join(installed, 'dist/cli/main.js.map'), 'utf8'));
    expect(map.sourcesContent?.[0]).toContain('export async function run(');

    const elsewhere = tempDir('pushcast-elsewhere-');
    const bin = join(prefix, 'bin/pushcast');
    expect(run(bin, ['--version'], elsewhere).trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
    const record = JSON.parse(run(bin, ['demo', '--json'], elsewhere));
    expect(record).toMatchObject({ campaign: 'demo', status: 'done', counts: { targeted: 13, skipped: 6 } });
    expect(readdirSync(elsewhere)).toEqual([]); // it wrote nothing where it was run

    // The device registry: better-sqlite3, which this install never built; from Node 24, Node's
    // own SQLite in its place; before, one line that says so and names the fix, not a stack.
    const registryUser = tempDir('pushcast-registry-');
    writeFileSync(join(registryUser, 'devices.csv'), 'user_id,provider,token\nu1,fcm,token-of-u1-0123456789\n');
    const imported = spawnSync(bin, ['devices', 'import', 'devices.csv'], { cwd: registryUser, encoding: 'utf8' });
    if (ownSqlite) {
      expect(imported.status, imported.stderr).toBe(0);
      expect(JSON.parse(run(bin, ['devices', 'stats', '--json'], registryUser))).toMatchObject({ devices: 1, valid: 1 });
    } else {
      expect(imported.status).toBe(2);
      expect(imported.stderr).toBe('pushcast: better-sqlite3 was never built for this install: run npm rebuild better-sqlite3 where pushcast is installed\n');
    }

    // What init writes and what the emulator's hint names exist outside a clone too.
    const project = tempDir('pushcast-project-');
    run(bin, ['init', '--providers', 'fcm'], project);
    const schema = JSON.parse(readFileSync(join(project, 'pushcast.config.json'), 'utf8')).$schema;
    expect(realpathSync(fileURLToPath(schema))).toBe(realpathSync(join(installed, 'schema/config-v1.schema.json')));
    for (const [folder, named] of [
      [tempDir('pushcast-empty-'), join(installed, 'fixtures')], // the campaign pushcast ships, by its full path
      [project, project], // the files init wrote
    ]) {
      const [audience, message] = await emulatorHint(bin, folder);
      expect(existsSync(resolve(folder, audience)), audience).toBe(true);
      expect(existsSync(resolve(folder, message)), message).toBe(true);
      expect(realpathSync(dirname(resolve(folder, audience)))).toBe(realpathSync(named));
    }
  });
});
