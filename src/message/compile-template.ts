import Handlebars from 'handlebars';
import { InputError } from '../errors.js';
import { normalizeLocale, type MessageTemplate, type TemplateContent } from './load-template.js';

/** One recipient's message, every placeholder filled: what the payload builders take. */
export interface RenderedMessage {
  kind: MessageTemplate['kind'];
  title?: string;
  body?: string;
  data: Record<string, string>;
  image?: string;
  link?: string;
  sound?: string;
  badge?: number;
  ttlSeconds?: number;
  priority: MessageTemplate['priority'];
  urgency?: MessageTemplate['urgency'];
  group?: string;
  thread?: string;
  fcm?: Record<string, unknown>;
  apns?: Record<string, unknown>;
  webpush?: Record<string, unknown>;
}

export type RenderResult =
  | { ok: true; message: RenderedMessage }
  | { ok: false; reason: 'missing-variable' | 'template-error'; detail: string };

type Renderer = (vars: Record<string, string>) => unknown;

// Plain text, not HTML: no escaping. Strict: a placeholder with no value is an error, not "".
const handlebars = Handlebars.create();
handlebars.registerHelper('default', (value: unknown, fallback: unknown) =>
  value === undefined || value === null || value === '' ? fallback : value,
);
const compileOptions = { noEscape: true, strict: true } as const;

/**
 * A template compiled once per locale variant and rendered per recipient. Placeholders are
 * Handlebars: `{{name}}`, and `{{default name "there"}}` for a value used when the cell is empty.
 */
export class CompiledTemplate {
  private readonly base: Renderer;
  private readonly variants = new Map<string, Renderer>();
  private readonly fixed: Pick<RenderedMessage, 'kind' | 'priority' | 'urgency' | 'ttlSeconds'>;

  constructor(readonly template: MessageTemplate) {
    const { kind, priority, urgency, ttl, locales, ...rest } = template;
    this.fixed = { kind, priority, urgency, ttlSeconds: ttl };
    this.base = compileTree(rest, '');
    for (const [locale, variant] of Object.entries(locales ?? {})) {
      this.variants.set(normalizeLocale(locale), compileTree(mergeVariant(rest, variant), `locales.${locale}.`));
    }
  }

  /** The locales that have their own variant, for the dry-run plan. */
  get locales(): string[] {
    return [...this.variants.keys()];
  }

  render(vars: Record<string, string>, locale?: string): RenderResult {
    const renderer = this.pickVariant(locale);
    let rendered: Record<string, unknown>;
    try {
      rendered = renderer(vars) as Record<string, unknown>;
    } catch (error) {
      return describeRenderError(error);
    }
    const message: RenderedMessage = { ...this.fixed, ...(rendered as Partial<RenderedMessage>), data: (rendered.data as Record<string, string>) ?? {} };
    if (rendered.badge !== undefined) {
      const badge = Number(rendered.badge);
      if (!Number.isInteger(badge) || badge < 0) {
        return { ok: false, reason: 'template-error', detail: `badge must be a whole number, got "${String(rendered.badge)}"` };
      }
      message.badge = badge;
    }
    return { ok: true, message };
  }

  /** Exact locale first ("pt-br"), then its language ("pt"), then the base message. */
  private pickVariant(locale: string | undefined): Renderer {
    if (!locale || this.variants.size === 0) return this.base;
    const normal = normalizeLocale(locale);
    return this.variants.get(normal) ?? this.variants.get(normal.split('-')[0]) ?? this.base;
  }
}

function mergeVariant(base: Omit<MessageTemplate, 'kind' | 'priority'>, variant: TemplateContent): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base, ...variant };
  if (base.data || variant.data) merged.data = { ...base.data, ...variant.data };
  return merged;
}

/**
 * Compiles every string in a JSON tree (keys are left as written) into one renderer. All the
 * tree's placeholders are rendered by a single Handlebars call per recipient, its pieces joined
 * by a separator: Handlebars' per-call set-up otherwise costs more than the rendering itself.
 */
function compileTree(tree: unknown, path: string): Renderer {
  const leaves: Array<{ field: string; source: string }> = [];
  const assemble = skeleton(tree, path, leaves);
  if (leaves.length === 0) {
    const constant = assemble([]);
    return () => constant;
  }
  for (const leaf of leaves) {
    try {
      handlebars.parse(leaf.source); // compile() is lazy: find syntax errors now, with the field's name
    } catch (error) {
      throw new InputError(`message template: ${leaf.field}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const combined = handlebars.compile(leaves.map((leaf) => leaf.source).join(pieceSeparator), compileOptions);
  const single = leaves.map((leaf) => handlebars.compile(leaf.source, compileOptions));
  // One piece at a time: to name the field that failed, or when a value itself holds the separator.
  const renderEach = (vars: Record<string, string>): string[] =>
    single.map((render, index) => {
      try {
        return render(vars);
      } catch (error) {
        throw Object.assign(error as Error, { field: leaves[index].field });
      }
    });
  return (vars) => {
    let pieces: string[];
    try {
      pieces = combined(vars).split(pieceSeparator);
    } catch {
      pieces = renderEach(vars);
    }
    if (pieces.length !== leaves.length) pieces = renderEach(vars);
    return assemble(pieces);
  };
}

const pieceSeparator = '\u001e'; // ASCII record separator: not found in message text

/** Turns a tree into a function of its rendered strings, recording each templated string in `leaves`. */
function skeleton(value: unknown, path: string, leaves: Array<{ field: string; source: string }>): (pieces: string[]) => unknown {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return () => value;
    const index = leaves.push({ field: path.replace(/\.$/, ''), source: value }) - 1;
    return (pieces) => pieces[index];
  }
  if (Array.isArray(value)) {
    const items = value.map((item, index) => skeleton(item, `${path}${index}.`, leaves));
    return (pieces) => items.map((item) => item(pieces));
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([key, item]) => [key, skeleton(item, `${path}${key}.`, leaves)] as const);
    return (pieces) => {
      const out: Record<string, unknown> = {};
      for (const [key, item] of entries) out[key] = item(pieces);
      return out;
    };
  }
  return () => value;
}

function describeRenderError(error: unknown): RenderResult {
  const message = (error as Error)?.message ?? String(error);
  const field = (error as { field?: string }).field;
  const where = field ? ` (in ${field})` : '';
  const missing = /"([^"]+)" not defined/.exec(message);
  if (missing) {
    return {
      ok: false,
      reason: 'missing-variable',
      detail: `{{${missing[1]}}} has no value in this row${where}; add the column or write {{default ${missing[1]} "…"}}`,
    };
  }
  return { ok: false, reason: 'template-error', detail: `${message.split('\n')[0]}${where}` };
}
