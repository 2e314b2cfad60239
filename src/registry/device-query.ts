import { closestName } from '../domain/closest-name.js';
import { isPlainObject } from '../domain/plain-object.js';
import { quoted } from '../domain/quote-value.js';
import { UsageError } from '../errors.js';

/**
 * `send --where`: which registry devices a campaign reaches, written as Parse Server and LeanCloud
 * users write a push's `where` over `_Installation` ({"channels":"news","locale":{"$in":["fa","en"]}}).
 * A query is read and checked here, once, into a condition both backends compile to SQL with bound
 * parameters only (query-sql.ts): a value never becomes SQL text, so a query cannot inject.
 */
export interface DeviceQuery {
  /** The query as given, in compact JSON: what the campaign's record keeps. */
  text: string;
  /** The same with every object's keys sorted: what the campaign's id hashes, so the order keys were written in does not matter. */
  canonical: string;
  condition: Condition;
}

export type Condition =
  | { kind: 'all' | 'any'; parts: Condition[] }
  | { kind: 'compare'; field: QueryField; operator: Comparison; value: QueryValue }
  | { kind: 'in'; field: QueryField; values: QueryValue[]; negated: boolean }
  | { kind: 'has-all'; field: QueryField; values: string[] }
  | { kind: 'exists'; field: QueryField; exists: boolean };

export type Comparison = '=' | '<>' | '<' | '<=' | '>' | '>=';
/** A value as it is compared: times are ISO strings by now, null is "not set". */
export type QueryValue = string | number | null;

export type FieldType = 'text' | 'number' | 'time' | 'channels' | 'attribute';
export interface QueryField {
  /** The name the query used. */
  name: string;
  type: FieldType;
  /** The devices table's column; for an attribute, its name in the attributes. */
  column: string;
}

/** The fields of a device a query can read, by pushcast's names. */
const deviceFields: Record<string, Omit<QueryField, 'name'>> = {
  userId: { type: 'text', column: 'user_id' },
  provider: { type: 'text', column: 'provider' },
  token: { type: 'text', column: 'token' },
  app: { type: 'text', column: 'app' },
  environment: { type: 'text', column: 'environment' },
  platform: { type: 'text', column: 'platform' },
  locale: { type: 'text', column: 'locale' },
  timezone: { type: 'text', column: 'timezone' },
  channels: { type: 'channels', column: 'channels' },
  badge: { type: 'number', column: 'badge' },
  lastSeen: { type: 'time', column: 'last_seen' },
  createdAt: { type: 'time', column: 'created_at' },
  updatedAt: { type: 'time', column: 'updated_at' },
};

/** Parse's and LeanCloud's `_Installation` names for the same fields, so a query from there works as written. */
const installationNames: Record<string, string> = {
  user_id: 'userId',
  deviceType: 'platform',
  deviceToken: 'token',
  appIdentifier: 'app',
  localeIdentifier: 'locale',
  timeZone: 'timezone',
};

const operators = ['$in', '$nin', '$ne', '$exists', '$lt', '$lte', '$gt', '$gte', '$all', '$or', '$and'] as const;
const ordering: Record<string, Comparison> = { $lt: '<', $lte: '<=', $gt: '>', $gte: '>=' };
/** Enough for any audience written by hand; a list longer than this belongs in a user-ID file. */
const maxListed = 1000;
const maxDepth = 16;
/** What an attribute may be called: a column or JSON key a template can name as {{name}}. */
export const attributeNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const ageForm = /^(\d{1,6})([smhdw])$/;
const ageSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

export const timeForms = 'an ISO date (2026-11-01 or 2026-11-01T08:00:00Z), an age counted back from now (30d, 12h, 2w), or Parse\'s {"__type":"Date","iso":"…"}';

/**
 * Reads `--where`. `attributes` are the attribute names the registry holds (devices set, or an
 * import's extra columns); any other field, or an operator pushcast does not know, is refused with
 * the list of those it knows. Ages ("30d") count back from `now`.
 */
