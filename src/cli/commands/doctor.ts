import type { PushcastConfig } from '../../config/config.js';
import { loadConfig } from '../../config/load-config.js';
import { readSecret } from '../../config/read-secret.js';
import { requestTimeoutMs } from '../../config/timeouts.js';
import type { Outcome } from '../../domain/outcome.js';
import { deviceIdentity, keysOf, providerNames, type DeviceRecipient } from '../../domain/recipient.js';
import { ExitCode, RegistrySchemaError, UnresolvedHostError } from '../../errors.js';
import { CompiledTemplate } from '../../message/compile-template.js';
import { providerDescriptors } from '../../providers/descriptors.js';
import { checkTlsTrust } from '../../providers/http2/check-tls-trust.js';
import { resolveHost } from '../../providers/resolve-host.js';
import type { ProviderDescriptor, Rendered } from '../../providers/provider.js';
import { ProviderSet } from '../../providers/provider-set.js';
import { terminalLine, writeLine, type CliIo } from '../io.js';
import { openRegistry, registryExists, registryTarget } from '../../registry/open-registry.js';

const probeMessage = new CompiledTemplate({ kind: 'notification', title: 'pushcast doctor' });

interface Finding {
  ok: boolean | 'unchecked';
  text: string;
  /** For a failure: what to do next. */
  next?: string;
}

/**
 * `pushcast doctor`: checks each configured provider's credentials without a notification
 * reaching anyone, and says plainly what it could not check.
 */
export async function doctorCommand(options: { config?: string; registry?: string; json?: boolean }, io: CliIo): Promise<number> {
  const { config } = await loadConfig({
    file: options.config,
    cwd: io.cwd,
    env: io.env,
    flags: [{ path: 'registry', flag: '--registry', value: options.registry }],
    signal: io.signal,
  });
  const report: Record<string, Finding[]> = {};
  for (const name of providerNames) {
    const descriptor = providerDescriptors[name] as ProviderDescriptor;
    if (!descriptor.isConfigured(config)) continue;
    const findings: Finding[] = (report[name] = []);
    // Where the provider can, the probe is checked without delivery (FCM's validate_only); APNs refuses a token no device has.
    const providers = new ProviderSet(config, descriptor.validatesWithoutDelivery ? 'validate-only' : 'send');
    try {
      const trust = await trustFinding(descriptor, config);
      if (trust) {
        findings.push(trust);
        // Through a chain it does not trust, the credential check would fail for the chain, not the
        // credentials. A host it cannot reach is checked as before: the key is still read here.
        if (trust.ok === false) {
          findings.push({ ok: 'unchecked', text: 'the credentials: not checked without a trusted TLS connection' });
          continue;
        }
      }
      const provider = await providers.get(name);
      findings.push({ ok: true, text: descriptor.doctor.summary(config) });
      const token = descriptor.doctor.probeToken;
      if (!token) {
        findings.push({ ok: 'unchecked', text: descriptor.doctor.unchecked ?? 'the credentials against the provider: it has no probe' });
        continue;
      }
      const recipient: DeviceRecipient = { kind: 'device', line: 0, provider: name, token, ...keysOf(deviceIdentity(name, token)), vars: {}, fields: [] };
      const message = probeMessage.render({});
      const built = message.ok ? providers.build(message.message, recipient) : message;
      if (!built.ok) {
        findings.push({ ok: false, text: built.detail, next: descriptor.doctor.setUp });
        continue;
      }
      const [outcome] = await provider.send([{ provider: name, recipient, payload: built.payload } as Rendered] as never, new AbortController().signal);
      findings.push(judgeProbe(descriptor, outcome));
    } catch (error) {
      // A host that does not resolve says nothing of the credentials: their set-up would mislead.
      const next = error instanceof UnresolvedHostError ? "check this machine's network and DNS" : descriptor.doctor.setUp;
      findings.push({ ok: false, text: (error as Error).message, next });
    } finally {
      await providers.close();
    }
  }
  const registry = await registryFindings(config.registry, io);
  if (registry) report.registry = registry;
  if (Object.keys(report).filter((name) => name !== 'registry').length === 0) {
    writeLine(io.stderr, "pushcast doctor: no provider is configured (see pushcast init, or the README's configuration section)");
    return ExitCode.fatal;
  }
  const failed = Object.values(report).some((findings) => findings.some((finding) => finding.ok === false));
  if (options.json) {
    const { registry: registryReport, ...providers } = report;
    writeLine(io.stdout, JSON.stringify({ ok: !failed, providers, ...(registryReport ? { registry: registryReport } : {}) }));
  } else {
    for (const [name, findings] of Object.entries(report)) {
      writeLine(io.stdout, name);
      for (const finding of findings) {
        // A finding quotes the config (a subject, a path) and the provider's answer.
        writeLine(io.stdout, terminalLine(`  ${finding.ok === true ? 'ok ' : finding.ok === false ? 'BAD' : 'n/a'}  ${finding.text}`));
        if (finding.next) writeLine(io.stdout, terminalLine(`       next: ${finding.next}; then run pushcast doctor again`));
      }
    }
  }
  return failed ? ExitCode.fatal : ExitCode.ok;
}

