/**
 * DestinationRule `connectionPool` and `outlierDetection` (istio-semantics
 * §10, §14), read from `trafficPolicy.raw` (or a subset's / port level
 * setting's) and validated as Istio's webhook does
 * (pkg/config/validation/validation.go validateConnectionPool /
 * validateOutlierDetection, and the CRD schema):
 *
 * - counts are integers, never negative, at most 2^31−1 (int32 fields) or
 *   2^32−1 (the UInt32 wrappers consecutive5xxErrors / consecutiveGatewayErrors);
 * - durations are Go-style strings (`30s`, `1m`, `100ms`, `1h30m`), at least
 *   1 ms and to ms precision ("only durations to ms precision are supported");
 *   `tcp.idleTimeout: 0s` is allowed (it disables the timeout);
 * - percents are 0..100;
 * - a connectionPool needs `tcp` or `http`; `h2UpgradePolicy: UPGRADE` with
 *   `useClientProtocol: true` is rejected; consecutiveLocalOriginFailures needs
 *   splitExternalLocalOriginErrors;
 * - fields outside the API are unknown-field errors (kubectl strict validation).
 *
 * How values become Envoy settings (pilot cluster_traffic_policy.go), which is
 * what the model stores:
 * - maxConnections, http1MaxPendingRequests, http2MaxRequests and maxRetries
 *   of 0 are "unset": the threshold stays at Istio's default 2^32−1;
 * - maxRequestsPerConnection 0 = unlimited;
 * - consecutive5xxErrors unset = Envoy's 5; an explicit 0 disables it;
 *   consecutiveGatewayErrors unset or 0 = disabled (Envoy does not enforce it);
 * - maxEjectionPercent 0 is indistinguishable from unset: Envoy's 10 applies
 *   (a warning says so);
 * - the deprecated consecutiveErrors is ignored by current Istio (warning).
 *
 * An absent connectionPool still yields the defaults (Istio always programs
 * its default thresholds); an absent outlierDetection yields null (the Envoy
 * cluster then has no outlier detection at all).
 */
import { DEFAULT_CONNECTION_POOL, DEFAULT_OUTLIER_DETECTION, UNLIMITED, type ConnectionPool, type H2UpgradePolicy, type OutlierDetection } from '../model/traffic-policy.js';
import { describe, fieldName, isObj, rejectUnknownFields, type Obj, type Reader } from './reader.js';
import type { Path } from './yaml-source.js';

const INT32_MAX = 2_147_483_647;
const H2_POLICIES: readonly string[] = ['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'];

const NS_PER_UNIT: Readonly<Record<string, number>> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * A Go `time.ParseDuration` string (what Istio's CRDs take: `30s`, `1m`,
 * `100ms`, `1h30m`, `1.5s`, `0`) in milliseconds, possibly fractional; null
 * when it is not one.
 */
export function parseGoDuration(text: string): number | null {
  let s = text.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return null;
  // µs as U+00B5 (micro sign) or U+03BC (Greek mu), written as escapes: the bundle stays ASCII (scripts/bundle.mjs)
  const re = /(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;
  let ns = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return null;
    ns += Number(m[1]) * (NS_PER_UNIT[m[2] as string] as number);
    pos = re.lastIndex;
  }
  return (sign * Math.round(ns)) / 1e6;
}

/** A non-negative integer field, or undefined when absent or invalid (the error is recorded). */
function count(r: Reader, parent: Obj, key: string, path: Path, max: number = INT32_MAX): number | undefined {
  const v = r.int(parent, key, path);
  if (v === undefined) return undefined;
  if (v < 0) {
    r.error([...path, key], 'dr-bad-count', `${fieldName([...path, key])} must not be negative, got ${v}`,
      `write a count of 0 or more (0 leaves Istio's default)`);
    return undefined;
  }
  if (v > max) {
    r.error([...path, key], 'dr-bad-count', `${fieldName([...path, key])} ${v} is larger than the largest allowed value ${max}`,
      'use a smaller number');
    return undefined;
  }
  return v;
}

/**
 * A duration field in ms, validated as Istio's ValidateDuration (>= 1 ms, ms
 * precision). `allowZero` for the fields where `0s` means "disabled".
 */
