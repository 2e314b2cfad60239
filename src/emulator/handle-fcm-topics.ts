import { randomUUID } from 'node:crypto';
import { bytesOf } from './emulated.js';
import { sendJson, type EmulatorContext, type Exchange } from './exchange.js';

/** One message FCM took for a topic or a condition: it fans out to the subscribers later, on FCM's side. */
export interface TopicSend {
  topic?: string;
  condition?: string;
  message: Record<string, unknown>;
  id: string;
}

/** One Instance ID batch request, as it was answered. */
export interface TopicBatchRequest {
  op: 'batchAdd' | 'batchRemove';
  topic: string;
  tokens: number;
  status: number;
}

/**
 * What the emulated FCM keeps of topics: the messages sent to topics and conditions, who is
 * subscribed to what (the Instance ID API's batchAdd and batchRemove), and each batch request.
 */
export class FcmTopics {
  readonly sends: TopicSend[] = [];
  readonly batchRequests: TopicBatchRequest[] = [];
  private readonly members = new Map<string, Set<string>>();
  /** The next this many batch requests are answered 429 RESOURCE_EXHAUSTED, as FCM throttles subscriptions. */
  exhaustedAnswers = 0;

  subscribers(topic: string): string[] {
    return [...(this.members.get(topic) ?? [])];
  }

  reset(): void {
    this.sends.length = 0;
    this.batchRequests.length = 0;
    this.members.clear();
    this.exhaustedAnswers = 0;
  }

  add(topic: string, token: string): void {
    const members = this.members.get(topic) ?? new Set<string>();
    members.add(token);
    this.members.set(topic, members);
  }

  remove(topic: string, token: string): void {
    this.members.get(topic)?.delete(token);
  }
}

/** FCM's topic names (firebase-admin checks the same before sending). */
const topicName = /^[a-zA-Z0-9\-_.~%]+$/;
/** "FCM's limit is 4096 B, or 2048 B for topics" (shared/notes/provider-clients.md, from Firebase's error docs). */
const topicPayloadBytes = 2048;
/** "You can include up to five topics in your conditional expression" (Firebase, Send messages to topics). */
const conditionTopics = 5;
const fcmTokenPattern = /^[A-Za-z0-9_\-:.]{20,}$/;

type Fail = (status: number, errorCode: string | undefined, message: string) => void;

/**
 * A message whose target is a topic or a condition (messages:send): checked as FCM does (one
 * target only, a topic's name, a condition's grammar and its five topics, the 2048-byte limit
 * of a topic message), then kept, and answered with the message's name.
 */
export function handleFcmTopicSend(context: EmulatorContext, exchange: Exchange, project: string, message: Record<string, unknown>, fail: Fail): void {
  const targets = ['token', 'topic', 'condition'].filter((name) => message[name] !== undefined);
  if (targets.length > 1) {
    // The v1 API's message has one `target` (a protobuf oneof): a second one is refused when the JSON is read.
    return fail(400, 'INVALID_ARGUMENT', `Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set '${targets[1]}'`);
  }
  const topic = typeof message.topic === 'string' ? message.topic : undefined;
  const condition = typeof message.condition === 'string' ? message.condition : undefined;
  if (topic !== undefined && !topicName.test(topic)) return fail(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.');
  if (condition !== undefined && !conditionIsValid(condition)) return fail(400, 'INVALID_ARGUMENT', 'Invalid condition expression provided.');
  const size = bytesOf(JSON.stringify({ notification: message.notification, data: message.data, android: message.android, apns: message.apns, webpush: message.webpush }));
  if (size > topicPayloadBytes) return fail(400, 'INVALID_ARGUMENT', `Message is too big: ${size} bytes, the limit of a topic message is ${topicPayloadBytes}.`);
  const id = `projects/${project}/messages/${Date.now()}${randomUUID().slice(0, 6).replace(/\D/g, '7')}`;
  context.fcmTopics.sends.push({ ...(topic !== undefined ? { topic } : { condition: condition! }), message, id });
  sendJson(exchange, 200, { name: id });
}

/** A condition of `'name' in topics`, `&&`, `||`, `!` and parentheses, naming at most five topics. */
function conditionIsValid(condition: string): boolean {
  const tokens = condition.match(/'[^']*'\s+in\s+topics|&&|\|\||!|\(|\)|\S+/g) ?? [];
  let at = 0;
  let named = 0;
  const unary = (): boolean => {
    const token = tokens[at++];
    if (token === '!') return unary();
    if (token === '(') return either() && tokens[at++] === ')';
    const name = token === undefined ? undefined : /^'([^']*)'\s+in\s+topics$/.exec(token)?.[1];
    return name !== undefined && topicName.test(name) && ++named <= conditionTopics;
  };
  const both = (): boolean => unary() && (tokens[at] !== '&&' || (at++, both()));
  const either = (): boolean => both() && (tokens[at] !== '||' || (at++, either()));
  return either() && at === tokens.length;
}