/**
 * The device registry, when there is one to check (a PostgreSQL URL, or an SQLite file that
 * exists): it answers, its schema is this pushcast's, and a send may read and write it.
 */
async function registryFindings(spec: string | undefined, io: CliIo): Promise<Finding[] | undefined> {
  const target = registryTarget(spec, io.cwd, io.env);
  if (!registryExists(target)) return undefined;
  try {
    const registry = await openRegistry(target, { migrate: false });
    try {
      return await registry.health();
    } finally {
      await registry.close();
    }
  } catch (error) {
    return [
      {
        ok: false,
        text: (error as Error).message,
        next: error instanceof RegistrySchemaError ? 'pushcast devices migrate --registry URL' : 'check the registry URL, the server and the network',
      },
    ];
  }
}

/**
 * Whether this machine trusts the TLS chain of the provider's host, through the config's ca where it
 * names one: a handshake, no request, within the config's request timeout. A name that does not
 * resolve throws (UnresolvedHostError), as the credential check would.
 */
async function trustFinding(descriptor: ProviderDescriptor, config: PushcastConfig): Promise<Finding | undefined> {
  const target = descriptor.doctor.tls?.host(config);
  if (!target) return undefined;
  await resolveHost(target.url, { setting: target.setting });
  const ca = config.ca ? readSecret('ca', config.ca) : undefined;
  const trust = await checkTlsTrust(target.url, { ca, timeoutMs: requestTimeoutMs(config) });
  const host = target.url.host;
  const label = `${descriptor.title} TLS:`;
  switch (trust.kind) {
    case 'trusted':
      return {
        ok: true,
        text: `${label} ${host} presents a chain this machine trusts (issuer ${trust.root}, through ${ca ? 'the file ca names' : "this machine's CA certificates"})`,
      };
    case 'untrusted': {
      const { why, next } = descriptor.doctor.tls!.untrusted(ca !== undefined);
      return { ok: false, text: `${label} this machine does not trust the chain ${host} presents (${trust.code}; it leads to ${trust.root}); ${why}`, next };
    }
    case 'unreachable':
      // Not a verdict on the chain: like a probe with no conclusive answer, it is unchecked.
      return {
        ok: 'unchecked',
        text: `${label} cannot reach ${host} (${trust.reason}): whether this machine trusts its chain is not known`,
        next: "check this machine's network, firewall and proxy",
      };
  }
}

function judgeProbe(descriptor: ProviderDescriptor, outcome: Outcome): Finding {
  const target = descriptor.validatesWithoutDelivery ? `${descriptor.title} (validate_only)` : `${descriptor.title}, to a token no device has,`;
  switch (outcome.kind) {
    case 'accepted':
    case 'invalid':
      return {
        ok: true,
        text: `${target} accepted the credentials${outcome.kind === 'invalid' ? ` and answered ${outcome.reason} for the made-up token, as expected` : ''}; nothing was delivered`,
      };
    case 'fatal':
      return { ok: false, text: `${target} refused: ${outcome.reason}: ${outcome.fix}` };
    case 'rejected':
      // A credential answer (401, 403) is marked wrongSender: the probe found what doctor is for.
      return {
        ok: false,
        text: outcome.wrongSender
          ? `${target} refused: ${outcome.detail ?? outcome.reason} (${outcome.reason}): ${outcome.wrongSender.fix}`
          : `${target} refused the probe message: ${outcome.detail ?? outcome.reason} (${outcome.reason})`,
      };
    default:
      return { ok: 'unchecked', text: `${target} did not answer conclusively (${outcome.reason}): try again` };
  }
}
