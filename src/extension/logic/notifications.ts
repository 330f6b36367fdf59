/** At most one notification per model and reason every few minutes. */
export class NotificationThrottle {
  private readonly last = new Map<string, number>();

  constructor(private readonly intervalMs = 5 * 60_000) {}

  /** True when a notice for (model, reason) may be shown at `now` (and records it). */
  allow(model: string, reason: 'threshold' | '429' | 'auth', now: number): boolean {
    const key = `${model}\u0000${reason}`;
    const prev = this.last.get(key);
    if (prev !== undefined && now - prev < this.intervalMs) return false;
    this.last.set(key, now);
    return true;
  }
}
