import { counted } from '../domain/count-words.js';
import { oneLine } from '../domain/quote-value.js';
import type { BroadcastRecord, CampaignRecord } from './campaign-record.js';

const outcomeWords: Record<BroadcastRecord['outcome'], string> = {
  accepted: 'accepted',
  refused: 'refused: nothing was sent',
  'not-sent': 'not sent: the request never reached the provider',
  uncertain: 'uncertain: the request may have reached the provider, which gave no answer',
};

/** The report of a broadcast for a person: its own section, as there are no per-device counts to show. */
export function formatBroadcast(record: CampaignRecord, broadcast: BroadcastRecord): string {
  const lines = [
    `campaign ${record.campaign}: one ${broadcast.provider} message to ${broadcast.target.kind} ${broadcast.target.value}`,
    `  requests     ${broadcast.requests}${broadcast.by === 'earlier-run' ? ' (an earlier run sent it: not sent again)' : ''}`,
    `  outcome      ${outcomeWords[broadcast.outcome]}`,
    ...(broadcast.messageId ? [`  message id   ${broadcast.messageId}`] : []),
    ...(broadcast.sentAt ? [`  sent at      ${broadcast.sentAt}`] : []),
    ...(broadcast.reason ? [`  reason       ${broadcast.reason}${broadcast.detail ? `: ${oneLine(broadcast.detail)}` : ''}`] : []),
    ...(record.fcm ? [`  label        ${record.fcm.analyticsLabel}`] : []),
    ...wrapped(`none: ${broadcast.note}`).map((line, place) => `${place === 0 ? '  per device   ' : ' '.repeat(15)}${line}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Words in lines of at most 65 characters: with the 15 of the label column, the report keeps to 80. */
function wrapped(text: string): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= 65) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** The one line of `--quiet`. */
export function broadcastLine(record: CampaignRecord, broadcast: BroadcastRecord): string {
  const earlier = broadcast.by === 'earlier-run' ? ' by an earlier run' : '';
  const id = broadcast.messageId ? ` (${broadcast.messageId})` : '';
  return oneLine(`campaign ${record.campaign}: ${broadcast.target.kind} ${broadcast.target.value}: ${broadcast.outcome}${earlier}${id}, ${counted(broadcast.requests, 'request')}`);
}
