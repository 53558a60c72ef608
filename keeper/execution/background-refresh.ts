/** Runs `refresh` now and then every `periodMs` until stopped; the timer never holds the process open. */
export class BackgroundRefresh {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly refresh: () => Promise<unknown>,
    private readonly periodMs: number,
  ) {}

  start(): void {
    if (this.timer) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
