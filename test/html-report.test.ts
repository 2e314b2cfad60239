import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignRecord } from '../src/report/campaign-record.js';
import { localTimeText, machineTimeZone } from '../src/domain/zoned-time.js';
import { audienceFile } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { bin, spawnCli } from './helpers/spawn-cli.js';
import { waitFor } from './helpers/wait-for.js';
import { apnsToken, fcmToken, tempDir, tempFile } from './helpers/tokens.js';

type Node = DefaultTreeAdapterMap['childNode'] | DefaultTreeAdapterMap['document'];
type Element = DefaultTreeAdapterMap['element'];

/** Every element of a parsed page, in document order. */
function elements(node: Node): Element[] {
  const found: Element[] = [];
  const walk = (current: Node) => {
    if ('tagName' in current) found.push(current);
    const children = 'childNodes' in current ? current.childNodes : [];
    for (const child of children) walk(child as Node);
    if ('content' in current && current.content) walk(current.content as unknown as Node);
  };
  walk(node);
  return found;
}
const attribute = (element: Element, name: string) => element.attrs.find((attr) => attr.name === name)?.value;
function textOf(node: Node): string {
  if ('value' in node && node.nodeName === '#text') return node.value;
  return ('childNodes' in node ? node.childNodes : []).map((child) => textOf(child as Node)).join('');
}

/** The parsed page's elements, and lookups by id, class and tag. */
function parsePage(html: string) {
  const all = elements(parse(html));
  const classes = (element: Element) => (attribute(element, 'class') ?? '').split(' ');
  return {
    all,
    byId: (id: string) => all.find((element) => attribute(element, 'id') === id),
    byClass: (name: string, within: Element[] = all) => within.filter((element) => classes(element).includes(name)),
    byTag: (tag: string, within: Element[] = all) => within.filter((element) => element.tagName === tag),
    /** The text a reader sees: the body without the embedded record. */
    shownText: () => textOf(all.find((element) => element.tagName === 'body')!).replace(textOf(all.find((element) => attribute(element, 'id') === 'pushcast-record')!), ''),
  };
}
const embeddedRecord = (html: string) => JSON.parse(textOf(parsePage(html).byId('pushcast-record')!)) as CampaignRecord;
const percentOf = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;

/** A real browser, where there is one (CI installs Debian's chromium when it can). */
const chromium = ['chromium', 'chromium-browser'].find((name) => spawnSync('which', [name]).status === 0);
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars'];

const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'Picture' }));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ seed: 'html', unregistered: 0.2, tooManyRequests: 0.05, retryAfterSeconds: 1 });
});
afterAll(() => emulator.close());

/** A campaign with every kind of row: accepted, invalid, retried, skipped (one with markup in it), unrouted. */
async function campaignWithHtml(): Promise<{ dir: string; html: string; record: CampaignRecord }> {
  // The emulator fails a token's first attempt only: each campaign starts it afresh, so each has its retries and pauses.
  emulator.reset();
  const dir = tempDir();
  const config = writeEmulatorConfig(emulator, {}, dir);
  const rows = ['provider,token,name'];
  for (let i = 0; i < 40; i++) rows.push(`fcm,${fcmToken(`h${i}`)},Ana`, `apns,${apnsToken(`h${i}`)},Bo`);
  rows.push('fcm,abc,short', '"<img src=x onerror=alert(1)>",xyz,"<script>alert(2)</script>"');
  const { code, stdout, stderr } = await runCli(
    ['send', '--config', config, '-a', tempFile('a.csv', rows.join('\n')), '-m', message, '--campaign', 'picture', '--json', '--html', 'report.html'],
    {
      cwd: dir,
    },
  );
  expect(code, stderr).toBe(0);
  return { dir, html: readFileSync(join(dir, 'report.html'), 'utf8'), record: JSON.parse(stdout) };
}

