import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DeviceRecipient } from '../../src/domain/recipient.js';
import { locateJsonError } from '../../src/domain/locate-syntax-error.js';
import { CompiledTemplate, type RenderedMessage } from '../../src/message/compile-template.js';
import { checkTemplate, loadTemplate, type MessageTemplate } from '../../src/message/load-template.js';
import { apnsCollapseId, limits, webPushTopic } from '../../src/message/limits.js';
import { buildApnsPayload } from '../../src/providers/apns/payload.js';
import { buildFcmPayload, withApnsExpiration } from '../../src/providers/fcm/payload.js';
import { buildWebPushPayload } from '../../src/providers/webpush/payload.js';
import { device as aDevice } from '../helpers/audience.js';
import { runCli } from '../helpers/run-cli.js';
import { apnsToken, fcmToken, tempFile } from '../helpers/tokens.js';

const context = { apnsTopic: 'com.example.app' };
const now = 1_800_000_000;
const device = (provider: DeviceRecipient['provider'], token: string): DeviceRecipient => aDevice(provider, token, { token });
const template = (fields: Partial<MessageTemplate>): CompiledTemplate => new CompiledTemplate({ kind: 'notification', ...fields } as MessageTemplate);
const rendered = (fields: Partial<MessageTemplate>, vars: Record<string, string> = {}): RenderedMessage => {
  const result = template(fields).render(vars);
  if (!result.ok) throw new Error(result.detail);
  return result.message;
};

describe('message templates', () => {
  it('fills placeholders as plain text, without HTML escaping', () => {
    expect(rendered({ title: 'Hi {{name}} & <friends>', body: '{{what}}' }, { name: 'Tom & "Jerry"', what: '<b>50%</b>' })).toMatchObject({
      title: 'Hi Tom & "Jerry" & <friends>',
      body: '<b>50%</b>',
    });
  });

  it('picks the variant for the exact locale, then its language, then the base message', () => {
    const t = template({ title: 'Sale', body: 'Hello {{name}}', locales: { fa: { title: 'حراج' }, 'pt-br': { title: 'Promoção' } } });
    const title = (locale?: string) => {
      const result = t.render({ name: 'x' }, locale);
      return result.ok ? result.message.title : result.detail;
    };
    expect(title('fa')).toBe('حراج');
    expect(title('fa_IR')).toBe('حراج'); // language fallback, underscore normalised
    expect(title('pt-BR')).toBe('Promoção');
    expect(title('pt-PT')).toBe('Sale'); // no pt variant at all: the base
    expect(title('de')).toBe('Sale');
    expect(title(undefined)).toBe('Sale');
    const fa = t.render({ name: 'x' }, 'fa');
    expect(fa.ok && fa.message.body).toBe('Hello x'); // fields a variant leaves out come from the base
  });

  it('makes a missing variable an error for the row, naming it and the field, unless a default is given', () => {
    const t = template({ title: 'Hi {{default name "there"}}', body: 'Code {{coupon}}' });
    expect(t.render({ coupon: 'C1' })).toMatchObject({ ok: true, message: { title: 'Hi there', body: 'Code C1' } });
    expect(t.render({ name: 'Ann' })).toMatchObject({ ok: false, reason: 'missing-variable', detail: expect.stringMatching(/\{\{coupon\}\}.*in body/) });
  });

  it('lists every problem of a template file at once, with the file name', async () => {
    expect(checkTemplate({ titel: 'x', kind: 'loud', data: { n: 1 }, ttl: '40d' })).toEqual([
      expect.stringContaining('unknown field "titel"'),
      expect.stringContaining('kind must be'),
      expect.stringContaining('ttl is 3456000s'),
      expect.stringContaining('data.n must be a string'),
    ]);
    expect(checkTemplate({ data: { a: 'b' } })).toEqual([expect.stringContaining('needs a title or a body (use "kind": "data"')]);
    expect(checkTemplate({ kind: 'data', title: 'x' })).toEqual([expect.stringContaining('a data message is not shown')]);
    const path = tempFile('bad.json', '{"title": "x", "bodyy": "y"}');
    await expect(loadTemplate(path)).rejects.toThrow(new RegExp(`message ${path}:\\n  - unknown field "bodyy"`));
    await expect(loadTemplate(tempFile('t.json', '{"title": "{{#if}}"}'))).resolves.toBeDefined();
    expect(() => new CompiledTemplate({ kind: 'notification', title: 'Hi {{name' } as MessageTemplate)).toThrow(/title/);
  });
});

