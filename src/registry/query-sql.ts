import type { Condition, DeviceQuery, QueryField, QueryValue } from './device-query.js';

export type SqlDialect = 'sqlite' | 'postgres';

/** A query as SQL over the devices table aliased `d`: the text holds only placeholders; the values go bound. */
export interface QuerySql {
  sql: string;
  values: unknown[];
}

/**
 * Compiles a device query for one backend. `placeholder(n)` writes the n-th value's placeholder
 * (1-based) as the caller numbers its statement's parameters. Column names come from the query's
 * fields, which device-query.ts takes only from its own list: nothing the user wrote is SQL.
 */
export function querySql(query: DeviceQuery, dialect: SqlDialect, placeholder: (index: number) => string): QuerySql {
  const values: unknown[] = [];
  const bind = (value: unknown) => {
    values.push(value);
    return placeholder(values.length);
  };
  return { sql: new Compiler(dialect, bind).condition(query.condition), values };
}

class Compiler {
  constructor(
    private readonly dialect: SqlDialect,
    private readonly bind: (value: unknown) => string,
  ) {}

  condition(condition: Condition): string {
    switch (condition.kind) {
      case 'all':
      case 'any':
        return `(${condition.parts.map((part) => this.condition(part)).join(condition.kind === 'all' ? ' AND ' : ' OR ')})`;
      case 'exists':
        return condition.field.type === 'channels' ? this.hasChannel(undefined, !condition.exists) : `${this.column(condition.field)} IS ${condition.exists ? 'NOT ' : ''}NULL`;
      case 'has-all':
        // As in Parse (MongoDB): $all of nothing matches nothing.
        return `(${condition.values.map((value) => this.hasChannel([value], false)).join(' AND ') || '1=0'})`;
      case 'in':
        return this.among(condition.field, condition.values, condition.negated);
      case 'compare':
        return this.compare(condition.field, condition.operator, condition.value);
    }
  }

  private compare(field: QueryField, operator: string, value: QueryValue): string {
    if (field.type === 'channels') {
      // An array field equals a value when it holds it (Parse's rule); null: no channel at all.
      return value === null ? this.hasChannel(undefined, operator === '=') : this.hasChannel([value as string], operator === '<>');
    }
    if (operator === '=' || operator === '<>') {
      const column = this.column(field);
      if (value === null) return `${column} IS ${operator === '=' ? '' : 'NOT '}NULL`;
      // $ne matches devices without the field too, as in Parse.
      return operator === '=' ? `${column} = ${this.typed(field, value)}` : `(${column} IS NULL OR ${column} <> ${this.typed(field, value)})`;
    }
    const column = field.type === 'attribute' ? this.attributeNumber(field) : this.column(field);
    return `${column} ${operator} ${this.typed(field.type === 'attribute' ? { ...field, type: 'number' } : field, value)}`;
  }

  private among(field: QueryField, values: QueryValue[], negated: boolean): string {
    if (field.type === 'channels') return values.length === 0 ? (negated ? '1=1' : '1=0') : this.hasChannel(values as string[], negated);
    if (values.length === 0) return negated ? '1=1' : '1=0';
    const column = this.column(field);
    const listed = values.map((value) => this.typed(field, value)).join(', ');
    return negated ? `(${column} IS NULL OR ${column} NOT IN (${listed}))` : `${column} IN (${listed})`;
  }

  /** Whether a device is in any of `channels` (none given: in any channel at all); `negated`: in none of them. */
  private hasChannel(channels: string[] | undefined, negated: boolean): string {
    const not = negated ? 'NOT ' : '';
    if (this.dialect === 'postgres') {
      if (!channels) return `${not}(cardinality(d.channels) > 0)`;
      return `${not}(d.channels && ARRAY[${channels.map((channel) => this.bind(channel)).join(', ')}]::text[])`;
    }
    const which = channels ? ` AND c.channel IN (${channels.map((channel) => this.bind(channel)).join(', ')})` : '';
    return `${not}EXISTS (SELECT 1 FROM device_channels c WHERE c.device_id = d.id${which})`;
  }

  private column(field: QueryField): string {
    if (field.type !== 'attribute') return `d.${field.column}`;
    return this.dialect === 'postgres' ? `(d.attributes ->> ${this.bind(field.column)})` : `json_extract(d.attributes, ${this.bind(`$.${field.column}`)})`;
  }

  /**
   * An attribute's number, for $lt/$gt: attributes are text, and only one written as a plain
   * decimal (-12, 3.5) counts as a number, alike on both backends; "1.2.3" or "" is none.
   */
  private attributeNumber(field: QueryField): string {
    const text = this.column(field);
    if (this.dialect === 'postgres') return `(CASE WHEN ${text} ~ '^-?[0-9]+([.][0-9]+)?$' THEN (${text})::numeric END)`;
    const digits = `ltrim(${text}, '-')`;
    const plain = `${digits} GLOB '[0-9]*' AND ${digits} NOT GLOB '*[^0-9.]*' AND ${text} NOT GLOB '*.*.*' AND ${text} NOT GLOB '*.' AND ${text} NOT GLOB '-*-*'`;
    return `(CASE WHEN ${plain} THEN CAST(${text} AS REAL) END)`;
  }

  /** A bound value, cast where PostgreSQL cannot infer it. */
  private typed(field: QueryField, value: QueryValue): string {
    const placeholder = this.bind(value);
    if (this.dialect === 'sqlite') return placeholder;
    if (field.type === 'time') return `${placeholder}::timestamptz`;
    if (field.type === 'number') return `${placeholder}::numeric`;
    return `${placeholder}::text`;
  }
}