export function duration(r: Reader, parent: Obj, key: string, path: Path, allowZero = false, code = 'dr-bad-duration'): number | undefined {
  const v = parent[key];
  if (v === undefined || v === null) return undefined;
  const at = [...path, key];
  if (typeof v !== 'string') {
    r.error(at, code, `${fieldName(at)} must be a duration string like "30s", got ${describe(v)}`,
      `quote a duration with its unit, e.g. ${key}: 30s`);
    return undefined;
  }
  const ms = parseGoDuration(v);
  if (ms === null) {
    r.error(at, code, `${fieldName(at)} "${v}" is not a duration`,
      'write a number with a unit: ms, s, m or h (e.g. 100ms, 30s, 1m, 1h30m)');
    return undefined;
  }
  if (allowZero && ms === 0) return 0;
  if (ms < 1) {
    r.error(at, code, `${fieldName(at)} "${v}": duration must be greater than 1ms`, 'use a duration of at least 1ms');
    return undefined;
  }
  if (!Number.isInteger(ms)) {
    r.error(at, code, `${fieldName(at)} "${v}": only durations to ms precision are supported`,
      `round it to whole milliseconds, e.g. ${Math.round(ms)}ms`);
    return undefined;
  }
  return ms;
}

function percent(r: Reader, parent: Obj, key: string, path: Path): number | undefined {
  const v = r.int(parent, key, path);
  if (v === undefined) return undefined;
  if (v < 0 || v > 100) {
    r.error([...path, key], 'dr-bad-percent', `${fieldName([...path, key])}: percentage ${v} is not in range 0..100`,
      'write a whole percentage between 0 and 100');
    return undefined;
  }
  return v;
}

function mapping(r: Reader, raw: unknown, path: Path, what: string): Obj | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) {
    r.error(path, 'field-type', `${what} must be a mapping, got ${describe(raw)}`, `write ${what} as a mapping of its fields`);
    return undefined;
  }
  return raw;
}

/** `trafficPolicy.connectionPool` (raw value) → the cluster's circuit breaker settings, defaults filled in. */
export function readConnectionPool(r: Reader, raw: unknown, path: Path): ConnectionPool {
  const out: ConnectionPool = { ...DEFAULT_CONNECTION_POOL };
  const cp = mapping(r, raw, path, 'connectionPool');
  if (!cp) return out;
  rejectUnknownFields(r, cp, ['tcp', 'http'], path);
  const tcp = r.obj(cp, 'tcp', path);
  const http = r.obj(cp, 'http', path);
  if (!tcp && !http) {
    r.error(path, 'dr-empty-connection-pool', 'connection pool must have at least one field',
      'set connectionPool.tcp and/or connectionPool.http, or remove connectionPool');
  }
  if (tcp) {
    const tpath = [...path, 'tcp'];
    rejectUnknownFields(r, tcp, ['maxConnections', 'connectTimeout', 'tcpKeepalive', 'maxConnectionDuration', 'idleTimeout'], tpath);
    const maxConnections = count(r, tcp, 'maxConnections', tpath);
    if (maxConnections) out.maxConnections = maxConnections;
    const connectTimeout = duration(r, tcp, 'connectTimeout', tpath);
    if (connectTimeout !== undefined) out.connectTimeoutMs = connectTimeout;
    duration(r, tcp, 'maxConnectionDuration', tpath);
    duration(r, tcp, 'idleTimeout', tpath, true);
    const ka = r.obj(tcp, 'tcpKeepalive', tpath);
    if (ka) {
      const kpath = [...tpath, 'tcpKeepalive'];
      rejectUnknownFields(r, ka, ['probes', 'time', 'interval'], kpath);
      count(r, ka, 'probes', kpath, UNLIMITED);
      duration(r, ka, 'time', kpath);
      duration(r, ka, 'interval', kpath);
    }
  }
  if (http) {
    const hpath = [...path, 'http'];
    rejectUnknownFields(r, http, ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries',
      'idleTimeout', 'h2UpgradePolicy', 'useClientProtocol', 'maxConcurrentStreams'], hpath);
    const pending = count(r, http, 'http1MaxPendingRequests', hpath);
    if (pending) out.http1MaxPendingRequests = pending;
    const requests = count(r, http, 'http2MaxRequests', hpath);
    if (requests) out.http2MaxRequests = requests;
    const perConnection = count(r, http, 'maxRequestsPerConnection', hpath);
    if (perConnection !== undefined) out.maxRequestsPerConnection = perConnection;
    const retries = count(r, http, 'maxRetries', hpath);
    if (retries) out.maxRetries = retries;
    count(r, http, 'maxConcurrentStreams', hpath);
    duration(r, http, 'idleTimeout', hpath);
    const policy = r.str(http, 'h2UpgradePolicy', hpath);
    if (policy !== undefined) {
      if (H2_POLICIES.includes(policy)) out.h2UpgradePolicy = policy as H2UpgradePolicy;
      else r.error([...hpath, 'h2UpgradePolicy'], 'bad-enum', `h2UpgradePolicy "${policy}" is not one of ${H2_POLICIES.join(', ')}`);
    }
    const useClientProtocol = r.bool(http, 'useClientProtocol', hpath);
    if (policy === 'UPGRADE' && useClientProtocol === true) {
      r.error([...hpath, 'useClientProtocol'], 'dr-h2-upgrade-client-protocol', 'use client protocol must not be true when H2UpgradePolicy is UPGRADE',
        'drop useClientProtocol, or set h2UpgradePolicy to DEFAULT');
    }
  }
  return out;
}

