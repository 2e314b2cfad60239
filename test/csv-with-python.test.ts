import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guardFormula, unguardFormula } from '../src/audience/guard-formula.js';
import { csvLine } from '../src/report/csv.js';
import { ReportFiles } from '../src/report/report-files.js';
import { SanityGuard } from '../src/report/sanity-guard.js';
import { device } from './helpers/audience.js';
import { alphabet, generatedCells, hostileCells, runsAsFormula } from './helpers/hostile-cells.js';
import { readCsvWithPython } from './helpers/read-csv-python.js';
import { fcmToken, tempDir } from './helpers/tokens.js';

/** The CSV files pushcast writes, read by Python's csv module as the users' other tools would (a child process: the e2e tier). */
describe('the CSV files a campaign writes, read by Python', () => {
  it.each([
    ['commas', ','],
    ['semicolons', ';'],
    ['tabs', '\t'],
  ])('reads back every hostile cell as written, quoted or not (%s)', (_what, delimiter) => {
    const rows = [['provider', 'token', 'name'], ...[...hostileCells, ...generatedCells(alphabet, 2, 1000)].map((cell, index) => ['fcm', fcmToken(index), cell])];
    const path = join(tempDir(), 'again.csv');
    writeFileSync(path, rows.map((row, index) => csvLine(row, { delimiter, guarded: index === 0 ? undefined : new Set([2]) })).join(''));
    expect(readCsvWithPython(path, delimiter)).toEqual(rows.map((row, index) => (index === 0 ? row : [row[0], row[1], guardFormula(row[2])])));
  });

  it('reads a prune row with a hostile detail as one row that gives back the detail', async () => {
    const invalidOut = join(tempDir(), 'prune.csv');
    const files = new ReportFiles({ invalidOut, audience: { shape: 'devices', header: ['provider', 'token'], freeText: [] }, groupOf: new SanityGuard().heldBackGroup });
    hostileCells.forEach((detail, index) => {
      files.onFinal({
        kind: 'invalid',
        line: index + 2,
        provider: 'fcm',
        recipient: device('fcm', `hostile-${index}`, { userId: `u${index}` }),
        reason: 'unregistered',
        detail,
        attempts: 1,
      });
    });
    await files.finish({ withheld: new Set() });
    const rows = readCsvWithPython(invalidOut);
    expect(rows.map((row) => row.length)).toEqual(Array.from({ length: hostileCells.length + 1 }, () => 6));
    expect(rows.slice(1).map((row) => [row[1], row[2], unguardFormula(row[4])])).toEqual(hostileCells.map((detail, index) => [fcmToken(`hostile-${index}`), `u${index}`, detail]));
    expect(rows.slice(1).filter((row) => runsAsFormula(row[4]))).toEqual([]);
  });
});
