import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { fateOf } from '../src/emulator/fate.js';
import { startEmulator, type Emulator } from './helpers/emulator.js';
import { fcmToken, tempDir } from './helpers/tokens.js';

/**
 * Runs every code block marked `runnable` in the README and the pages of docs/ against the
 * emulator, the way a reader would paste it: `pushcast` on the PATH, a config that points at the
 * emulator, the fixtures at hand.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.md'))
    .map((path) => join('docs', path)),
].sort();
const blocks = pages.flatMap((page) => [...readFileSync(join(root, page), 'utf8').matchAll(/```(\w+) runnable\n([\s\S]*?)```/g)].map(([, lang, code]) => ({ page, lang, code })));
const binDir = tempDir();
writeFileSync(join(binDir, 'pushcast'), `#!/bin/sh\nexec "${process.execPath}" "${join(root, 'bin/pushcast.js')}" "$@"\n`);
chmodSync(join(binDir, 'pushcast'), 0o755);

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ seed: 'readme', unregistered: 0.1 });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

/** Runs a snippet in sh, asynchronously: the emulator answering it lives in this process. */
function shell(code: string, cwd: string, env: Record<string, string> = {}): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', code], { cwd, env: { PATH: `${binDir}:${process.env.PATH}`, HOME: cwd, ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (status) => resolve({ status, output }));
  });
}

/** A folder as a reader's would be: the emulator's config and the fixtures. */
function project(changes: (config: Record<string, Record<string, unknown>>) => void = () => undefined): string {
  const dir = tempDir();
  const config = emulator.config() as unknown as Record<string, Record<string, unknown>>;
  changes(config);
  writeFileSync(join(dir, 'pushcast.config.json'), JSON.stringify(config));
  mkdirSync(join(dir, 'fixtures'));
  for (const file of ['audience.csv', 'message.json']) copyFileSync(join(root, 'fixtures', file), join(dir, 'fixtures', file));
  return dir;
}

/** The runnable blocks of one page in one language that `test` picks. */
const blocksOf = (page: string, lang: string, test: (code: string) => boolean = () => true) =>
  blocks.filter((block) => block.page === page && block.lang === lang && test(block.code));

