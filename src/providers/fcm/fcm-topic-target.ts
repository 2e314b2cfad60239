import { UsageError } from '../../errors.js';

/** Where one FCM message goes when it is for many devices: a topic's subscribers, or the devices whose topics meet a condition. */
export type FcmBroadcastTarget = { topic: string } | { condition: string };

/** FCM's grammar for a topic's name (firebase-admin checks the same; "/topics/" before it is dropped). */
const topicName = /^[a-zA-Z0-9\-_.~%]{1,900}$/;
/** "You can include up to five topics in your conditional expression" (Firebase, Send messages to topics). */
export const maxConditionTopics = 5;

/** `--topic NAME`: FCM's topic name, checked before anything is sent. */
export function parseTopic(text: string, flag = '--topic'): string {
  const name = text.startsWith('/topics/') ? text.slice('/topics/'.length) : text;
  if (!topicName.test(name)) {
    const bad = [...name].findIndex((char) => !/[a-zA-Z0-9\-_.~%]/.test(char));
    const why =
      name.length === 0 ? 'it is empty' : name.length > 900 ? `it has ${name.length} characters, over 900` : `character ${bad + 1} (${JSON.stringify(name[bad])}) is not allowed`;
    throw new UsageError(`${flag} "${text}": ${why}; an FCM topic's name is 1 to 900 of a-z A-Z 0-9 - _ . ~ %`);
  }
  return name;
}

interface Token {
  text: string;
  /** 1-based column of the token in the condition. */
  at: number;
}

/**
 * `--condition`: FCM's boolean expression of topics, `'news' in topics && ('fa' in topics ||
 * 'ar' in topics)`, with `&&`, `||`, `!` and parentheses, naming at most five topics. Checked
 * here, before anything is sent, with the column of what is wrong: FCM answers only "Invalid
 * condition expression provided." (firebase-admin does not check a condition).
 */
export function parseCondition(condition: string): string {
  const fail = (at: number, why: string): never => {
    throw new UsageError(`--condition, column ${at}: ${why}; FCM's grammar: 'topic' in topics, joined by && and ||, ! and parentheses, at most ${maxConditionTopics} topics`);
  };
  const tokens: Token[] = [];
  const lexer = /\s*(?:('([^']*)'\s+in\s+topics)|(&&|\|\||!|\(|\))|(\S+))/gy;
  for (let match = lexer.exec(condition); match && match[0].trim() !== ''; match = lexer.exec(condition)) {
    const at = match.index + match[0].length - match[0].trimStart().length + 1;
    if (match[4] !== undefined) {
      const quoted = /^'/.test(match[4]) ? 'a quoted topic must be followed by "in topics"' : `"${match[4].slice(0, 20)}" is not part of a condition`;
      fail(at, quoted);
    }
    if (match[2] !== undefined) parseTopic(match[2], `--condition, column ${at}: the topic`);
    tokens.push({ text: match[1] !== undefined ? 'TOPIC' : match[3], at });
  }
  const end = condition.length + 1;
  let place = 0;
  let topics = 0;
  const next = () => tokens[place] ?? { text: 'END', at: end };
  const unary = (): void => {
    const token = next();
    place++;
    if (token.text === '!') return unary();
    if (token.text === '(') {
      either();
      const close = next();
      if (close.text !== ')') fail(close.at, `the parenthesis at column ${token.at} is not closed`);
      place++;
      return;
    }
    if (token.text !== 'TOPIC') fail(token.at, token.text === 'END' ? 'the condition ends where a topic was expected' : `"${token.text}" where a topic was expected`);
    if (++topics > maxConditionTopics) fail(token.at, `this is topic ${topics}: a condition names at most ${maxConditionTopics}`);
  };
  const both = (): void => {
    unary();
    while (next().text === '&&') {
      place++;
      unary();
    }
  };
  const either = (): void => {
    both();
    while (next().text === '||') {
      place++;
      both();
    }
  };
  either();
  const left = next();
  if (left.text !== 'END') fail(left.at, left.text === ')' ? 'this parenthesis closes none that is open' : `"${left.text}" where && or || was expected`);
  return condition;
}
