import type { FrequencyCapRule } from '../config/frequency-cap.js';
import type { FrequencyCap } from '../registry/cap-recipients.js';

/** --cap as a campaign takes it: the rule, and whose pushes it counts. */
export interface CapSettings {
  rule: FrequencyCapRule;
  per: 'user' | 'device';
}

/** The cap a run applies: other campaigns' pushes within the window before `endsAt` (and after), and since when. */
export function frequencyCap(settings: CapSettings, campaign: string, endsAt: number, settled?: (key: string) => boolean): FrequencyCap {
  return {
    pushes: settings.rule.pushes,
    since: new Date(endsAt - settings.rule.windowSeconds * 1000).toISOString(),
    ...(settled ? { settled } : {}),
    per: settings.per,
    campaign,
    text: settings.rule.text,
  };
}
