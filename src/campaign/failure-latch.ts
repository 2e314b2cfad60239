/** A failure of something a campaign depends on, told once to whoever listens, before or after it came. */
export class FailureLatch {
  private error: Error | undefined;
  private readonly listeners: Array<(error: Error) => void> = [];

  fail(error: Error): void {
    if (this.error) return;
    this.error = error;
    for (const listener of this.listeners) listener(error);
  }

  onFailure(listener: (error: Error) => void): void {
    if (this.error) listener(this.error);
    else this.listeners.push(listener);
  }
}