/** `trafficPolicy.outlierDetection` (raw value) → settings with defaults, or null when absent. */
export function readOutlierDetection(r: Reader, raw: unknown, path: Path): OutlierDetection | null {
  const od = mapping(r, raw, path, 'outlierDetection');
  if (!od) return null;
  rejectUnknownFields(r, od, ['consecutiveErrors', 'consecutive5xxErrors', 'consecutiveGatewayErrors', 'splitExternalLocalOriginErrors',
    'consecutiveLocalOriginFailures', 'interval', 'baseEjectionTime', 'maxEjectionPercent', 'minHealthPercent'], path);
  const out: OutlierDetection = { ...DEFAULT_OUTLIER_DETECTION };
  const c5 = count(r, od, 'consecutive5xxErrors', path, UNLIMITED);
  if (c5 !== undefined) out.consecutive5xxErrors = c5;
  const gw = count(r, od, 'consecutiveGatewayErrors', path, UNLIMITED);
  if (gw !== undefined) out.consecutiveGatewayErrors = gw;
  if (od['consecutiveErrors'] !== undefined && od['consecutiveErrors'] !== null) {
    const ce = count(r, od, 'consecutiveErrors', path);
    if (ce !== undefined && ce !== 0) {
      r.warn([...path, 'consecutiveErrors'], 'dr-deprecated-consecutive-errors',
        'outlier detection consecutive errors is deprecated and ignored by current Istio',
        'use consecutive5xxErrors (any 5xx) or consecutiveGatewayErrors (502/503/504) instead');
    }
  }
  const split = r.bool(od, 'splitExternalLocalOriginErrors', path) ?? false;
  const local = count(r, od, 'consecutiveLocalOriginFailures', path, UNLIMITED);
  if (!split && local !== undefined && local > 0) {
    r.error([...path, 'consecutiveLocalOriginFailures'], 'dr-local-origin-without-split',
      'outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false',
      'set splitExternalLocalOriginErrors: true, or remove consecutiveLocalOriginFailures');
  }
  if (split) {
    r.warn([...path, 'splitExternalLocalOriginErrors'], 'dr-not-modeled',
      'splitExternalLocalOriginErrors is not modeled: connect failures are counted as 5xx (503), as without the split',
      'expect ejections from connect failures to follow consecutive5xxErrors in the simulation');
  }
  const interval = duration(r, od, 'interval', path);
  if (interval !== undefined) out.intervalMs = interval;
  const base = duration(r, od, 'baseEjectionTime', path);
  if (base !== undefined) out.baseEjectionTimeMs = base;
  const maxPct = percent(r, od, 'maxEjectionPercent', path);
  if (maxPct !== undefined) {
    if (maxPct === 0) {
      r.warn([...path, 'maxEjectionPercent'], 'dr-max-ejection-zero',
        'maxEjectionPercent 0 is the same as unset: Envoy uses its default of 10%',
        'to never eject, set consecutive5xxErrors: 0; to allow ejecting every host, set maxEjectionPercent: 100');
    } else out.maxEjectionPercent = maxPct;
  }
  const minHealth = percent(r, od, 'minHealthPercent', path);
  if (minHealth !== undefined) out.minHealthPercent = minHealth;
  return out;
}
