// Resolves a user-ID audience through the registry, as `pushcast send` does, without sending.
import { openAudience } from '../../dist/audience/read-audience.js';
import { DeviceRegistry } from '../../dist/registry/device-registry.js';
import { userResolver } from '../../dist/registry/resolve-users.js';
import { startMeasuring } from '../../dist/campaign/measure-resources.js';

const [db, file] = process.argv.slice(2);
const registry = DeviceRegistry.open(db);
const resolve = userResolver(registry);
const measure = startMeasuring();
let users = 0;
let devices = 0;
let unknown = 0;
for await (const row of (await openAudience({ path: file })).rows) {
  if (row.kind !== 'user') continue;
  users++;
  const found = resolve(row);
  if (Array.isArray(found)) devices += found.length;
  else unknown++;
}
registry.close();
process.stdout.write(JSON.stringify({ users, devices, unknown, ...measure() }));
