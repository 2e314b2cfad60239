import { InputError } from '../errors.js';
import type { DeviceRegistry } from '../registry/registry.js';
import { openRegistry, registryExists, registryTarget } from '../registry/open-registry.js';
import { writeNotice, type CliIo } from './io.js';

/**
 * The registry a `devices` command works on. `read`: it must exist (list, stats, export, prune
 * refuse to create an empty one and report 0 devices); `write`: created on first use; `update`:
 * it must exist, and its schema is brought up to date (devices set).
 */
export async function openRegistryFor(options: { registry?: string }, io: CliIo, access: 'read' | 'write' | 'update' = 'write'): Promise<DeviceRegistry> {
  const given = options.registry ?? io.env.PUSHCAST_REGISTRY;
  const target = registryTarget(given, io.cwd, io.env);
  if (access !== 'write' && !registryExists(target)) {
    throw new InputError(
      `no device registry at ${target.label}: import devices first (pushcast devices import FILE.csv)${given ? '' : ', or name the registry with --registry FILE'}`,
    );
  }
  return openRegistry(target, { migrate: access !== 'read', notice: (text) => writeNotice(io, text) });
}
