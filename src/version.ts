import { createRequire } from 'node:module';

/** pushcast's own version, from package.json: printed by --version and written into reports. */
export const pushcastVersion: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
