/** Answers seen in a scope before deciding whether its wrong-sender answers are universal… */
export const wrongSenderWindow = 20;
/** …and the fewest recipients that must all have one: an answer one or two rows get is theirs alone. */
export const wrongSenderMinimum = 3;

/** A scope's verdict: the answers held while deciding, and, when the sender is wrong, why and what to fix. */
export type Verdict<T> = { senderWrong: false; held: T[] } | { senderWrong: true; held: T[]; reason: string; fix: string };

interface Watch<T> {
  seen: number;
  marked: number;
  verdict?: 'sender' | 'recipients';
  held: T[];
  first?: { reason: string; fix: string };
}

/**
 * Tells a wrong sender from a few bad rows. Answers marked `wrongSender` with `when: 'all'` (a
 * refused credential, another app's topic) are held while the first answers of their scope come
 * in. If every one of those answers (at least `wrongSenderMinimum`) was marked, the sender is
 * wrong there: the held recipients and all later marked ones are not at fault, and the scope
 * stops. Otherwise each marked answer is its recipient's own outcome.
 *
 * A scope is a name the caller chooses: the whole provider, or one web push service's origin.
 */
export class WrongSenderJudge<T> {
  private readonly watches = new Map<string, Watch<T>>();

  constructor(private readonly onVerdict: (scope: string, verdict: Verdict<T>) => void) {}

  /** A marked answer: `held` until its scope is decided, then the scope's verdict for it. */
  marked(scope: string, item: T, reason: string, fix: string): 'held' | 'sender-wrong' | 'recipient-wrong' {
    const watch = this.watch(scope);
    if (watch.verdict) return watch.verdict === 'sender' ? 'sender-wrong' : 'recipient-wrong';
    watch.held.push(item);
    watch.first ??= { reason, fix };
    this.count(scope, watch, true);
    return 'held';
  }

  /** An answer with no such mark, heard in this scope: a sign the sender is right there. */
  unmarked(scope: string): void {
    const watch = this.watch(scope);
    if (!watch.verdict) this.count(scope, watch, false);
  }

  /** No more answers will come: the scopes still undecided are decided on what came. */
  decideAll(): void {
    for (const [scope, watch] of this.watches) if (!watch.verdict) this.decide(scope, watch);
  }

  private count(scope: string, watch: Watch<T>, marked: boolean): void {
    watch.seen++;
    if (marked) watch.marked++;
    if (watch.seen >= wrongSenderWindow) this.decide(scope, watch);
  }

  private decide(scope: string, watch: Watch<T>): void {
    const senderWrong = watch.seen >= wrongSenderMinimum && watch.marked === watch.seen && watch.first !== undefined;
    watch.verdict = senderWrong ? 'sender' : 'recipients';
    const held = watch.held.splice(0);
    this.onVerdict(scope, senderWrong ? { senderWrong, held, ...watch.first! } : { senderWrong, held });
  }

  private watch(scope: string): Watch<T> {
    let watch = this.watches.get(scope);
    if (!watch) this.watches.set(scope, (watch = { seen: 0, marked: 0, held: [] }));
    return watch;
  }
}
