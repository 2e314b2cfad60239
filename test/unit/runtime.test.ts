// What differs by Node.js release: which SQLite driver the registry uses, and how a native module
// built for another Node.js is told.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, nativeModuleFailure } from '../../src/errors.js';
import { honoursSystemCaVariable } from '../../src/providers/http2/no-answer.js';
import { chosenSqliteDriver, openSqlite, quietBuiltinSqlite } from '../../src/registry/sqlite-driver.js';
import { tempDir } from '../helpers/tokens.js';

const major = Number(process.versions.node.split('.')[0]);

describe('the SQLite driver', () => {
  it('is the one PUSHCAST_SQLITE_DRIVER names, or none (the first that loads); another name is refused', () => {
    expect(chosenSqliteDriver({})).toBeUndefined();
    expect(chosenSqliteDriver({ PUSHCAST_SQLITE_DRIVER: 'better-sqlite3' })).toBe('better-sqlite3');
    expect(chosenSqliteDriver({ PUSHCAST_SQLITE_DRIVER: 'node:sqlite' })).toBe('node:sqlite');
    expect(() => chosenSqliteDriver({ PUSHCAST_SQLITE_DRIVER: 'sqlite3' })).toThrow(/PUSHCAST_SQLITE_DRIVER must be node:sqlite or better-sqlite3, not "sqlite3"/);
  });

  it("falls back to Node's own only where it is quiet: Node 24 and later (22 warns, 20 has none)", () => {
    expect(quietBuiltinSqlite(20)).toBe(false);
    expect(quietBuiltinSqlite(22)).toBe(false);
    expect(quietBuiltinSqlite(major)).toBe(major >= 24);
  });

  it('is better-sqlite3 where it loads, on every Node.js', () => {
    let loads = true;
    try {
      openSqlite(':memory:', 'better-sqlite3').close();
    } catch {
      loads = false; // an install without its build: test/install.test.ts covers what happens then
    }
    const db = openSqlite(':memory:');
    expect(db.driver).toBe(loads ? 'better-sqlite3' : 'node:sqlite');
    db.close();
  });

  it.runIf(major < 22)('node:sqlite asked for where Node.js has none is one line', () => {
    expect(() => openSqlite(':memory:', 'node:sqlite')).toThrow(ConfigError);
    expect(() => openSqlite(':memory:', 'node:sqlite')).toThrow(/has no node:sqlite: unset PUSHCAST_SQLITE_DRIVER/);
  });
});

describe('a native module that does not load in this Node.js', () => {
  it('built for another Node.js: one line naming the module, both versions and the fix (the words Node 24.22 gave for a build made on Node 20)', () => {
    const error = Object.assign(
      new Error(
        "The module '/srv/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 137. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).",
      ),
      { code: 'ERR_DLOPEN_FAILED' },
    );
    const failure = nativeModuleFailure(error);
    expect(failure).toBeInstanceOf(ConfigError);
    expect(failure!.message).toBe(
      `better-sqlite3 was built for another Node.js (module version 115; Node.js ${process.versions.node} needs 137): run npm rebuild better-sqlite3 where pushcast is installed`,
    );
  });

  it('that is no library at all (a truncated download): what dlopen said, and the fix', () => {
    const release = join(tempDir(), 'node_modules', '@scope', 'native', 'build', 'Release');
    mkdirSync(release, { recursive: true });
    const addon = join(release, 'native.node');
    writeFileSync(addon, 'not a shared object');
    let thrown: unknown;
    try {
      process.dlopen({ exports: {} }, addon);
    } catch (error) {
      thrown = error;
    }
    const failure = nativeModuleFailure(thrown);
    expect(failure?.message).toMatch(/^@scope\/native did not load \(.*native\.node.*\): run npm rebuild @scope\/native where pushcast is installed$/);
    expect(failure?.message).not.toMatch(/\n/);
  });

  it('leaves every other error alone: a bug is still told as a bug', () => {
    expect(nativeModuleFailure(new TypeError("Cannot read properties of undefined (reading 'token')"))).toBeUndefined();
    expect(nativeModuleFailure(undefined)).toBeUndefined();
  });
});

describe("the system's CA store", () => {
  it('is offered (NODE_USE_SYSTEM_CA=1) only where Node honours the variable: 22.19+ and 24.6+', () => {
    const offered = ['20.20.2', '22.18.0', '22.19.0', '23.11.0', '24.5.0', '24.6.0', '26.12.1'].filter((version) => honoursSystemCaVariable(version));
    expect(offered).toEqual(['22.19.0', '24.6.0', '26.12.1']);
  });
});
