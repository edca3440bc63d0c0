/**
 * istio-semantics §10/§14: DestinationRule connectionPool and
 * outlierDetection, read from trafficPolicy.raw and validated as Istio's
 * webhook does.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { Reader, type Obj } from '../../src/loader/reader.js';
import { parseGoDuration, readConnectionPool, readOutlierDetection } from '../../src/loader/traffic-policy.js';
import { loadMesh } from '../../src/loader/load.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import { DEFAULT_CONNECTION_POOL, DEFAULT_OUTLIER_DETECTION, UNLIMITED, type ConnectionPool, type OutlierDetection } from '../../src/model/traffic-policy.js';

interface Read { cp: ConnectionPool; od: OutlierDetection | null; issues: IssueList }

/** A DestinationRule whose spec.trafficPolicy body is given; both readers run on it. */
function read(trafficPolicy: string): Read {
  const issues = new IssueList();
  const text = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: httpbin, namespace: default }
spec:
  host: httpbin
  trafficPolicy:
${trafficPolicy}`;
  const [doc] = parseYaml('dr.yaml', text, issues);
  if (!doc) throw new Error(`no document: ${issues.items.map((i) => i.message).join('; ')}`);
  const tp = ((doc.value as Obj)['spec'] as Obj)['trafficPolicy'] as Obj;
  const r = new Reader(doc, issues, 'DestinationRule default/httpbin');
  const path = ['spec', 'trafficPolicy'];
  return {
    cp: readConnectionPool(r, tp['connectionPool'], [...path, 'connectionPool']),
    od: readOutlierDetection(r, tp['outlierDetection'], [...path, 'outlierDetection']),
    issues,
  };
}

function found(r: Read): string[] {
  return r.issues.items.map((i) => `${i.severity}:${i.code}@${i.loc?.line ?? '?'}`);
}

/** The istio.io Circuit Breaking task's DestinationRule. */
const TASK = `    connectionPool:
      tcp:
        maxConnections: 1
      http:
        http1MaxPendingRequests: 1
        maxRequestsPerConnection: 1
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 3m
      maxEjectionPercent: 100
`;

describe('§10 DestinationRule circuit breaking', () => {
  it('§10 the Circuit Breaking task DestinationRule reads with Istio\'s defaults for the rest', () => {
    const r = read(TASK);
    expect(r.issues.items).toEqual([]);
    expect(r.cp).toEqual({ ...DEFAULT_CONNECTION_POOL, maxConnections: 1, http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 });
    expect(r.od).toEqual({ ...DEFAULT_OUTLIER_DETECTION, consecutive5xxErrors: 1, intervalMs: 1000, baseEjectionTimeMs: 180_000, maxEjectionPercent: 100 });
  });

  it('§10 defaults: thresholds 2^32−1, connectTimeout 10s, keep-alive unlimited; no outlierDetection = none at all', () => {
    const r = read('    tls: { mode: ISTIO_MUTUAL }\n');
    expect(r.cp).toEqual({
      maxConnections: UNLIMITED, connectTimeoutMs: 10_000, http1MaxPendingRequests: UNLIMITED, http2MaxRequests: UNLIMITED,
      maxRequestsPerConnection: 0, maxRetries: UNLIMITED, h2UpgradePolicy: 'DEFAULT',
    });
    expect(r.od).toBeNull();
  });

  it('§10 outlierDetection defaults: 5 consecutive 5xx, 10s interval, 30s base ejection, 10% max, gateway errors off', () => {
    const r = read('    outlierDetection: { minHealthPercent: 50 }\n');
    expect(r.od).toEqual({ consecutive5xxErrors: 5, consecutiveGatewayErrors: 0, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 10, minHealthPercent: 50 });
  });

  it('§10 all connection pool fields', () => {
    const r = read(`    connectionPool:
      tcp: { maxConnections: 100, connectTimeout: 30ms, tcpKeepalive: { time: 7200s, interval: 75s, probes: 9 }, idleTimeout: 0s }
      http: { http2MaxRequests: 1000, maxRequestsPerConnection: 10, maxRetries: 3, h2UpgradePolicy: UPGRADE, idleTimeout: 1h }
`);
    expect(r.issues.items).toEqual([]);
    expect(r.cp).toEqual({ ...DEFAULT_CONNECTION_POOL, maxConnections: 100, connectTimeoutMs: 30, http2MaxRequests: 1000, maxRequestsPerConnection: 10, maxRetries: 3, h2UpgradePolicy: 'UPGRADE' });
  });

  it('§10 0 leaves a threshold at Istio\'s default; consecutive5xxErrors 0 disables ejection', () => {
    const r = read(`    connectionPool:
      tcp: { maxConnections: 0 }
      http: { http1MaxPendingRequests: 0, http2MaxRequests: 0, maxRetries: 0 }
    outlierDetection: { consecutive5xxErrors: 0, consecutiveGatewayErrors: 3 }
