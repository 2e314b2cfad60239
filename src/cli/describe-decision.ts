import type { Decision } from '../domain/decision.js';

/** One `--verbose` line for one engine decision: what was decided, for which line, and why. */
export function describeDecision(decision: Decision): string {
  switch (decision.type) {
    case 'batch': {
      const answers = Object.entries(decision.outcomes)
        .sort(([, a], [, b]) => b - a)
        .map(([what, n]) => `${what} ${n}`)
        .join(', ');
      return `${decision.provider}: batch of ${decision.count} answered in ${Math.round(decision.ms)} ms: ${answers}`;
    }
    case 'retry': {
      const who = decision.waits === 'provider' ? `with all of ${decision.provider}` : 'this device alone';
      return `${decision.provider} line ${decision.line}: ${decision.reason}, attempt ${decision.attempt} in ${milliseconds(decision.delayMs)} (${who}${decision.retryAfter ? ', as Retry-After asked' : ''})`;
    }
    case 'pause':
      return `${decision.provider}: paused ${milliseconds(decision.until - Date.now())} (${decision.reason}${decision.retryAfter ? ', Retry-After' : ''})`;
    case 'give-up':
      return `${decision.provider} line ${decision.line}: failed ${decision.reason} after ${decision.attempts} ${decision.attempts === 1 ? 'attempt' : 'attempts'}`;
  }
}

function milliseconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
