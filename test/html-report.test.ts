import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignRecord } from '../src/report/campaign-record.js';
import { audienceFile } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
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

const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'Picture' }));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ seed: 'html', unregistered: 0.2, tooManyRequests: 0.05, retryAfterSeconds: 1 });
});
afterAll(() => emulator.close());

/** A campaign with every kind of row: accepted, invalid, retried, skipped (one with markup in it), unrouted. */
async function campaignWithHtml(): Promise<{ dir: string; html: string; record: CampaignRecord }> {
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

    const lines = all.filter((element) => element.tagName === 'td' && attribute(element, 'data-line') !== undefined).map((element) => Number(textOf(element)));
    expect(lines).toEqual(record.errors.map((entry) => entry.line));

    // Sends per second: the bars add up to the requests the record counts, and the retries are marked.
    const timeline = record.timeline!;
    expect(timeline.sends.reduce((sum, n) => sum + n, 0)).toBe(record.sends);
    const bars = all.filter((element) => element.tagName === 'rect' && attribute(element, 'class') === 'sends');
    expect(bars).toHaveLength(timeline.sends.length);
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

  it('pushcast report CAMPAIGN --html writes the same page from the journal', async () => {
    const { dir, html } = await campaignWithHtml();
    const again = await runCli(['report', 'picture', '--html', 'again.html'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    const embedded = (page: string) => textOf(elements(parse(page)).find((element) => attribute(element, 'id') === 'pushcast-record')!);
    expect(JSON.parse(embedded(readFileSync(join(dir, 'again.html'), 'utf8')))).toEqual(JSON.parse(embedded(html)));
  });

  // A real browser, where there is one (CI installs Debian's chromium when it can): the page renders
  // under its own Content-Security-Policy, and leaves a screenshot to look at.
  const chromium = ['chromium', 'chromium-browser'].find((name) => spawnSync('which', [name]).status === 0);
  it.skipIf(!chromium)('renders in headless Chromium, numbers in place, and leaves a screenshot', async () => {
    const { dir, record } = await campaignWithHtml();
    const page = `file://${join(dir, 'report.html')}`;
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars'];
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
  });
});