export function parseDeviceQuery(text: string, options: { attributes: readonly string[]; now?: Date }): DeviceQuery {
  let given: unknown;
  try {
    given = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--where ${quoted(text)}: not JSON (${(error as Error).message}); write it as Parse does: '{"channels":"news","locale":{"$in":["fa","en"]}}'`);
  }
  const reader = new QueryReader(options.attributes, options.now ?? new Date());
  return { text: JSON.stringify(given), canonical: JSON.stringify(sortedKeys(given)), condition: reader.object(given, '') };
}

class QueryReader {
  constructor(
    private readonly attributes: readonly string[],
    private readonly now: Date,
  ) {}

  /** Every key of an object must hold (Parse's implicit AND). */
  object(value: unknown, at: string, depth = 0): Condition {
    if (depth > maxDepth) throw this.refuse(at, `nested more than ${maxDepth} deep`);
    if (!isPlainObject(value)) throw this.refuse(at, 'a query is a JSON object of fields, such as {"platform":"ios"}');
    const parts = Object.entries(value).map(([key, inner]) => {
      if (key === '$or' || key === '$and') {
        if (!Array.isArray(inner) || inner.length === 0) throw this.refuse(`${at}${key}`, 'takes a non-empty list of queries');
        return { kind: key === '$or' ? 'any' : 'all', parts: inner.map((part, index) => this.object(part, `${at}${key}[${index}].`, depth + 1)) } as Condition;
      }
      if (key.startsWith('$')) throw this.unknownOperator(at, key);
      return this.fieldCondition(this.field(key, at), inner, `${at}${key}`);
    });
    return parts.length === 1 ? parts[0] : { kind: 'all', parts };
  }

  private field(name: string, at: string): QueryField {
    const known = deviceFields[installationNames[name] ?? name];
    if (known) return { name, ...known };
    const attribute = name.startsWith('attributes.') ? name.slice('attributes.'.length) : name;
    if (this.attributes.includes(attribute)) return { name, type: 'attribute', column: attribute };
    const names = [...Object.keys(deviceFields), ...this.attributes];
    const guess = closestName(attribute, [...names, ...Object.keys(installationNames)]);
    const attributesSaid =
      this.attributes.length > 0
        ? `; the registry's attributes: ${this.attributes.join(', ')}`
        : '; the registry holds no attributes yet (devices set, or an import with extra columns)';
    throw this.refuse(`${at}${name}`, `unknown field${guess ? ` (did you mean ${guess}?)` : ''}; a device's fields: ${Object.keys(deviceFields).join(', ')}${attributesSaid}`);
  }

  private fieldCondition(field: QueryField, given: unknown, at: string): Condition {
    if (!isPlainObject(given) || isParseDate(given)) return this.equals(field, given, at, false);
    const parts = Object.entries(given).map(([operator, value]): Condition => {
      const where = `${at}.${operator}`;
      switch (operator) {
        case '$ne':
          return this.equals(field, value, where, true);
        case '$in':
        case '$nin':
          return {
            kind: 'in',
            field,
            values: this.list(value, where).map((item) => (field.type === 'time' ? this.time(item, where) : this.value(field, item, where))),
            negated: operator === '$nin',
          };
        case '$all':
          if (field.type !== 'channels') throw this.refuse(where, '$all is for channels (every one of them)');
          return { kind: 'has-all', field, values: this.list(value, where).map((item) => this.value(field, item, where) as string) };
        case '$exists':
          if (typeof value !== 'boolean') throw this.refuse(where, 'takes true or false');
          return { kind: 'exists', field, exists: value };
        case '$lt':
        case '$lte':
        case '$gt':
        case '$gte':
          return { kind: 'compare', field, operator: ordering[operator], value: this.ordered(field, value, where) };
        default:
          throw this.unknownOperator(`${at}.`, operator);
      }
    });
    if (parts.length === 0) throw this.refuse(at, 'an empty {} says nothing: give a value or an operator');
    return parts.length === 1 ? parts[0] : { kind: 'all', parts };
  }

  private equals(field: QueryField, given: unknown, at: string, negated: boolean): Condition {
    if (field.type === 'time') throw this.refuse(at, 'a time is compared with $lt, $lte, $gt or $gte');
    const value = given === null ? null : this.value(field, given, at);
    return { kind: 'compare', field, operator: negated ? '<>' : '=', value };
  }

  private list(value: unknown, at: string): unknown[] {
    if (!Array.isArray(value)) throw this.refuse(at, 'takes a list, such as ["fa","en"]');
    if (value.length > maxListed) throw this.refuse(at, `lists ${value.length} values; at most ${maxListed} (a longer audience is a user-ID file)`);
    return value;
  }

  /** A value compared for equality or membership, as the field holds it. */
  private value(field: QueryField, given: unknown, at: string): QueryValue {
    if (field.type === 'number') {
      if (typeof given !== 'number' || !Number.isFinite(given)) throw this.refuse(at, `${field.name} is a number: give one, not ${quoted(given)}`);
      return given;
    }
    if (field.type === 'attribute' && (typeof given === 'number' || typeof given === 'boolean')) return String(given); // attributes are kept as text
    if (typeof given !== 'string') throw this.refuse(at, `${field.name} holds text: give a string, not ${quoted(given)}`);
    return given;
  }

  /** A value for $lt/$gt: a time on a time field, a number on a number or an attribute. */
  private ordered(field: QueryField, given: unknown, at: string): QueryValue {
    if (field.type === 'time') return this.time(given, at);
    if ((field.type === 'number' || field.type === 'attribute') && typeof given === 'number' && Number.isFinite(given)) return given;
    if (field.type === 'number' || field.type === 'attribute') throw this.refuse(at, `compares numbers: give one, not ${quoted(given)}`);
    throw this.refuse(at, `${field.name} is not ordered: $lt, $lte, $gt and $gte compare times (lastSeen, createdAt, updatedAt) and numbers (badge, attributes)`);
  }

  private time(given: unknown, at: string): string {
    const text = isParseDate(given) ? given.iso : given;
    if (typeof text === 'string') {
      const age = ageForm.exec(text.trim());
      if (age) return new Date(this.now.getTime() - Number(age[1]) * ageSeconds[age[2]] * 1000).toISOString();
      const time = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
      if (Number.isFinite(time)) return new Date(time).toISOString();
    }
    throw this.refuse(at, `not a time: ${quoted(given)}; give ${timeForms}`);
  }

  private unknownOperator(at: string, operator: string): UsageError {
    const guess = closestName(operator, operators);
    return this.refuse(`${at}${operator}`, `unknown operator${guess ? ` (did you mean ${guess}?)` : ''}; pushcast knows ${operators.join(', ')}`);
  }

  private refuse(at: string, why: string): UsageError {
    return new UsageError(`--where ${at.replace(/\.$/, '') || '(the query)'}: ${why}`);
  }
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedKeys(value[key])]),
  );
}

function isParseDate(value: unknown): value is { __type: 'Date'; iso: string } {
  return isPlainObject(value) && value.__type === 'Date' && typeof value.iso === 'string';
}
