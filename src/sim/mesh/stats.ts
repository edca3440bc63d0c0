import { byCodeUnit } from '../../core/text.js';

/** The texts of HTTP statuses, made once each (a flood records millions of answers). */
const STATUS_KEYS: string[] = [];

function statusKey(status: number | null): string {
  if (status === null) return 'closed';
  if (Number.isInteger(status) && status >= 0 && status < 1000) return (STATUS_KEYS[status] ??= String(status));
  return String(status);
}

/** Per-flow counters and latency percentiles for the report's traffic section. */
export class FlowStats {
  sent = 0;
  ok = 0;
  /** retries the client sidecars sent on top of `sent` (§3 step 7) */
  retries = 0;
  readonly statuses = new Map<string, number>();
  readonly stopped = new Map<string, number>();
  private latencies: number[] = [];
  /** latencies sorted, kept until the next record */
  private sorted: Float64Array | null = null;

  /** `grpcStatus`: a gRPC answer's grpc-status; a refused call is HTTP 200 with a non-zero one (7 PERMISSION_DENIED), not ok */
  record(status: number | null, latencyMs: number, stoppedBy?: string, retries = 0, grpcStatus?: number): void {
    this.sent++;
    this.retries += retries;
    if (status !== null && status >= 200 && status < 400 && (grpcStatus === undefined || grpcStatus === 0)) this.ok++;
    const key = statusKey(status);
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    if (stoppedBy) this.stopped.set(stoppedBy, (this.stopped.get(stoppedBy) ?? 0) + 1);
    this.latencies.push(latencyMs);
    this.sorted = null;
  }

  /** Nearest-rank percentile in ms, rounded to 0.1 ms; 0 when nothing was sent. */
  percentile(p: number): number {
    if (this.latencies.length === 0) return 0;
    this.sorted ??= Float64Array.from(this.latencies).sort();
    const sorted = this.sorted;
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return Math.round((sorted[i] as number) * 10) / 10;
  }

  errorRate(): number {
    return this.sent === 0 ? 0 : Math.round(((this.sent - this.ok) / this.sent) * 10_000) / 10_000;
  }

  histogram(): Record<string, number> {
    return Object.fromEntries([...this.statuses.entries()].sort(([a], [b]) => byCodeUnit(a, b)));
  }

  stoppedBy(): Record<string, number> {
    return Object.fromEntries([...this.stopped.entries()].sort(([a], [b]) => byCodeUnit(a, b)));
  }
}