describe('the HTML report', () => {
  it('shows the same numbers as the JSON record: per provider, per reason, per row, and embeds the record itself', async () => {
    const { html, record } = await campaignWithHtml();
    const all = elements(parse(html));
    const cell = (provider: string, kind: string) =>
      Number(
        textOf(
          all.find(
            (element) =>
              element.tagName === 'td' &&
              attribute(element, 'data-kind') === kind &&
              all.some((row) => row.tagName === 'tr' && attribute(row, 'data-provider') === provider && row.childNodes.includes(element)),
          )!,
        ),
      );
    for (const provider of ['fcm', 'apns'] as const) {
      for (const kind of ['targeted', 'accepted', 'invalid', 'rejected', 'failed', 'uncertain', 'skipped'] as const)
        expect(cell(provider, kind)).toBe(record.providers[provider][kind]);
    }
    for (const kind of ['targeted', 'accepted', 'invalid', 'skipped'] as const) expect(cell('total', kind)).toBe(record.counts[kind]);
    expect(cell('unrouted', 'skipped')).toBe(record.unroutedSkipped);
    expect(record.counts.invalid).toBeGreaterThan(0);

    const reason = (id: string, name: string) => {
      const group = all.find((element) => attribute(element, 'id') === `reasons-${id}`)!;
      const row = elements(group).find((element) => attribute(element, 'data-reason') === name)!;
      return Number(textOf(elements(row).find((element) => attribute(element, 'class') === 'n')!));
    };
    for (const [name, n] of Object.entries(record.invalidByReason)) expect(reason('invalid', name)).toBe(n);
    for (const [name, n] of Object.entries(record.skippedByReason)) expect(reason('skipped', name)).toBe(n);

    // Rows with the same outcome, reason and detail are one row, with their count and their lines.
    const groups = all.filter((element) => element.tagName === 'tr' && attribute(element, 'class') === 'row-group');
    expect(groups.reduce((sum, group) => sum + Number(attribute(group, 'data-count')), 0)).toBe(record.errors.length);
    const lines = groups.flatMap((group) =>
      attribute(group, 'data-lines')!
        .split(',')
        .flatMap((range) => {
          const [from, to = from] = range.split('-').map(Number);
          return Array.from({ length: to - from + 1 }, (_, i) => from + i);
        }),
    );
    expect(lines.sort((a, b) => a - b)).toEqual(record.errors.map((entry) => entry.line).sort((a, b) => a - b));

    // Sends per second: the bars add up to the requests the record counts, and the retries are marked.
    const timeline = record.timeline!;
    expect(timeline.sends.reduce((sum, n) => sum + n, 0)).toBe(record.sends);
    const bars = all.filter((element) => element.tagName === 'rect' && attribute(element, 'class') === 'sends');
    expect(bars).toHaveLength(timeline.sends.length);
    expect(bars.reduce((sum, bar) => sum + Number(attribute(bar, 'data-sends')), 0)).toBe(record.sends);
    if (record.retries > 0) expect(all.some((element) => element.tagName === 'rect' && attribute(element, 'class') === 'retries')).toBe(true);
    if (timeline.pauses.length > 0) expect(all.filter((element) => attribute(element, 'class') === 'pause')).toHaveLength(timeline.pauses.length);

    const embedded = all.find((element) => attribute(element, 'id') === 'pushcast-record')!;
    expect(JSON.parse(textOf(embedded))).toEqual(record);
  });

  it('is self-contained and inert: no network, no script, markup from the audience shown as text', async () => {
    const { html } = await campaignWithHtml();
    const all = elements(parse(html));
    expect(all.filter((element) => element.tagName === 'script').map((element) => attribute(element, 'type'))).toEqual(['application/json']);
    expect(all.filter((element) => ['img', 'iframe', 'link', 'object', 'embed'].includes(element.tagName))).toEqual([]);
    expect(all.flatMap((element) => element.attrs.filter((attr) => ['src', 'href'].includes(attr.name) || attr.name.startsWith('on')))).toEqual([]);
    expect(
      attribute(
        all.find((element) => attribute(element, 'http-equiv') === 'Content-Security-Policy')!,
        'content',
      ),
    ).toContain("default-src 'none'");
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
  });

  it('is written for the marketer: the campaign by name, the share accepted, one rate, local times, pauses labelled by provider', async () => {
    const { html, record } = await campaignWithHtml();
    const shown = parsePage(html);
    // An explicit --campaign id is the campaign's name.
    expect(textOf(shown.byId('campaign-name')!)).toBe('picture');
    expect(shown.byClass('campaign-id')).toEqual([]);
    // Accepted as a share of targeted, up front.
    const { accepted, targeted } = record.counts;
    expect(textOf(shown.byId('accepted-share')!)).toContain(percentOf(accepted, targeted));
    expect(textOf(shown.byId('accepted-share')!)).toContain(`accepted (${accepted} of ${targeted} targeted)`);
    // One notion of rate, with one label wherever a rate is shown: the campaign's in the header, the peak on the chart's axis.
    const rates = shown.shownText().match(/\d[\d.,]*\s*(?:\/s\b|per second|a second|sends\/s)/g) ?? [];
    expect(rates.length).toBeGreaterThan(1);
    for (const rate of rates) expect(rate).toMatch(/^\d+ sends\/s$/);
    expect(textOf(shown.byId('overall-rate')!)).toBe(`${record.overall!.sendsPerSecond} sends/s`);
    expect(textOf(shown.byClass('peak-label')[0])).toMatch(/^peak \d+ sends\/s$/);
    // Times in this machine's local time, the zone named.
    expect(textOf(shown.byId('time-zone')!)).toContain(machineTimeZone());
    expect(textOf(shown.byId('overall-started')!)).toBe(localTimeText(Date.parse(record.overall!.startedAt)));
    // Each pause band is a provider's, and the legend says whose and why.
    const pauses = record.timeline!.pauses;
    expect(pauses.length).toBeGreaterThan(0);
    expect(shown.byClass('pause')).toHaveLength(pauses.length);
    for (const provider of new Set(pauses.map((pause) => pause.provider))) {
      const key = shown.byClass('pause-key').find((element) => attribute(element, 'data-provider') === provider);
      expect(textOf(key!)).toContain(`${provider} paused`);
      for (const pause of pauses.filter((one) => one.provider === provider)) expect(textOf(key!)).toContain(pause.reason);
    }
    for (const band of shown.byClass('pause')) expect(pauses.map((pause) => pause.provider)).toContain(attribute(band, 'data-provider'));
  });

  it('shows times in the local time of the machine that wrote it (TZ), and names the zone', async () => {
    const dir = tempDir();
    const args = [
      'send',
      '--config',
      writeEmulatorConfig(emulator, {}, dir),
      '-a',
      audienceFile('fcm', 3, 'tz'),
      '-m',
      message,
      '--campaign',
      'tehran',
      '--json',
      '--html',
      'tz.html',
    ];
    const result = await spawnCli(args, { cwd: dir, env: { TZ: 'Asia/Tehran' } });
    expect(result.code, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout) as CampaignRecord;
    const shown = parsePage(readFileSync(join(dir, 'tz.html'), 'utf8'));
    expect(textOf(shown.byId('time-zone')!)).toContain('Asia/Tehran (UTC+03:30)');
    expect(textOf(shown.byId('overall-started')!)).toBe(localTimeText(Date.parse(record.overall!.startedAt), 'Asia/Tehran'));
    const run = shown.byClass('run').find((element) => element.tagName === 'tr')!;
    expect(textOf(run)).toContain(localTimeText(Date.parse(record.runs![0].startedAt), 'Asia/Tehran'));
  });

  it('pushcast report CAMPAIGN --html writes the same page from the journal', async () => {
    const { dir, html } = await campaignWithHtml();
    const again = await runCli(['report', 'picture', '--html', 'again.html'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    const embedded = (page: string) => textOf(elements(parse(page)).find((element) => attribute(element, 'id') === 'pushcast-record')!);
    expect(JSON.parse(embedded(readFileSync(join(dir, 'again.html'), 'utf8')))).toEqual(JSON.parse(embedded(html)));
  });

  // A real browser, where there is one (CI installs Debian's chromium when it can): the page renders
  // under its own Content-Security-Policy, and leaves a screenshot to look at.
  it.skipIf(!chromium)('renders in headless Chromium, numbers in place, and leaves a screenshot', async () => {
    const { dir, record } = await campaignWithHtml();
    const page = `file://${join(dir, 'report.html')}`;
    const dom = execFileSync(chromium!, [...flags, '--dump-dom', page], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
    const total = elements(parse(dom)).find((element) => element.tagName === 'tr' && attribute(element, 'data-provider') === 'total')!;
    expect(textOf(total)).toContain(String(record.counts.accepted));
    const shot = join(dir, 'report.png');
    execFileSync(chromium!, [...flags, '--window-size=1000,1400', `--screenshot=${shot}`, page], { stdio: 'ignore', timeout: 60_000 });
    expect(existsSync(shot) && statSync(shot).size).toBeGreaterThan(20_000); // a blank page is a few kB
  });
});

describe('--html on a plain audience', () => {
  it('works for check too', async () => {
    const dir = tempDir();
    const { code } = await runCli(['check', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('fcm', 5, 'html-check'), '--html', 'check.html'], { cwd: dir });
    expect(code).toBe(0);
    const page = readFileSync(join(dir, 'check.html'), 'utf8');
    expect(page).toContain('Token check');
    expect(page).toContain('<th>valid</th>');
    expect(textOf(parsePage(page).byId('accepted-share')!)).toMatch(/valid \(\d of 5 checked\)/);
  });
});

/** The rows of the runs table, and the sends of one. */
const runRows = (shown: ReturnType<typeof parsePage>) => shown.byClass('run').filter((element) => element.tagName === 'tr');
const sendsOf = (row: Element) => Number(textOf(elements(row).find((element) => attribute(element, 'data-kind') === 'sends')!));

describe('a campaign run more than once', () => {
  it('a re-run that sends nothing keeps the first run on the page: a row per run, its chart, the campaign as a whole; report --html draws the same', async () => {
    const plain = await startEmulator({ seed: 'html-history' });
    try {
      const dir = tempDir();
      const rows = ['provider,token,name', ...Array.from({ length: 200 }, (_, i) => `fcm,${fcmToken(`history${i}`)},F${i}`)];
      const args = ['send', '--config', writeEmulatorConfig(plain, {}, dir), '-a', tempFile('history.csv', rows.join('\n')), '-m', message, '--campaign', 'history', '--json'];
      const first = await runCli(args, { cwd: dir });
      expect(first.code, first.stderr).toBe(0);
      const rerun = await runCli([...args, '--html', 'rerun.html'], { cwd: dir });
      expect(rerun.code, rerun.stderr).toBe(0);
      const record = JSON.parse(rerun.stdout) as CampaignRecord;
      expect(record.sends).toBe(0);
      const report = await runCli(['report', 'history', '--html', 'report.html'], { cwd: dir });
      expect(report.code, report.stderr).toBe(0);
      const whole = record.overall!;
      expect(whole).toMatchObject({ runs: 2, sends: 200 });
      for (const file of ['rerun.html', 'report.html']) {
        const shown = parsePage(readFileSync(join(dir, file), 'utf8'));
        const runs = runRows(shown);
        expect(runs.map(sendsOf), file).toEqual([200, 0]);
        expect(textOf(runs[0])).toContain(localTimeText(Date.parse(record.runs![0].startedAt)));
        expect(textOf(runs[0])).toContain('done, exit 0');
        // The chart is the first run's: its bars add up to what it sent.
        const chart = shown.byTag('svg').find((svg) => attribute(svg, 'class') === 'chart');
        expect(chart, file).toBeDefined();
        const bars = shown.byClass('sends', elements(chart!));
        expect(bars.reduce((sum, bar) => sum + Number(attribute(bar, 'data-sends')), 0)).toBe(200);
        // The campaign as a whole, not the last run.
        expect(textOf(shown.byId('overall-runs')!)).toBe('2');
        expect(textOf(shown.byId('overall-sends')!)).toMatch(/^200 /);
        expect(textOf(shown.byId('overall-rate')!)).toBe(`${whole.sendsPerSecond} sends/s`);
        expect(whole.sendsPerSecond).toBeGreaterThan(0);
        expect(attribute(shown.byId('overall-seconds')!, 'data-seconds')).toBe(String(whole.seconds));
        expect(textOf(shown.byId('overall-started')!)).toBe(localTimeText(Date.parse(whole.startedAt)));
        expect(textOf(shown.byId('overall-finished')!)).toBe(localTimeText(Date.parse(whole.finishedAt)));
        expect(embeddedRecord(readFileSync(join(dir, file), 'utf8')).overall).toEqual(whole);
      }
    } finally {
      await plain.close();
    }
  });

  it('an interrupted campaign says how to resume, and the next run lists it as interrupted', async () => {
    const slow = await startEmulator({ seed: 'html-interrupt', latencyMs: 100 });
    try {
      const dir = tempDir();
      const args = ['send', '--config', writeEmulatorConfig(slow, {}, dir), '-a', audienceFile('fcm', 300, 'stop'), '-m', message, '--campaign', 'halfway'];
      const child = spawn(process.execPath, [bin, ...args, '--concurrency', '2', '--html', 'interrupted.html'], { cwd: dir, stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      await waitFor(() => slow.stats().accepted.fcm >= 5, 'the first sends', 30_000);
      child.kill('SIGTERM');
      expect(await exited).toBe(130);
      const interrupted = parsePage(readFileSync(join(dir, 'interrupted.html'), 'utf8'));
      expect(textOf(interrupted.byId('status')!)).toBe('interrupted');
      expect(textOf(interrupted.byId('next-step')!)).toContain('run the same command again to resume');

      const resumed = await runCli([...args, '--html', 'resumed.html'], { cwd: dir });
      expect(resumed.code, resumed.stderr).toBe(0);
      const runs = runRows(parsePage(readFileSync(join(dir, 'resumed.html'), 'utf8')));
      expect(runs.map((row) => attribute(row, 'data-status'))).toEqual(['interrupted', 'done']);
      expect(textOf(runs[0])).toContain('interrupted, exit 130');
      expect(runs.map(sendsOf).reduce((sum, n) => sum + n, 0)).toBe(300);
    } finally {
      await slow.close();
    }
  });
  it('a run killed before it could report: pushcast report --html says how to resume, and the run is listed as died', async () => {
    const slow = await startEmulator({ seed: 'html-killed', latencyMs: 100 });
    try {
      const dir = tempDir();
      const args = ['send', '--config', writeEmulatorConfig(slow, {}, dir), '-a', audienceFile('fcm', 300, 'killed'), '-m', message, '--campaign', 'killed', '--concurrency', '2'];
      const child = spawn(process.execPath, [bin, ...args], { cwd: dir, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('close', resolve));
      await waitFor(() => slow.stats().accepted.fcm >= 5, 'the first sends', 30_000);
      child.kill('SIGKILL');
      await exited;
      const report = await runCli(['report', 'killed', '--html', 'killed.html'], { cwd: dir });
      expect(report.code, report.stderr).toBe(0);
      expect(report.stdout).not.toContain('no journal');
      const shown = parsePage(readFileSync(join(dir, 'killed.html'), 'utf8'));
      expect(textOf(shown.byId('status')!)).toBe('interrupted');
      expect(textOf(shown.byId('next-step')!)).toContain('run the same command again to resume');
      expect(runRows(shown).map((row) => attribute(row, 'data-status'))).toEqual(['died']);
    } finally {
      await slow.close();
    }
  });
});

describe('the campaign by name, and its message', () => {
  it('a derived id is no name: the message and the audience name the campaign, the id under them', async () => {
    const dir = tempDir();
    const audience = audienceFile('fcm', 3, 'named');
    const result = await runCli(['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audience, '-m', message, '--json', '--html', 'named.html'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout) as CampaignRecord;
    expect(record.campaign).toMatch(/^c-[0-9a-f]{16}$/);
    const shown = parsePage(readFileSync(join(dir, 'named.html'), 'utf8'));
    expect(textOf(shown.byId('campaign-name')!)).toBe(`${basename(message)} to ${basename(audience)}`);
    expect(textOf(shown.byClass('campaign-id')[0])).toBe(`campaign id ${record.campaign}`);
  });

  it('shows the message in every language, and every message with its sends when the campaign changed it', async () => {
    const dir = tempDir();
    const fcmOnly = writeEmulatorConfig(emulator, { apns: { key: undefined, keyId: undefined, teamId: undefined } }, tempDir());
    const rows = [
      'provider,token,name',
      ...Array.from({ length: 4 }, (_, i) => `fcm,${fcmToken(`lang${i}`)},F${i}`),
      ...Array.from({ length: 4 }, (_, i) => `apns,${apnsToken(`lang${i}`)},A${i}`),
    ];
    const audience = tempFile('spring.csv', rows.join('\n'));
    const spring = tempFile('spring.json', JSON.stringify({ title: 'Spring {{name}}', body: 'Sale', locales: { fr: { title: 'Printemps {{name}}', body: 'Soldes' } } }));
    const corrected = tempFile(
      'spring2.json',
      JSON.stringify({ title: 'Spring {{name}}', body: 'Sale, corrected', locales: { fr: { title: 'Printemps {{name}}', body: 'Soldes, corrigé' }, de: { body: 'Ausverkauf' } } }),
    );
    const first = await runCli(['send', '--config', fcmOnly, '-a', audience, '-m', spring, '--campaign', 'spring'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const config = writeEmulatorConfig(emulator, {}, dir);
    const second = await runCli(['send', '--config', config, '-a', audience, '-m', corrected, '--campaign', 'spring', '--change-message', '--json', '--html', 'spring.html'], {
      cwd: dir,
    });
    expect(second.code, second.stderr).toBe(0);
    const record = JSON.parse(second.stdout) as CampaignRecord;
    expect(record.message!.preview).toEqual([
      { title: 'Spring {{name}}', body: 'Sale, corrected' },
      { locale: 'fr', title: 'Printemps {{name}}', body: 'Soldes, corrigé' },
      { locale: 'de', title: 'Spring {{name}}', body: 'Ausverkauf' },
    ]);
    const shown = parsePage(readFileSync(join(dir, 'spring.html'), 'utf8'));
    const previews = shown.byClass('preview');
    const part = (preview: Element, name: string) => textOf(shown.byClass(name, elements(preview))[0]);
    expect(previews.map((preview) => ({ locale: attribute(preview, 'data-locale'), title: part(preview, 'title'), body: part(preview, 'body') }))).toEqual(
      record.message!.preview!.map((preview) => ({ locale: preview.locale ?? '', title: preview.title, body: preview.body })),
    );
    // Both messages, each from the run that first sent it, with its sends.
    const messages = shown.byClass('message').filter((element) => element.tagName === 'tr');
    expect(record.messages).toHaveLength(2);
    expect(
      messages.map((row) =>
        elements(row)
          .filter((cell) => cell.tagName === 'td')
          .map(textOf),
      ),
    ).toEqual(record.messages!.map((one) => [one.file, `${one.sha256.slice(0, 12)}…`, String(one.fromRun), String(one.sends)]));
    const runs = runRows(shown);
    expect(textOf(runs[1])).toContain(`changed to ${corrected}`);
  });
});

describe('rows not sent, and the prune list', () => {
  it('groups identical rows into one with the count and their line ranges, and says where the prune list is or how to get it', async () => {
    const dead = [fcmToken('group-dead1'), fcmToken('group-dead2')];
    const deadly = await startEmulator({ seed: 'html-groups', dead });
    try {
      const dir = tempDir();
      const fcmOnly = writeEmulatorConfig(deadly, { apns: { key: undefined, keyId: undefined, teamId: undefined } }, dir);
      // Line 1 the header; FCM at 2–11 and 153–159, APNs (no credentials) at 12–152 and 160.
      const rows = [
        'provider,token,name',
        ...dead.map((token) => `fcm,${token},Dead`),
        ...Array.from({ length: 8 }, (_, i) => `fcm,${fcmToken(`group-a${i}`)},F${i}`),
        ...Array.from({ length: 141 }, (_, i) => `apns,${apnsToken(`group${i}`)},A${i}`),
        ...Array.from({ length: 7 }, (_, i) => `fcm,${fcmToken(`group-b${i}`)},G${i}`),
        `apns,${apnsToken('group-last')},Last`,
      ];
      const args = ['send', '--config', fcmOnly, '-a', tempFile('groups.csv', rows.join('\n')), '-m', message, '--campaign', 'groups'];
      const sent = await runCli([...args, '--json', '--html', 'groups.html'], { cwd: dir });
      expect(sent.code, sent.stderr).toBe(0);
      const record = JSON.parse(sent.stdout) as CampaignRecord;
      expect(record.errors).toHaveLength(142);
      const shown = parsePage(readFileSync(join(dir, 'groups.html'), 'utf8'));
      const groups = shown.byClass('row-group');
      expect(groups).toHaveLength(1);
      expect(attribute(groups[0], 'data-count')).toBe('142');
      const cells = elements(groups[0]).filter((element) => element.tagName === 'td');
      expect(cells.map(textOf)).toEqual(['12–152, 160 (142)', 'apns', 'skipped', 'provider-not-configured', 'no apns credentials are configured']);

      // The tokens to prune are in no file yet: the page and the text report say how to get them.
      expect(record.counts.invalid).toBe(2);
      expect(textOf(shown.byId('prune-hint')!)).toContain('write them with --invalid-out FILE; a re-run writes them from the journal');
      expect(textOf(shown.byId('file-journal')!)).toBe(record.files!.journal);
      const text = await runCli(['report', 'groups'], { cwd: dir });
      expect(text.stdout).toContain('invalid tokens, to prune: 2 (write them with --invalid-out FILE; a re-run writes them from the journal)');

      // As they say: a re-run writes them, and the page and the report name the file.
      const again = await runCli([...args, '--invalid-out', 'prune.csv', '--html', 'again.html'], { cwd: dir });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('invalid tokens, to prune: 2 (in prune.csv)');
      expect(readFileSync(join(dir, 'prune.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
      const named = parsePage(readFileSync(join(dir, 'again.html'), 'utf8'));
      expect(textOf(named.byId('file-invalid-out')!)).toBe('prune.csv');
      expect(named.byId('prune-hint')).toBeUndefined();
    } finally {
      await deadly.close();
    }
  });
});

describe('hostile text', () => {
  const override = '\u202E';
  const long = 'x'.repeat(3000);
  const unbroken = 'y'.repeat(3000);
  /** A send with no --campaign (so the files name it) from an audience whose name reverses, with a 3,000-character value in a row. */
  async function hostileCampaign(): Promise<{ dir: string; html: string; record: CampaignRecord }> {
    const dir = tempDir();
    const audience = join(tempDir(), `winners-${override}gnp.csv`);
    writeFileSync(audience, ['provider,token,name', `fcm,${fcmToken('hostile')},Ana`, `${long},abc,Bo`].join('\n'));
    // A long word in the message too: the preview keeps 240 characters of it, a reason quotes 60 of the cell.
    const note = tempFile('note.json', JSON.stringify({ title: `Sale ${override}%05 ffo`, body: unbroken }));
    const result = await runCli(['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audience, '-m', note, '--json', '--html', 'hostile.html'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    return { dir, html: readFileSync(join(dir, 'hostile.html'), 'utf8'), record: JSON.parse(result.stdout) as CampaignRecord };
  }

  it('isolates every value from outside and shows direction overrides as escapes; the record keeps them as they are', async () => {
    const { html, record } = await hostileCampaign();
    const shown = parsePage(html);
    expect(textOf(shown.byId('campaign-name')!)).toBe('note.json to winners-\\u202Egnp.csv');
    expect(shown.shownText()).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    expect(embeddedRecord(html).audience).toBe(record.audience);
    expect(record.audience).toContain(override);
    // Every text that shows one of those values sits in an isolate: a bdi, or an element with dir="auto".
    const texts: Array<{ value: string; parent: Element }> = [];
    const walk = (node: Node) => {
      if (node.nodeName === '#text' && 'value' in node) texts.push({ value: node.value, parent: node.parentNode as Element });
      for (const child of 'childNodes' in node ? node.childNodes : []) walk(child as Node);
    };
    walk(shown.all.find((element) => element.tagName === 'body')!);
    const isolated = (element: Element | null): boolean =>
      element !== null && 'tagName' in element && (element.tagName === 'bdi' || attribute(element, 'dir') === 'auto' || isolated(element.parentNode as Element | null));
    for (const marker of ['gnp.csv', long.slice(0, 60), unbroken.slice(0, 239), 'ffo', record.campaign]) {
      const showing = texts.filter((one) => one.value.includes(marker) && one.parent.tagName !== 'script' && one.parent.tagName !== 'title');
      expect(showing.length, marker.slice(0, 20)).toBeGreaterThan(0);
      for (const one of showing) expect(isolated(one.parent), `${marker.slice(0, 20)} in <${one.parent.tagName}>`).toBe(true);
    }
  });

  // In a real browser: nothing wider than the window, and the file name reads in the order it was written.
  it.skipIf(!chromium)('in Chromium: the page fits an 800-pixel window, long values wrap, and no text renders reversed', async () => {
    const { dir } = await hostileCampaign();
    writeFileSync(join(dir, 'measure.html'), measuringPage('hostile.html', 'gnp.csv'));
    const dom = execFileSync(chromium!, [...flags, '--allow-file-access-from-files', '--dump-dom', `file://${join(dir, 'measure.html')}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    });
    const body = elements(parse(dom)).find((element) => element.tagName === 'body')!;
    const measured = JSON.parse(attribute(body, 'data-measured') ?? '{}') as {
      width: number;
      scrollWidth: number;
      scrolling: string[];
      marked: number;
      reversed: number;
      controls: boolean;
    };
    expect(measured.width).toBe(800);
    expect(measured.scrollWidth).toBeLessThanOrEqual(measured.width);
    expect(measured.scrolling).toEqual([]);
    expect(measured.marked).toBeGreaterThan(0);
    expect(measured.reversed).toBe(0);
    expect(measured.controls).toBe(false);
  });
});

/**
 * A page that shows `report` in an 800-pixel frame and measures it once loaded (the report runs no
 * script, so the measuring is done from outside): how wide it is against the frame, which of its
 * elements are wider than their box, and, for each shown text with `marker` in it, whether its characters
 * render left to right.
 */
function measuringPage(report: string, marker: string): string {
  return `<!doctype html><html><body><script>
function measure(frame) {
  const doc = frame.contentDocument;
  const scrolling = [...doc.querySelectorAll('.table-wrap, dd, td, p, h1')]
    .filter((element) => element.scrollWidth > element.clientWidth + 1)
    .map((element) => element.tagName + ': ' + element.textContent.slice(0, 40));
  const result = { width: doc.documentElement.clientWidth, scrollWidth: doc.documentElement.scrollWidth, scrolling, marked: 0, reversed: 0, controls: /[\\u202a-\\u202e\\u2066-\\u2069]/.test(doc.body.innerText) };
  const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(${JSON.stringify(marker)});
    if (at < 0 || node.parentElement.closest('script')) continue;
    const lefts = [];
    for (let i = at; i < at + ${marker.length}; i++) {
      const range = doc.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      lefts.push(range.getBoundingClientRect().left);
    }
    result.marked++;
    if (lefts.some((left, i) => i > 0 && left < lefts[i - 1])) result.reversed++;
  }
  document.body.setAttribute('data-measured', JSON.stringify(result));
}
</script><iframe src="${report}" style="width:800px;height:600px;border:0" onload="measure(this)"></iframe></body></html>`;
}
