/** The item with the lowest load, the first of equals; undefined when there is none to choose. */
export function leastBusy<T>(items: Iterable<T>, load: (item: T) => number): T | undefined {
  let best: T | undefined;
  let bestLoad = Infinity;
  for (const item of items) {
    const itemLoad = load(item);
    if (itemLoad < bestLoad) [best, bestLoad] = [item, itemLoad];
  }
  return best;
}