describe('a template file on the terminal', () => {
  it("a field name holding a line break or an escape stays on its problem's line, escaped", async () => {
    const message = tempFile('forged.json', JSON.stringify({ title: 'Hi', 'body\u001b[2J\npushcast: campaign done': 'x', kind: 'loud' }));
    const { code, stderr } = await runCli(['send', '-a', tempFile('a.csv', `provider,token\nfcm,${fcmToken(1)}\n`), '-m', message, '--dry-run']);
    expect(code).toBe(1);
    expect(stderr.split('\n')).toEqual([
      `pushcast: message ${message}:`,
      expect.stringMatching(/^ {2}- unknown field "body\\x1b\[2J\\npushcast: campaign done" \(known: /),
      '  - kind must be "notification" or "data", not "loud"',
      '',
    ]);
  });
});

describe('a template that is not JSON', () => {
  const send = (message: string) => runCli(['send', '-a', tempFile('a.csv', `provider,token\nfcm,${fcmToken(1)}\n`), '-m', message, '--dry-run']);

  it('is named by line and column, with the line and a caret under the column', async () => {
    const trailing = tempFile('trailing.json', '{\n  "title": "Sale",\n  "body": "50% off",\n}\n');
    const first = await send(trailing);
    expect(first.code).toBe(1);
    expect(first.stderr).toBe(`pushcast: message ${trailing}: not valid JSON: line 4, column 1: a comma before }: JSON allows none after the last item\n    }\n    ^\n`);
    const missing = tempFile('missing.json', '{\n  "title": "Sale"\n  "body": "50% off"\n}\n');
    const second = await send(missing);
    expect(second.stderr).toBe(
      `pushcast: message ${missing}: not valid JSON: line 3, column 3: expected "," or "}" after a value, found "\\""\n      "body": "50% off"\n      ^\n`,
    );
    const quotes = tempFile('quotes.json', "{'title': 'Sale'}");
    expect((await send(quotes)).stderr).toBe(
      `pushcast: message ${quotes}: not valid JSON: line 1, column 2: expected a property name in "double quotes", found "'"\n    {'title': 'Sale'}\n     ^\n`,
    );
  });
});

describe('where a text stops being JSON', () => {
  const cases: Array<{ text: string; where: string; reason: string }> = [
    { text: '{"a":}', where: '1:6', reason: 'expected a value (text in "double quotes", a number, true, false, null, an object or a list), found "}"' },
    { text: '{"a":1', where: '1:7', reason: 'the file ends inside an object: a } is missing' },
    { text: '{"a" 1}', where: '1:6', reason: 'expected ":" after the property name, found "1"' },
    { text: '{"a":tru}', where: '1:6', reason: 'expected a value' },
    { text: '{"a":"x\ny"}', where: '1:8', reason: 'a line break inside text in quotes: write it as \\n' },
    { text: '[1,]', where: '1:4', reason: 'a comma before ]: JSON allows none after the last item' },
    { text: '{"a":1}x', where: '1:8', reason: 'more after the end of the JSON value: "x"' },
    { text: '  \n', where: '2:1', reason: 'the file is empty' },
    { text: '{"a": "\\q"}', where: '1:8', reason: 'a backslash before "q" is not an escape JSON knows' },
    { text: '{"a": [1 2]}', where: '1:10', reason: 'expected "," or "]" after a value, found "2"' },
    { text: '\n\n  "abc', where: '3:3', reason: 'text in quotes that never ends: a closing " is missing' },
    { text: '['.repeat(100_000), where: '1:100001', reason: 'the file ends inside a list: a ] is missing' },
  ];
  it.each(cases)('$where: $reason', ({ text, where, reason }) => {
    expect(() => JSON.parse(text)).toThrow();
    const found = locateJsonError(text);
    expect(`${found?.line}:${found?.column}`).toBe(where);
    expect(found?.reason).toContain(reason);
  });

  it('finds nothing wrong in JSON', () => {
    for (const text of ['{"a":1}', '[1, 2, {"b": [true, null, -1.5e3, "\\u00e9\\n"]}]', ' "x" ', '0']) expect(locateJsonError(text)).toBeUndefined();
  });
});

describe('payload builders put each field where its provider expects it', () => {
  const message = rendered({
    title: 'T',
    body: 'B',
    data: { k: 'v' },
    image: 'https://cdn.example/i.png',
    link: 'https://shop.example/x',
    sound: 'default',
    badge: 3,
    ttl: 3600,
    priority: 'high',
    group: 'sale-1',
    thread: 'promos',
    fcm: { android: { notification: { channelId: 'offers' } } },
    apns: { aps: { 'interruption-level': 'time-sensitive' } },
  });

  it('FCM: group as collapse_key and tag, thread as thread-id only, ttl in milliseconds, apns/webpush blocks', () => {
    const built = buildFcmPayload(message, device('fcm', fcmToken(1)), context);
    expect(built).toMatchObject({ ok: true, payload: { ttlSeconds: 3600 } });
    expect(built.ok && withApnsExpiration(built.payload, now)).toEqual({
      token: fcmToken(1),
      notification: { title: 'T', body: 'B', imageUrl: 'https://cdn.example/i.png' },
      data: { k: 'v', link: 'https://shop.example/x' },
      android: { collapseKey: 'sale-1', priority: 'high', ttl: 3_600_000, notification: { tag: 'sale-1', sound: 'default', channelId: 'offers' } },
      apns: {
        headers: { 'apns-collapse-id': 'sale-1', 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-expiration': String(now + 3600) },
        payload: { aps: { threadId: 'promos', badge: 3, sound: 'default', mutableContent: true } },
      },
      webpush: { headers: { TTL: '3600', Urgency: 'high', Topic: 'sale-1' }, notification: { tag: 'sale-1' }, fcmOptions: { link: 'https://shop.example/x' } },
    });
  });

  it('FCM: apns-expiration is counted from when the request goes, and a TTL of 0 is 0', () => {
    const built = buildFcmPayload(message, device('fcm', fcmToken(1)), context);
    expect(built.ok && withApnsExpiration(built.payload, now + 90).apns?.headers?.['apns-expiration']).toBe(String(now + 90 + 3600));
    const once = buildFcmPayload(rendered({ title: 'T', ttl: 0 }), device('fcm', fcmToken(1)), context);
    expect(once.ok && withApnsExpiration(once.payload, now).apns?.headers?.['apns-expiration']).toBe('0');
    expect(once.ok && once.payload.message.android?.ttl).toBe(0);
  });

  it('APNs: push type, priority, collapse id, thread-id, custom keys beside aps', () => {
    expect(buildApnsPayload(message, device('apns', apnsToken(1)), context)).toEqual({
      ok: true,
      payload: {
        topic: 'com.example.app',
        pushType: 'alert',
        priority: 10,
        ttlSeconds: 3600,
        collapseId: 'sale-1',
        body: {
          k: 'v',
          link: 'https://shop.example/x',
          image: 'https://cdn.example/i.png',
          aps: {
            alert: { title: 'T', body: 'B' },
            badge: 3,
            sound: 'default',
            'thread-id': 'promos',
            'mutable-content': 1,
            'interruption-level': 'time-sensitive',
          },
        },
      },
    });
  });

  it('data messages are silent: no notification, APNs background push at priority 5', () => {
    const data = rendered({ kind: 'data', data: { sync: '1' } });
    const fcm = buildFcmPayload(data, device('fcm', fcmToken(1)), context);
    expect(fcm.ok && fcm.payload.message.notification).toBeUndefined();
    expect(fcm.ok && fcm.payload.message.apns?.payload?.aps).toEqual({ contentAvailable: true });
    expect(buildApnsPayload(data, device('apns', apnsToken(1)), context)).toMatchObject({
      payload: { pushType: 'background', priority: 5, body: { sync: '1', aps: { 'content-available': 1 } } },
    });
    const web = buildWebPushPayload(data, device('webpush', 'https://x'), context);
    expect(web.ok && JSON.parse(web.payload.plaintext)).toEqual({ data: { sync: '1' } });
  });

  it('Web Push: urgency option, topic and TTL', () => {
    const built = buildWebPushPayload(message, device('webpush', 'https://push.example/1'), context);
    expect(built).toMatchObject({ ok: true, payload: { ttlSeconds: 3600, urgency: 'high', topic: 'sale-1' } });
    expect(built.ok && JSON.parse(built.payload.plaintext)).toEqual({
      title: 'T',
      body: 'B',
      image: 'https://cdn.example/i.png',
      tag: 'sale-1',
      link: 'https://shop.example/x',
      app_badge: 3,
      data: { k: 'v' },
    });
  });

  it('Web Push: the Declarative Web Push format, which Safari shows with no service worker', () => {
    const built = buildWebPushPayload(message, device('webpush', 'https://push.example/1'), { ...context, webPushFormat: 'declarative' });
    expect(built.ok && JSON.parse(built.payload.plaintext)).toEqual({
      web_push: 8030,
      notification: { title: 'T', body: 'B', navigate: 'https://shop.example/x', image: 'https://cdn.example/i.png', tag: 'sale-1', data: { k: 'v' } },
      app_badge: 3,
    });
    expect(buildWebPushPayload(rendered({ title: 'T' }), device('webpush', 'https://push.example/1'), { ...context, webPushFormat: 'declarative' })).toMatchObject({
      ok: false,
      detail: expect.stringContaining('needs a title and a link'),
    });
  });
});

describe('size limits, at the exact byte boundary', () => {
  // Pads the body with a two-byte character and ASCII so the measured part is exactly `bytes` long.
  function bodyForSize(measure: (body: string) => number, bytes: number): string {
    let body = 'ж'; // 2 bytes in UTF-8: the limit is in bytes, not characters
    body += 'x'.repeat(bytes - measure(body));
    expect(measure(body)).toBe(bytes);
    return body;
  }

  it('FCM: the largest payload a platform gets, raw overrides included, up to 4096 bytes', () => {
    const android = (data: string) => buildFcmPayload(rendered({ title: 'T', fcm: { android: { data: { big: data } } } }), device('fcm', fcmToken(1)), context);
    const measure = (data: string) => Buffer.byteLength(JSON.stringify({ notification: { title: 'T' }, data: { big: data } }));
    expect(android(bodyForSize(measure, limits.fcmPayloadBytes)).ok).toBe(true);
    expect(android(bodyForSize(measure, limits.fcmPayloadBytes + 1))).toMatchObject({ ok: false, reason: 'payload-too-large' });
  });

  it('FCM: notification + data up to 4096 bytes', () => {
    const measure = (body: string) => Buffer.byteLength(JSON.stringify({ notification: { title: 'T', body }, data: { k: 'v' } }));
    const build = (body: string) => buildFcmPayload(rendered({ title: 'T', body, data: { k: 'v' } }), device('fcm', fcmToken(1)), context);
    expect(build(bodyForSize(measure, limits.fcmPayloadBytes)).ok).toBe(true);
    expect(build(bodyForSize(measure, limits.fcmPayloadBytes + 1))).toMatchObject({ ok: false, reason: 'payload-too-large', detail: expect.stringContaining('4096') });
  });

  it('APNs: the JSON payload up to 4096 bytes', () => {
    const measure = (body: string) => Buffer.byteLength(JSON.stringify({ aps: { alert: { title: 'T', body } } }));
    const build = (body: string) => buildApnsPayload(rendered({ title: 'T', body }), device('apns', apnsToken(1)), context);
    expect(build(bodyForSize(measure, limits.apnsPayloadBytes)).ok).toBe(true);
    expect(build(bodyForSize(measure, limits.apnsPayloadBytes + 1))).toMatchObject({ ok: false, reason: 'payload-too-large', detail: expect.stringContaining('4096') });
  });

  it('Web Push: plaintext up to 3993 bytes', () => {
    const measure = (body: string) => Buffer.byteLength(JSON.stringify({ title: 'T', body }));
    const build = (body: string) => buildWebPushPayload(rendered({ title: 'T', body }), device('webpush', 'https://x'), context);
    expect(build(bodyForSize(measure, limits.webPushPlaintextBytes)).ok).toBe(true);
    expect(build(bodyForSize(measure, limits.webPushPlaintextBytes + 1))).toMatchObject({ ok: false, reason: 'payload-too-large', detail: expect.stringContaining('3993') });
  });

  it('APNs collapse id: the group when it is printable ASCII of at most 64 bytes, else a stable ASCII id', () => {
    expect(apnsCollapseId('a'.repeat(64))).toBe('a'.repeat(64));
    expect(apnsCollapseId('spring sale')).toBe('spring sale');
    // Node's HTTP/2 client drops a header value beyond Latin-1: such a group would never collapse.
    for (const group of ['Распродажа 🎉', 'é', 'a'.repeat(65), ' padded ']) {
      expect(apnsCollapseId(group)).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(apnsCollapseId(group)).toBe(webPushTopic(group)); // one id per group, everywhere
    }
    const build = (group: string) => buildApnsPayload(rendered({ title: 'T', group }), device('apns', apnsToken(1)), context);
    expect(build('Распродажа')).toMatchObject({ ok: true, payload: { collapseId: apnsCollapseId('Распродажа') } });
  });

  it('Web Push Topic: a valid key is kept; anything else becomes 32 characters of its SHA-256', () => {
    expect(webPushTopic('a'.repeat(32))).toBe('a'.repeat(32));
    expect(webPushTopic('autumn_sale-2026')).toBe('autumn_sale-2026');
    const long = 'a'.repeat(33);
    expect(webPushTopic(long)).toBe(createHash('sha256').update(long).digest('base64url').slice(0, 32));
    for (const group of [long, 'حراج پاییزه', 'has space', 'a.b']) {
      expect(webPushTopic(group)).toMatch(/^[A-Za-z0-9_-]{32}$/);
    }
    expect(webPushTopic('حراج پاییزه')).toBe(webPushTopic('حراج پاییزه')); // stable
  });
});

describe('each render is its own message', () => {
  it('with no placeholders too: a badge counted up or a TTL shortened for one recipient never leaks into the next', () => {
    const template = new CompiledTemplate({ kind: 'notification', title: 'Same for all', badge: 'increment', ttl: 3600 } as MessageTemplate);
    const first = template.render({}, undefined, 0);
    const second = template.render({}, undefined, 5);
    if (!first.ok || !second.ok) throw new Error('does not render');
    expect([first.message.badge, second.message.badge]).toEqual([1, 6]);
    first.message.ttlSeconds = 10;
    first.message.data.x = 'y';
    const third = template.render({}, undefined, 9);
    expect(third.ok && third.message).toMatchObject({ badge: 10, ttlSeconds: 3600, data: {} });
  });
});
