/**
 * A workload's app as a queueing station: `concurrency` requests served at
 * once, up to `queue` more waiting (FIFO); beyond that the app answers 503.
 * Service times are exponential with the workload's mean, from its own seeded
 * stream (product.md §2 `workloads:` facts, or `meshrange.io/*` annotations).
 */
export interface ServerFacts {
  serviceTimeMs: number;
  concurrency: number;
  queue: number;
}

export const DEFAULT_FACTS: ServerFacts = { serviceTimeMs: 1, concurrency: 64, queue: 1000 };

export class AppServer {
  busy = 0;
  private readonly waiting: (() => void)[] = [];
  private head = 0;

  constructor(readonly facts: ServerFacts) {}

  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** Admits a request: `start` runs now or when a slot frees; false when the queue is full. */
  admit(start: () => void): boolean {
    if (this.busy < this.facts.concurrency) {
      this.busy++;
      start();
      return true;
    }
    if (this.queued >= this.facts.queue) return false;
    this.waiting.push(start);
    return true;
  }

  /** A request finished: the next waiting one (if any) starts. */
  release(): void {
    if (this.head < this.waiting.length) {
      const next = this.waiting[this.head] as () => void;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      next();
      return;
    }
    this.busy--;
  }
}
