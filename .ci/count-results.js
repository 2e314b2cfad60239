// Prints vitest's JSON reports as the plain lines CI reads: one per runtime ("LABEL: N passed, N
// failed, N skipped", each failed test named under it), then the sum as "N passed, N failed, N
// skipped". Arguments: LABEL=FILE ... (a bare FILE is its own label). A runtime without results
// counts as one failure, and so does a test file that failed before any of its tests ran (an import
// that threw): no line hides either.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const firstLine = (text) =>
  String(text ?? 'no message')
    .split('\n')[0]
    .slice(0, 300);

const totals = { passed: 0, failed: 0, skipped: 0 };
let complete = true;
for (const argument of process.argv.slice(2)) {
  const at = argument.lastIndexOf('=');
  const [label, file] = at > 0 ? [argument.slice(0, at), argument.slice(at + 1)] : [argument, argument];
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.log(`${label}: no test results (${error.code ?? error.message}), counted as 1 failed`);
    totals.failed += 1;
    complete = false;
    continue;
  }
  const brokenFiles = (report.testResults ?? []).filter((file) => file.status === 'failed' && (file.assertionResults ?? []).length === 0);
  const counts = {
    passed: report.numPassedTests,
    failed: report.numFailedTests + brokenFiles.length,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
  };
  const broken = brokenFiles.length ? ` (${brokenFiles.length} of them test files that failed before their tests ran)` : '';
  console.log(`${label}: ${counts.passed} passed, ${counts.failed} failed${broken}, ${counts.skipped} skipped`);
  // Name each failure under its runtime's line: the end of the log is often all a reader gets.
  for (const testFile of report.testResults ?? []) {
    const path = relative(process.cwd(), testFile.name ?? '');
    const failures = (testFile.assertionResults ?? []).filter((test) => test.status === 'failed');
    if (failures.length === 0 && testFile.status === 'failed') console.log(`  failed: ${path}: ${firstLine(testFile.message)}`);
    for (const test of failures) console.log(`  failed: ${path} > ${test.fullName ?? test.title}: ${firstLine(test.failureMessages?.[0])}`);
  }
  if (report.numTotalTests === 0) complete = false;
  for (const key of Object.keys(totals)) totals[key] += counts[key];
}
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (!complete) process.exit(1);
