import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder pushcast runs from, a global install's or a clone's: the files it ships are there, wherever that is. */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The sample campaign pushcast ships (package.json "files"): what demo sends to its emulator. */
export const bundledCampaign = { audience: join(packageRoot, 'fixtures/audience.csv'), message: join(packageRoot, 'fixtures/message.json') };

/** A project's files, as `pushcast init` writes them: what `pushcast emulator` suggests sending when they are there. */
export const projectFiles = { config: 'pushcast.config.json', message: 'message.json', audience: 'audience.csv' };

/** The JSON schema of the config file, for editors. */
export const configSchemaFile = join(packageRoot, 'schema/config-v1.schema.json');
