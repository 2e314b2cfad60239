import { execFileSync } from 'node:child_process';

const script = `
import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as file:
    print(json.dumps(list(csv.reader(file, delimiter=sys.argv[2]))))
`;

/** A CSV file's rows as Python's csv module reads them (as the users' other tools do), opened with newline="" as its documentation asks. */
export function readCsvWithPython(path: string, delimiter = ','): string[][] {
  return JSON.parse(execFileSync('python3', ['-c', script, path, delimiter], { encoding: 'utf8' })) as string[][];
}