`);
    expect(r.issues.items).toEqual([]);
    expect(r.cp).toEqual(DEFAULT_CONNECTION_POOL);
    expect(r.od).toMatchObject({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 3 });
  });

  it('§10 maxEjectionPercent 0 is the same as unset: 10%, with a warning', () => {
    const r = read('    outlierDetection: { maxEjectionPercent: 0 }\n');
    expect(r.od?.maxEjectionPercent).toBe(10);
    expect(found(r)).toEqual(['warning:dr-max-ejection-zero@7']);
  });
});

describe('§14 DestinationRule traffic policy validation', () => {
  it('§14 negative counts are rejected', () => {
    const r = read(`    connectionPool:
      tcp: { maxConnections: -1 }
      http: { http1MaxPendingRequests: -5 }
    outlierDetection: { consecutive5xxErrors: -1 }
`);
    expect(found(r)).toEqual(['error:dr-bad-count@8', 'error:dr-bad-count@9', 'error:dr-bad-count@10']);
    expect(r.cp).toEqual(DEFAULT_CONNECTION_POOL);
  });

  it('§14 counts must be integers', () => {
    expect(found(read('    connectionPool: { tcp: { maxConnections: "10" } }\n'))).toEqual(['error:field-type@7']);
    expect(found(read('    connectionPool: { tcp: { maxConnections: 2147483648 } }\n'))).toEqual(['error:dr-bad-count@7']);
  });

  it('§14 durations: at least 1ms, ms precision, with a unit', () => {
    const bad = (d: string): string[] => found(read(`    outlierDetection: { interval: ${d} }\n`));
    expect(bad('"10"')).toEqual(['error:dr-bad-duration@7']);
    expect(bad('10')).toEqual(['error:dr-bad-duration@7']);
    expect(bad('0s')).toEqual(['error:dr-bad-duration@7']);
    expect(bad('500us')).toEqual(['error:dr-bad-duration@7']);
    expect(bad('1.5ms')).toEqual(['error:dr-bad-duration@7']);
    expect(bad('-1s')).toEqual(['error:dr-bad-duration@7']);
    expect(bad('1m30s')).toEqual([]);
    expect(read('    outlierDetection: { baseEjectionTime: 1h30m }\n').od?.baseEjectionTimeMs).toBe(5_400_000);
  });

  it('§14 percents are 0..100', () => {
    expect(found(read('    outlierDetection: { maxEjectionPercent: 101 }\n'))).toEqual(['error:dr-bad-percent@7']);
    expect(found(read('    outlierDetection: { minHealthPercent: -1 }\n'))).toEqual(['error:dr-bad-percent@7']);
  });

  it('§14 a connection pool needs tcp or http', () => {
    expect(found(read('    connectionPool: {}\n'))).toEqual(['error:dr-empty-connection-pool@7']);
  });

  it('§14 h2UpgradePolicy UPGRADE with useClientProtocol is rejected; a bad enum too', () => {
    expect(found(read('    connectionPool: { http: { h2UpgradePolicy: UPGRADE, useClientProtocol: true } }\n'))).toEqual(['error:dr-h2-upgrade-client-protocol@7']);
    expect(found(read('    connectionPool: { http: { h2UpgradePolicy: ALWAYS } }\n'))).toEqual(['error:bad-enum@7']);
  });

  it('§14 consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors (and the split is not modeled)', () => {
    expect(found(read('    outlierDetection: { consecutiveLocalOriginFailures: 2 }\n'))).toEqual(['error:dr-local-origin-without-split@7']);
    expect(found(read('    outlierDetection: { consecutiveLocalOriginFailures: 2, splitExternalLocalOriginErrors: true }\n'))).toEqual(['warning:dr-not-modeled@7']);
  });

  it('§14 the deprecated consecutiveErrors is a warning and ignored', () => {
    const r = read('    outlierDetection: { consecutiveErrors: 3 }\n');
    expect(found(r)).toEqual(['warning:dr-deprecated-consecutive-errors@7']);
    expect(r.od).toEqual(DEFAULT_OUTLIER_DETECTION);
  });

  it('§14 misspelt fields are unknown-field errors, located at the key', () => {
    const r = read(`    connectionPool:
      tcp:
        maxConnection: 1
