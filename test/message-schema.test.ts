// schema/message-v1.schema.json describes for editors the templates pushcast reads: it must take
// what pushcast takes (the fixtures, every template in docs/message.md) and refuse what pushcast
// refuses, Live Activity rules included; its fields are the ones the reader knows.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { contentKeys, loadTemplate, templateKeys } from '../src/message/load-template.js';
import { tempDir } from './helpers/tokens.js';

const root = new URL('..', import.meta.url).pathname;
const schema = JSON.parse(readFileSync(join(root, 'schema/message-v1.schema.json'), 'utf8'));
const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

/** Whether pushcast itself reads the template without a problem. */
async function pushcastTakes(template: unknown): Promise<boolean> {
  const file = join(tempDir(), 'm.json');
  writeFileSync(file, JSON.stringify(template));
  return loadTemplate(file).then(
    () => true,
    () => false,
  );
}

/** The JSON templates of docs/message.md's examples (not the payloads it shows as they go on the wire, such as {"aps": …}). */
function documentedTemplates(): unknown[] {
  const page = readFileSync(join(root, 'docs/message.md'), 'utf8');
  return [...page.matchAll(/```json\n([\s\S]*?)```/g)].flatMap(([, body]) => {
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      return Object.keys(parsed).every((key) => templateKeys.has(key)) ? [parsed] : [];
    } catch {
      return []; // a fragment, not a whole template
    }
  });
}

const liveUpdate = { apns: { aps: { event: 'update', timestamp: 'now', 'content-state': { eta: 5 } } } };

describe('schema/message-v1.schema.json', () => {
  it("names exactly the fields pushcast's template reader knows", () => {
    expect(Object.keys(schema.properties).sort()).toEqual([...templateKeys].sort());
    expect(Object.keys(schema.$defs.content.properties).sort()).toEqual([...contentKeys].sort());
  });

  it('takes the fixtures and every template in docs/message.md, as pushcast does', async () => {
    const templates = [
      JSON.parse(readFileSync(join(root, 'fixtures/message.json'), 'utf8')),
      JSON.parse(readFileSync(join(root, 'fixtures/data-message.json'), 'utf8')),
      ...documentedTemplates(),
      liveUpdate,
    ];
    expect(templates.length).toBeGreaterThan(4);
    for (const template of templates) {
      expect({ template, pushcast: await pushcastTakes(template) }).toEqual({ template, pushcast: true });
      expect({ template, schema: validate(template), errors: validate.errors }).toMatchObject({ template, schema: true });
    }
  });

  it('refuses what pushcast refuses, Live Activity rules included', async () => {
    const refused = [
      { title: 'Hi', colour: 'red' },
      { title: 'Hi', locales: { fa: { title: 'سلام', kind: 'data' } } },
      { title: 'Hi', data: { count: 3 } },
      { title: 'Hi', data: { from: 'me' } },
      { title: 'Hi', priority: 'urgent' },
      { apns: { aps: { ...liveUpdate.apns.aps, timestamp: undefined } } },
      { apns: { aps: { 'content-state': { eta: 5 }, timestamp: 'now' } } },
      { apns: { aps: { ...liveUpdate.apns.aps, 'attributes-type': 'Trip', attributes: {} } } },
      { apns: { aps: { event: 'start', timestamp: 'now', 'content-state': {} } } },
      { apns: { aps: { ...liveUpdate.apns.aps, 'dismissal-date': 'now' } } },
    ];
    for (const template of refused) {
      const given = JSON.parse(JSON.stringify(template)) as unknown;
      expect({ template: given, pushcast: await pushcastTakes(given), schema: validate(given) }).toEqual({ template: given, pushcast: false, schema: false });
    }
  });
});
