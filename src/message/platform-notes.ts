import { liveActivityAps } from './live-activity.js';
import type { MessageTemplate } from './load-template.js';

/** What a template asks for that some platforms have no field for: said in the plan, not silently dropped. */
export function platformNotes(template: MessageTemplate): string[] {
  const notes: string[] = [];
  const live = liveActivityAps(template.apns);
  if (live) {
    notes.push(
      `a Live Activity (event ${String(live.event)}): sent only to APNs Live Activity tokens (apns_push_type liveactivity), with apns-push-type liveactivity to <bundle id>.push-type.liveactivity; other rows are skipped as wrong-push-type`,
    );
  }
  const thread = template.thread !== undefined;
  if (thread) notes.push('thread groups notifications on iOS only (APNs thread-id): Android and the web have no such field, and get none');
  if (template.group !== undefined && !thread) notes.push('group replaces: a newer message of the group replaces the one shown (Android tag, APNs collapse id, web tag and Topic)');
  return notes;
}
