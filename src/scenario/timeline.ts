/**
 * Outcomes over simulated time in equal buckets, per legitimate flow and per
 * load step: the data behind the TUI's sparklines. Recording draws no random
 * number and schedules nothing, so it cannot change a run.
 */
import type { Timeline, TimelineSeries } from './types.js';

/** Buckets across the run: enough for a sparkline on an 80-column screen. */
export const TIMELINE_BUCKETS = 40;

export class TimelineRecorder {
  readonly bucketMs: number;
  private readonly series = new Map<string, TimelineSeries>();

  constructor(endMs: number, private readonly buckets = TIMELINE_BUCKETS) {
    this.bucketMs = Math.max(1, Math.ceil(Math.max(endMs, 1) / buckets));
  }

  /** One answer to a request sent at simulated `t` ms (status null: the connection closed; a non-zero `grpcStatus`: a refused gRPC call, HTTP 200). */
  record(key: string, t: number, status: number | null, grpcStatus?: number): void {
    let s = this.series.get(key);
    if (!s) {
      const zeros = (): number[] => new Array<number>(this.buckets).fill(0);
      s = { key, ok: zeros(), throttled: zeros(), unavailable: zeros(), other: zeros() };
      this.series.set(key, s);
    }
    const i = Math.min(this.buckets - 1, Math.max(0, Math.floor(t / this.bucketMs)));
    const refusedGrpc = grpcStatus !== undefined && grpcStatus !== 0;
    const row = status !== null && status >= 200 && status < 400 && !refusedGrpc ? s.ok : status === 429 ? s.throttled : status === 503 ? s.unavailable : s.other;
    row[i] = (row[i] ?? 0) + 1;
  }

  /** The recorded series in the order they first appeared, or null when nothing was recorded. */
  result(): Timeline | null {
    return this.series.size === 0 ? null : { bucketMs: this.bucketMs, series: [...this.series.values()] };
  }
}