describe('the runnable examples of the README and docs/ run as written', () => {
  it('finds every runnable example, each tested below', () => {
    expect(blocks.map((block) => `${block.page} ${block.lang}`)).toEqual([
      'README.md sh',
      'README.md sh',
      'docs/guides/ci-smoke-test.md yaml',
      'docs/guides/cron.md crontab',
      'docs/guides/fleet.md yaml',
    ]);
  });

  it("the README's first campaign: init and a dry run of what it wrote, then a send to the emulator that a second run resumes", async () => {
    const dir = tempDir();
    const [plan, send] = blocksOf('README.md', 'sh');
    expect(plan.code).toContain('pushcast init');
    const planned = await shell(plan.code, dir);
    expect(planned.status, planned.output).toBe(0);
    expect(planned.output).toContain('would send 2 devices (fcm 1, apns 1, webpush 0)');
    expect(emulator.stats().requests).toEqual({ fcm: 0, apns: 0, webpush: 0 });
    // What `pushcast emulator` writes in the folder: a config that points at the emulator.
    writeFileSync(join(dir, 'pushcast.emulator.json'), JSON.stringify(emulator.config()));
    const sent = await shell(send.code, dir);
    expect(sent.status, sent.output).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(report.counts.targeted).toBe(2);
    const accepted = emulator.stats().accepted;
    expect(report.counts.accepted).toBe(accepted.fcm + accepted.apns + accepted.webpush);
    expect(report.counts.accepted + report.counts.invalid).toBe(2);
    expect(readFileSync(join(dir, 'prune.csv'), 'utf8').trim().split('\n')).toHaveLength(report.counts.invalid + 1);
    expect(existsSync(join(dir, 'retry-later.csv'))).toBe(true);
    // `pushcast report` lists the campaign just sent.
    expect(sent.output).toMatch(new RegExp(`${report.campaign} +done `));
    // The same send again resumes the campaign: nobody gets it twice.
    const again = await shell(send.code, dir);
    expect(again.status, again.output).toBe(0);
    expect(emulator.stats().accepted).toEqual(accepted);
    expect(emulator.stats().duplicates).toBe(0);
  });

  it('the crontab line reports quietly, and running it again that day resumes', async () => {
    const dir = project();
    copyFileSync(join(root, 'fixtures/audience.csv'), join(dir, 'daily.csv'));
    copyFileSync(join(root, 'fixtures/message.json'), join(dir, 'daily.json'));
    const [block] = blocksOf('docs/guides/cron.md', 'crontab');
    const active = block.code.split('\n').filter((text) => text.trim() && !text.startsWith('#'));
    // Environment lines (PATH=…) are cron's; here the job runs with this test's PATH, which has pushcast on it.
    // A PATH of the crontab's own keeps cron's /usr/bin and /bin, where sh finds date and the rest.
    for (const path of active.filter((text) => text.startsWith('PATH='))) expect(path.slice('PATH='.length).split(':')).toEqual(expect.arrayContaining(['/usr/bin', '/bin']));
    const line = active.find((text) => !/^[A-Za-z_]\w*=/.test(text))!;
    const command = line.trim().split(/\s+/).slice(5).join(' ').replace('/srv/push', dir);
    const first = await shell(command, dir);
    expect(first.status, first.output).toBe(0);
    expect(readFileSync(join(dir, 'pushcast.log'), 'utf8')).toMatch(/campaign daily-\d{4}-\d{2}-\d{2} done: 13 targeted/);
    // The same line again that day resumes the campaign: nobody gets it twice.
    const accepted = emulator.stats().accepted;
    expect((await shell(command, dir)).status).toBe(0);
    expect(emulator.stats().accepted).toEqual(accepted);
    expect(emulator.stats().duplicates).toBe(0);
  });

  it('the GitHub Actions step passes for a live token and fails with 3 for a dead one', async () => {
    // The service account comes from the secret, as in CI: the config holds only the emulator's address.
    const dir = project((config) => delete config.fcm.serviceAccount);
    const [block] = blocksOf('docs/guides/ci-smoke-test.md', 'yaml', (code) => code.includes('name: Push smoke test'));
    const steps = parseYaml(block.code) as Array<{ name: string; run: string; env?: Record<string, string> }>;
    // The install step is what this test runs under: pushcast on PATH, from this checkout.
    expect(steps[0].run).toMatch(/^npm install --global --allow-scripts=better-sqlite3 \.\/tools\/pushcast-[\d.]+\.tgz$/);
    const step = steps.find((candidate) => candidate.name.startsWith('Push smoke test'))! as { run: string; env: Record<string, string> };
    const live = tokenWithFate('accept');
    const dead = tokenWithFate('unregistered');
    const secrets = (token: string): Record<string, string> => ({ FCM_SERVICE_ACCOUNT_JSON: JSON.stringify(emulator.credentials.serviceAccount), SMOKE_DEVICE_TOKEN: token });
    const run = (token: string) => {
      const env = Object.fromEntries(
        Object.entries(step.env).map(([name, value]) => [name, value.replace(/\$\{\{ secrets\.(\w+) \}\}/, (_, secret: string) => secrets(token)[secret])]),
      );
      return shell(step.run.replace('${{ github.ref_name }}', 'v4.2.0'), dir, env);
    };
    expect((await run(live)).status).toBe(0);
    expect(emulator.delivered()).toMatchObject([{ token: live, message: { notification: { title: 'Release v4.2.0' } } }]);
    const failed = await run(dead);
    expect(failed.status).toBe(3);
    expect(failed.output).toContain('--require-all-accepted: 1 invalid');
  });

  it('the Kubernetes Indexed Job: four pods, four shards, each recipient once', async () => {
    const dir = project();
    const data = join(dir, 'data');
    mkdirSync(data);
    copyFileSync(join(root, 'fixtures/audience.csv'), join(data, 'audience.csv'));
    copyFileSync(join(root, 'fixtures/message.json'), join(data, 'message.json'));
    const [block] = blocksOf('docs/guides/fleet.md', 'yaml', (code) => code.includes('kind: Job'));
    const job = parseYaml(block.code) as { spec: { completions: number; template: { spec: { containers: Array<{ args: string[] }> } } } };
    const command = job.spec.template.spec.containers[0].args[0].replace(/\/data/g, data);
    for (let index = 0; index < job.spec.completions; index++) {
      const pod = await shell(command, dir, { JOB_COMPLETION_INDEX: String(index) });
      expect(pod.status, pod.output).toBe(0);
    }
    const stats = emulator.stats();
    expect(stats.duplicates).toBe(0);
    const merged = await shell(`pushcast report spring-sale --journal-dir ${data}/journals --json`, dir);
    const report = JSON.parse(merged.output);
    expect(report.counts.targeted).toBe(13);
    expect(report.counts.accepted).toBe(stats.accepted.fcm + stats.accepted.apns + stats.accepted.webpush);
  });
});

function tokenWithFate(fate: 'accept' | 'unregistered'): string {
  for (let i = 0; ; i++) if (fateOf(emulator.behaviour, 'fcm', fcmToken(`readme${i}`), 1) === fate) return fcmToken(`readme${i}`);
}
