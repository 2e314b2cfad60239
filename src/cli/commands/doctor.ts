import { deviceIdentity, keysOf, type ProviderName } from '../../domain/recipient.js';
import { loadConfig } from '../../config/load-config.js';
import { prepareRecipient } from '../../engine/prepare-recipient.js';
import { ExitCode } from '../../errors.js';
import { CompiledTemplate } from '../../message/compile-template.js';
import { ConfiguredProviders, isConfigured } from '../../providers/configured-providers.js';
import type { Outcome, Rendered } from '../../providers/provider.js';
import { writeLine, type CliIo } from '../io.js';

/** Tokens no device has: the providers check credentials before tokens, and deliver nothing. */
const probes: Partial<Record<ProviderName, string>> = {
  fcm: 'pushcast-doctor-probe:APA91b-not-a-real-registration-token',
  apns: '0'.repeat(64),
};
const probeMessage = new CompiledTemplate({ kind: 'notification', title: 'pushcast doctor' });

interface Finding {
  ok: boolean | 'unchecked';
  text: string;
}

/**
 * `pushcast doctor`: checks each configured provider's credentials without a notification
 * reaching anyone, and says plainly what it could not check.
 */
export async function doctorCommand(options: { config?: string; json?: boolean }, io: CliIo): Promise<number> {
  const { config } = loadConfig({ file: options.config, cwd: io.cwd, env: io.env });
  const report: Record<string, Finding[]> = {};
  for (const name of ['fcm', 'apns', 'webpush'] as const) {
    if (!isConfigured(name, config)) continue;
    const findings: Finding[] = (report[name] = []);
    // FCM's probe is a validate_only send: FCM checks it like a real one and delivers nothing.
    const providers = new ConfiguredProviders(config, { dryRun: name === 'fcm' });
    try {
      const provider = await providers.get(name);
      findings.push({ ok: true, text: credentialSummary(name, config) });
      const token = probes[name];
      if (!provider || !token) {
        findings.push({ ok: 'unchecked', text: 'whether push services accept this VAPID key: they check it only on a real subscription; send to one with pushcast send --token' });
        continue;
      }
      const item = prepareRecipient(probeMessage, { kind: 'device', line: 0, provider: name, token, ...keysOf(deviceIdentity(name, token)), vars: {}, fields: [] }, { apnsTopic: config.apns?.topic });
      if ('kind' in item) {
        findings.push({ ok: false, text: item.detail });
        continue;
      }
      const [outcome] = await provider.send([item as Rendered] as never, new AbortController().signal);
      findings.push(judgeProbe(name, outcome));
    } catch (error) {
      findings.push({ ok: false, text: (error as Error).message });
    } finally {
      await providers.close();
    }
  }
  if (Object.keys(report).length === 0) {
    writeLine(io.stderr, 'pushcast doctor: no provider is configured (see pushcast init, or the README\'s configuration section)');
    return ExitCode.fatal;
  }
  const failed = Object.values(report).some((findings) => findings.some((finding) => finding.ok === false));
  if (options.json) writeLine(io.stdout, JSON.stringify({ ok: !failed, providers: report }));
  else {
    for (const [name, findings] of Object.entries(report)) {
      writeLine(io.stdout, name);
      for (const finding of findings) writeLine(io.stdout, `  ${finding.ok === true ? 'ok ' : finding.ok === false ? 'BAD' : 'n/a'}  ${finding.text}`);
    }
  }
  return failed ? ExitCode.fatal : ExitCode.ok;
}

function credentialSummary(name: ProviderName, config: ReturnType<typeof loadConfig>['config']): string {
  if (name === 'fcm') return 'service account read; an OAuth access token was issued for it';
  if (name === 'apns') return `signing key read and a token signed (key ${config.apns?.keyId}, team ${config.apns?.teamId}); topic ${config.apns?.topic ?? 'NOT SET: set apns.topic'}`;
  return `VAPID key pair matches; subject ${config.webpush?.subject}`;
}

function judgeProbe(name: ProviderName, outcome: Outcome): Finding {
  const target = name === 'fcm' ? 'FCM (validate_only)' : 'APNs, to a token no device has,';
  switch (outcome.kind) {
    case 'accepted':
    case 'invalid-token':
      return { ok: true, text: `${target} accepted the credentials${outcome.kind === 'invalid-token' ? ` and answered ${outcome.reason} for the made-up token, as expected` : ''}; nothing was delivered` };
    case 'fatal':
      return { ok: false, text: `${target} refused: ${outcome.reason}: ${outcome.fix}` };
    case 'rejected-message':
      // A credential answer (401, 403) is marked wrongSender: the probe found what doctor is for.
      return { ok: false, text: outcome.wrongSender ? `${target} refused: ${outcome.reason}: ${outcome.wrongSender}` : `${target} refused the probe message: ${outcome.reason}` };
    default:
      return { ok: 'unchecked', text: `${target} did not answer conclusively (${outcome.reason}): try again` };
  }
}