const batchPath = /^\/iid\/v1:(batchAdd|batchRemove)$/;

/**
 * POST https://iid.googleapis.com/iid/v1:batchAdd and :batchRemove: `{to: "/topics/NAME",
 * registration_tokens: [...]}` (at most 1,000), answered `{results: [{} | {error: "NOT_FOUND"} ...]}`,
 * one result per token in order. Throttled, a whole request gets 429 RESOURCE_EXHAUSTED.
 */
export function handleIidBatch(context: EmulatorContext, exchange: Exchange): void {
  const topics = context.fcmTopics;
  const op = batchPath.exec(exchange.path)?.[1] as TopicBatchRequest['op'] | undefined;
  const answer = (status: number, body: unknown, topic = '', tokens = 0) => {
    if (op) topics.batchRequests.push({ op, topic, tokens, status });
    sendJson(exchange, status, body);
  };
  if (!op || exchange.req.method !== 'POST') return answer(404, { error: 'NOT_FOUND' });
  const bearer = /^Bearer (.+)$/.exec(String(exchange.req.headers.authorization ?? ''))?.[1];
  if (!bearer || !context.accessTokens.has(bearer))
    return answer(401, { error: { code: 401, message: 'Request is missing required authentication credential.', status: 'UNAUTHENTICATED' } });
  let request: { to?: unknown; registration_tokens?: unknown };
  try {
    request = JSON.parse(exchange.body.toString('utf8')) as typeof request;
  } catch {
    return answer(400, { error: 'InvalidJson' });
  }
  const to = typeof request.to === 'string' ? request.to : '';
  const topic = /^\/topics\/(.+)$/.exec(to)?.[1];
  const tokens = Array.isArray(request.registration_tokens) ? (request.registration_tokens as unknown[]) : undefined;
  if (!topic || !topicName.test(topic)) return answer(400, { error: 'InvalidParameters: invalid topic name' }, to);
  if (!tokens || tokens.length === 0 || tokens.length > 1000) return answer(400, { error: 'InvalidParameters: registration_tokens must hold 1 to 1000 tokens' }, topic);
  if (topics.exhaustedAnswers > 0) {
    topics.exhaustedAnswers--;
    return answer(429, { error: { code: 429, message: 'Quota exceeded for topic subscriptions.', status: 'RESOURCE_EXHAUSTED' } }, topic, tokens.length);
  }
  const results = tokens.map((token) => {
    if (typeof token !== 'string' || !fcmTokenPattern.test(token)) return { error: 'INVALID_ARGUMENT' };
    if (context.state.behaviour.dead.has(token)) return { error: 'NOT_FOUND' };
    if (op === 'batchAdd') topics.add(topic, token);
    else topics.remove(topic, token);
    return {};
  });
  answer(200, { results }, topic, tokens.length);
}
