/**
 * Waits for a condition instead of for a time: polls `check` until it returns something other
 * than undefined or false, and fails with `what` if that takes longer than `timeoutMs`: a bound
 * for a condition that never comes, generous enough for a machine whose cores are both busy.
 */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
