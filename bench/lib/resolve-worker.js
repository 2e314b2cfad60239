// Resolves a user-ID audience through the registry, as `pushcast send` does, without sending.
import { openAudience } from '../../dist/audience/read-audience.js';
import { SqliteRegistry } from '../../dist/registry/sqlite-registry.js';
import { resolveUsers } from '../../dist/registry/resolve-users.js';
import { startMeasuring } from '../../dist/campaign/measure-resources.js';

const [db, file] = process.argv.slice(2);
const registry = SqliteRegistry.open(db);
const measure = startMeasuring();
let users = 0;
let devices = 0;
let unknown = 0;
for await (const row of resolveUsers((await openAudience({ path: file })).rows, registry, { filter: {} })) {
  if (row.kind !== 'user') continue;
  users++;
  if (Array.isArray(row.devices)) devices += row.devices.length;
  else unknown++;
}
await registry.close();
process.stdout.write(JSON.stringify({ users, devices, unknown, ...measure() }));
