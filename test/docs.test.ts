import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { root } from './helpers/spawn-cli.js';

/**
 * The documentation: the pages generated from the code are what the generator writes now, and
 * every relative link of every page leads to a file and a heading that exist.
 */
const generator = pathToFileURL(join(root, 'scripts/generate-docs.js')).href;
const docsPages = readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
  .filter((path) => path.endsWith('.md'))
  .map((path) => join('docs', path));
const pages = ['README.md', 'CONTRIBUTING.md', 'bench/README.md', ...docsPages].sort();

describe('the generated pages', () => {
  it('are what scripts/generate-docs.js writes from the build now', async () => {
    const { renderDocs } = (await import(generator)) as { renderDocs: () => Promise<Map<string, string>> };
    const files = await renderDocs();
    expect([...files.keys()]).toEqual(expect.arrayContaining(['README.md', 'docs/configuration.md', 'docs/commands/send.md', 'docs/commands/devices-import.md']));
    for (const [path, content] of files) {
      const now = existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : '(missing)';
      expect(
        now,
        `${path} differs from what scripts/generate-docs.js writes from the code: run npm run docs (it builds first), and edit the code or the generator, not the page`,
      ).toBe(content);
    }
    const commandPages = readdirSync(join(root, 'docs/commands')).map((name) => `docs/commands/${name}`);
    expect(
      commandPages.filter((path) => !files.has(path)),
      'pages of commands that no longer exist: delete them',
    ).toEqual([]);
  });
});

/** A page's text without its code: fenced blocks and inline code hold no headings and no links. */
const prose = (text: string): string => text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, 'code');

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of prose(text.replace(/`([^`\n]*)`/g, '$1')).matchAll(/^#{1,6} +(.+?) *$/gm)) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count ? `${slug}-${count}` : slug);
  }
  return result;
}

describe('the links of the README, CONTRIBUTING.md, bench/README.md and docs/', () => {
  it('lead to files and headings that exist', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8');
      for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue;
        checked++;
        const [path, anchor] = target.split('#');
        const file = path ? normalize(join(dirname(page), path)) : page;
        if (!existsSync(join(root, file))) broken.push(`${page}: ${target} (no file ${file})`);
        else if (anchor && !anchors(readFileSync(join(root, file), 'utf8')).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor} in ${file})`);
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });
});
