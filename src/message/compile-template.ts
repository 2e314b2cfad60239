import Handlebars from 'handlebars';
import { oneLine, quoted } from '../domain/quote-value.js';
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

export type RenderResult = { ok: true; message: RenderedMessage } | { ok: false; reason: 'missing-variable' | 'template-error'; detail: string };

/** A compiled tree of strings, and the columns its placeholders read. */
interface Renderer {
  render: (vars: Record<string, string>) => unknown;
  /** Columns a row must have a value for, with the first field that uses each. */
  required: Map<string, string>;
  /** Columns read where a missing value is allowed: `{{default x "…"}}`, `{{#if x}}`. */
  optional: Set<string>;
}

// Plain text, not HTML: no escaping. Strict: a placeholder with no value is an error, not "".
// Only the helpers pushcast documents: `log` would write to stdout (breaking --json) once per row.
const handlebars = Handlebars.create();
for (const builtIn of ['log', 'lookup', 'each', 'with']) handlebars.unregisterHelper(builtIn);
handlebars.registerHelper('default', (value: unknown, fallback: unknown) => (value === undefined || value === null || value === '' ? fallback : value));
const helpers = new Set(['default', 'if', 'unless']);
const compileOptions = { noEscape: true, strict: true } as const;

/** The badge value that counts up from each device's own badge. */
export const incrementBadge = 'increment';

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

  /** Every column the template reads, in any variant: `required` where a row must have a value. */
  get placeholders(): { required: string[]; optional: string[] } {
    const renderers = [this.base, ...this.variants.values()];
    return {
      required: [...new Set(renderers.flatMap((renderer) => [...renderer.required.keys()]))],
      optional: [...new Set(renderers.flatMap((renderer) => [...renderer.optional]))],
    };
  }

  /** `badge: "increment"` in the message or a locale variant: each device's badge counts up from the one the registry keeps. */
  get incrementsBadge(): boolean {
    return [this.template.badge, ...Object.values(this.template.locales ?? {}).map((variant) => variant.badge)].includes(incrementBadge);
  }

  /**
   * `vars` is best built without a prototype (`Object.create(null)`): a column named `__proto__` is then just a column.
   * `badgeNow`: the device's badge as the registry keeps it, for `badge: "increment"`.
   */
  render(vars: Record<string, string>, locale?: string, badgeNow?: number): RenderResult {
    const renderer = this.pickVariant(locale);
    for (const [name, field] of renderer.required) {
      // Checked here, not by Handlebars: its strict mode takes `toString` and friends from the prototype.
      if (!Object.hasOwn(vars, name)) return missingVariable(name, field);
    }
    let rendered: Record<string, unknown>;
    try {
      rendered = renderer.render(vars) as Record<string, unknown>;
    } catch (error) {
      return describeRenderError(error);
    }
    // The rendered tree is this row's own: completed in place. A spread of it cost 4–5× as much,
    // measured (bench in the closing note of issue 16).
    const message = Object.assign(rendered, this.fixed) as unknown as RenderedMessage;
    message.data ??= {};
    if (rendered.badge === incrementBadge) {
      if (badgeNow === undefined)
        return { ok: false, reason: 'template-error', detail: 'badge "increment" counts from the badge the device registry keeps: this recipient is not from the registry' };
      message.badge = badgeNow + 1;
    } else if (rendered.badge !== undefined) {
      const badge = Number(rendered.badge);
      if (!Number.isInteger(badge) || badge < 0) {
        return { ok: false, reason: 'template-error', detail: `badge must be a whole number, got ${quoted(String(rendered.badge))}` };
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
  const required = new Map<string, string>();
  const optional = new Set<string>();
  // A fresh tree every time, even with no placeholders: render() completes it in place.
  if (leaves.length === 0) return { render: () => assemble([]), required, optional };
  const problems: string[] = [];
  for (const leaf of leaves) {
    let ast: hbs.AST.Program;
    try {
      ast = handlebars.parse(leaf.source); // compile() is lazy: find syntax errors now, with the field's name
    } catch (error) {
      // The whole message: the line, the text with a caret under the column, what was expected.
      problems.push(`${oneLine(leaf.field)}: ${(error as Error).message.replace(/\n/g, '\n    ')}`);
      continue;
    }
    readPlaceholders(ast, leaf.field, { required, optional, problems });
  }
  if (problems.length > 0) throw new InputError(`message template:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
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
  const render = (vars: Record<string, string>) => {
    let pieces: string[];
    try {
      pieces = combined(vars).split(pieceSeparator);
    } catch {
      pieces = renderEach(vars);
    }
    if (pieces.length !== leaves.length) pieces = renderEach(vars);
    return assemble(pieces);
  };
  return { render, required, optional };
}

type Node = hbs.AST.Node & {
  path?: hbs.AST.PathExpression;
  params?: hbs.AST.Expression[];
  hash?: hbs.AST.Hash;
  program?: hbs.AST.Program;
  inverse?: hbs.AST.Program;
  body?: hbs.AST.Statement[];
};

/**
 * The columns a field's placeholders read, and the helpers it calls: only pushcast's own
 * (`default`, `#if`, `#unless`) are known, so a typo or `{{log …}}` is an error at load.
 */
function readPlaceholders(node: Node, field: string, found: { required: Map<string, string>; optional: Set<string>; problems: string[] }): void {
  const column = (path: hbs.AST.PathExpression): string | undefined => (path.data || path.parts.length === 0 ? undefined : path.parts[0]);
  const params = (list: hbs.AST.Expression[] = []) => {
    for (const param of list) {
      if (param.type === 'PathExpression') {
        const name = column(param as hbs.AST.PathExpression);
        if (name) found.optional.add(name);
      } else if (param.type === 'SubExpression') readPlaceholders(param as Node, field, found);
    }
  };
  switch (node.type) {
    case 'Program':
      for (const statement of node.body ?? []) readPlaceholders(statement as Node, field, found);
      return;
    case 'MustacheStatement':
    case 'SubExpression': {
      const name = node.path!.original;
      const call = (node.params?.length ?? 0) > 0 || (node.hash?.pairs.length ?? 0) > 0;
      if (call || helpers.has(name)) {
        if (!helpers.has(name)) found.problems.push(`${field}: {{${name} …}} calls a helper pushcast does not have (it has: default, #if, #unless)`);
        return params(node.params);
      }
      const required = column(node.path!);
      if (required && !found.required.has(required)) found.required.set(required, field);
      return;
    }
    case 'BlockStatement': {
      const name = node.path!.original;
      if (name !== 'if' && name !== 'unless') found.problems.push(`${field}: {{#${name}}} is not a block pushcast has (it has: #if, #unless)`);
      params(node.params);
      if (node.program) readPlaceholders(node.program as Node, field, found);
      if (node.inverse) readPlaceholders(node.inverse as Node, field, found);
      return;
    }
    default:
      return; // text, comments, partials are not supported by name alone and fail at compile
  }
}

function missingVariable(name: string, field: string | undefined): RenderResult {
  const where = field ? ` (in ${field})` : '';
  return { ok: false, reason: 'missing-variable', detail: `{{${name}}} has no value in this row${where}; add the column or write {{default ${name} "…"}}` };
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
  if (missing) return missingVariable(missing[1], field);
  return { ok: false, reason: 'template-error', detail: `${message.split('\n')[0]}${where}` };
}