`);
    expect(found(r)).toEqual(['error:unknown-field@9']);
  });

  it('§14 a connectionPool that is not a mapping is a type error', () => {
    expect(found(read('    connectionPool: [1]\n'))).toEqual(['error:field-type@7']);
  });
});

describe('Go durations', () => {
  it('parses what Istio CRDs accept', () => {
    expect(parseGoDuration('30s')).toBe(30_000);
    expect(parseGoDuration('1m')).toBe(60_000);
    expect(parseGoDuration('100ms')).toBe(100);
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('1.5s')).toBe(1500);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('500us')).toBe(0.5);
    expect(parseGoDuration('10')).toBeNull();
    expect(parseGoDuration('1d')).toBeNull();
    expect(parseGoDuration('')).toBeNull();
  });
});

describe('Go durations (time.ParseDuration)', () => {
  it('microseconds are us, µs (U+00B5 micro sign) or μs (U+03BC Greek mu), alone or combined with other units', () => {
    expect(parseGoDuration('1500us')).toBe(1.5);
    expect(parseGoDuration('1500\u00b5s')).toBe(1.5);
    expect(parseGoDuration('1500\u03bcs')).toBe(1.5);
    expect(parseGoDuration('1ms500\u00b5s')).toBe(1.5);
    expect(parseGoDuration('1500xs')).toBeNull();
  });
});

describe('§14 trafficPolicy and portLevelSettings fields, and breakers the simulation does not read', () => {
  const loadDr = (trafficPolicy: string, extra = ''): string[] => {
    const text = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: httpbin, namespace: default }
spec:
  host: httpbin
  trafficPolicy:
${trafficPolicy}${extra}`;
    return loadMesh([{ path: 'dr.yaml', text }]).issues.items.filter((i) => i.code !== 'IST0174').map((i) => `${i.severity}:${i.code}@${i.loc?.line ?? '?'}`);
  };

  it('§14 a misspelt field of a trafficPolicy or of a port-level entry is an unknown-field error at its key, not dropped', () => {
    expect(loadDr('    tlss: { mode: DISABLE }\n')).toEqual(['error:unknown-field@7']);
    expect(loadDr('    portLevelSettings:\n    - port: { number: 80 }\n      connectionPol: { tcp: { maxConnections: 1 } }\n')).toEqual(['error:unknown-field@9']);
    // every field of Istio's API is taken
    expect(loadDr('    loadBalancer: { simple: ROUND_ROBIN }\n    tunnel: { protocol: CONNECT, targetHost: x, targetPort: 1 }\n    proxyProtocol: { version: V1 }\n    retryBudget: { percent: 20 }\n')).toEqual([]);
  });

  it('§14 a port-level connectionPool is validated as a top-level one, and said not to be simulated (warning at its key)', () => {
    expect(loadDr('    portLevelSettings:\n    - port: { number: 80 }\n      connectionPool: { tcp: { maxConnections: -1 } }\n')).toEqual(['error:dr-bad-count@9', 'warning:dr-breaker-not-modeled@9']);
    expect(loadDr('    portLevelSettings:\n    - port: { number: 80 }\n      outlierDetection: { consecutive5xxErrors: 1 }\n')).toEqual(['warning:dr-breaker-not-modeled@9']);
  });

  it('§14 a port-level port.number outside 1..65535 (0, 70000) is refused as Istio\'s validatePortSelector does, printed as written, at the number', () => {
    const tls = '      tls: { mode: ISTIO_MUTUAL }\n';
    expect(loadDr(`    portLevelSettings:\n    - port: { number: 0 }\n${tls}`)).toEqual(['error:bad-port@8']);
    expect(loadDr(`    portLevelSettings:\n    - port:\n        number: 70000\n${tls}`)).toEqual(['error:bad-port@9']);
    // in a subset's traffic policy as well
    expect(loadDr('    tls: { mode: ISTIO_MUTUAL }\n', `  subsets:\n  - name: v1\n    labels: { version: v1 }\n    trafficPolicy:\n      portLevelSettings:\n      - port: { number: 65536 }\n  ${tls}`))
      .toEqual(['error:bad-port@13']);
    const e = loadMesh([{ path: 'dr.yaml', text: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: httpbin, namespace: default }
spec:
  host: httpbin
  trafficPolicy:
    portLevelSettings:
    - port: { number: 0x11170 }
${tls}` }]).issues.errors[0];
    expect(e?.message).toContain('port number 0x11170 must be in the range 1..65535');
    expect(e?.loc?.col).toBe(23);
    expect(e?.hint).toContain('1 to 65535');
    expect(loadDr(`    portLevelSettings:\n    - port: { number: 65535 }\n${tls}    - port: { number: 1 }\n${tls}`)).toEqual([]);
  });

  it('§10 a subset\'s connectionPool is said not to be simulated (the top level applies to every call)', () => {
    expect(loadDr('    connectionPool: { tcp: { maxConnections: 5 } }\n', '  subsets:\n  - name: v1\n    labels: { version: v1 }\n    trafficPolicy:\n      connectionPool: { tcp: { maxConnections: 1 } }\n'))
      .toEqual(['warning:dr-breaker-not-modeled@12']);
  });
});

describe('§10 a port-level entry does not inherit the top-level circuit breaker', () => {
  it('a port entry with only tls, under a top-level connectionPool, is said to leave that port without a breaker in Istio', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: httpbin, namespace: default }
spec:
  host: httpbin
  trafficPolicy:
    connectionPool: { tcp: { maxConnections: 1 } }
    portLevelSettings:
    - port: { number: 80 }
      tls: { mode: ISTIO_MUTUAL }
`;
    const w = loadMesh([{ path: 'dr.yaml', text }]).issues.warnings.filter((i) => i.code === 'dr-breaker-not-modeled');
    expect(w.map((i) => i.loc?.line)).toEqual([9]);
    expect(w[0]?.message).toContain("port 80's entry replaces the whole traffic policy");
  });
});
