import type { FrequencyCapRule } from '../config/frequency-cap.js';
import type { FrequencyCap } from '../registry/cap-recipients.js';

/** --cap as a campaign takes it: the rule, and whose pushes it counts. */
export interface CapSettings {
  rule: FrequencyCapRule;
  per: 'user' | 'device';
}

/** The cap a run applies: other campaigns' pushes within the window before `firstRunAt`, and since. */
export function frequencyCap(settings: CapSettings, campaign: string, firstRunAt: number): FrequencyCap {
  return {
    pushes: settings.rule.pushes,
    since: new Date(firstRunAt - settings.rule.windowSeconds * 1000).toISOString(),
    per: settings.per,
    campaign,
    text: settings.rule.text,
  };
}
