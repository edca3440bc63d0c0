/**
 * networking.istio.io EnvoyFilter, as far as meshrange models it: the HTTP
 * local rate limit filter (istio-semantics §3, §10; the "Enabling Rate Limits
 * using Envoy" task). Everything else an EnvoyFilter patches is listed in
 * `notModeled`, one entry per patch, for the loader to warn about.
 *
 * Recognised patches
 * - `applyTo: HTTP_FILTER` with INSERT_BEFORE / INSERT_AFTER / INSERT_FIRST /
 *   ADD whose value's `typed_config` is the local rate limit, either
 *   `@type: type.googleapis.com/udpa.type.v1.TypedStruct` (or
 *   xds.type.v3.TypedStruct) with `type_url: …local_ratelimit.v3.LocalRateLimit`
 *   and the config under `value`, or the direct `@type: …LocalRateLimit` form.
 * - `applyTo: HTTP_ROUTE` / `VIRTUAL_HOST` MERGE patches whose
 *   `typed_per_filter_config` has the filter's name: the per-route variant.
 *   It is attached to the HTTP_FILTER patch of the same EnvoyFilter; without
 *   one (the filter would have to come from another EnvoyFilter) or when a
 *   second one appears, it is listed as not modeled.
 * Field names are accepted in proto snake_case and JSON lowerCamelCase.
 *
 * Validation: what Istio's webhook rejects (validation/envoyfilter:
 * missing applyTo, patch, operation, value for a non-REMOVE operation; bad
 * proxyVersion regex; a subFilter match without an HCM filter match or a
 * name; workloadSelector together with targetRefs) and what Envoy would NACK
 * in the rate limit config (stat_prefix required; max_tokens > 0;
 * tokens_per_fill > 0 when set, default 1; fill_interval required, a
 * protobuf JSON duration in seconds such as "60s", at least 50 ms; a per-route
 * config must have a token_bucket; percent numerators are non-negative
 * integers, denominators HUNDRED, TEN_THOUSAND or MILLION) are errors with
 * codes `ef-…`: a NACKed listener is never a silently partial limit (§14).
 *
 * Semantics kept for the simulator (Envoy local_ratelimit.cc):
 * filter_enabled / filter_enforced absent = 0% (disabled / only counted); a
 * numerator above its denominator is 100% (warning); `status.code` below 400
 * becomes 429. Fields that change behaviour but are not modeled (descriptors,
 * request_headers_to_add_when_not_enforced, …) are warnings.
 */
import {
  LOCAL_RATE_LIMIT_FILTER_NAME, LOCAL_RATE_LIMIT_TYPE_URL,
  type EnvoyFilterContext, type FilterPosition, type LocalRateLimit, type PerRouteRateLimit, type RateLimitSettings, type TokenBucketSpec,
} from '../model/envoy-filter.js';
import { compileRe2 } from '../core/re2.js';
import { ownValue, setOwn } from '../core/record.js';
import type { ObjectMeta } from '../model/types.js';
import { describe, fieldName, isObj, rejectUnknownFields, type Obj, type Reader } from './reader.js';
import type { Path } from './yaml-source.js';

export interface EnvoyFilterRead {
  rateLimits: LocalRateLimit[];
  /**
   * One entry per patch (or part) that is not modeled, starting with
   * `patch N` (N = index in spec.configPatches) or `spec.…`, e.g.
   * `patch 1 (applyTo CLUSTER, operation MERGE)`; the loader words it as
   * "EnvoyFilter ns/name: <entry> is not modeled".
   */
  notModeled: string[];
}

const APPLY_TO: readonly string[] = ['LISTENER', 'FILTER_CHAIN', 'NETWORK_FILTER', 'HTTP_FILTER', 'ROUTE_CONFIGURATION', 'VIRTUAL_HOST',
  'HTTP_ROUTE', 'CLUSTER', 'EXTENSION_CONFIG', 'BOOTSTRAP', 'LISTENER_FILTER'];
const OPERATIONS: readonly string[] = ['MERGE', 'ADD', 'REMOVE', 'INSERT_BEFORE', 'INSERT_AFTER', 'INSERT_FIRST', 'REPLACE'];
const CONTEXTS: readonly string[] = ['ANY', 'SIDECAR_INBOUND', 'SIDECAR_OUTBOUND', 'GATEWAY'];
const FILTER_CLASSES: readonly string[] = ['UNSPECIFIED', 'AUTHN', 'AUTHZ', 'STATS'];
const HCM_NAMES: readonly string[] = ['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager'];
const TYPED_STRUCT_URLS: readonly string[] = ['type.googleapis.com/udpa.type.v1.TypedStruct', 'type.googleapis.com/xds.type.v3.TypedStruct'];
const DENOMINATORS: Readonly<Record<string, number>> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };
const DENOMINATOR_BY_NUMBER: readonly string[] = ['HUNDRED', 'TEN_THOUSAND', 'MILLION'];
/** Envoy's StatusCode enum names a user may write instead of a number */
const STATUS_NAMES: Readonly<Record<string, number>> = {
  BadRequest: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, TooManyRequests: 429,
  InternalServerError: 500, BadGateway: 502, ServiceUnavailable: 503, GatewayTimeout: 504,
};
/** LocalRateLimit fields read here (snake_case) */
const MODELED_FIELDS: readonly string[] = ['stat_prefix', 'token_bucket', 'filter_enabled', 'filter_enforced', 'response_headers_to_add', 'status',
  'local_rate_limit_per_downstream_connection'];
/** LocalRateLimit fields that only tune stats or never change a verdict */
const HARMLESS_FIELDS: readonly string[] = ['stage', 'enable_x_ratelimit_headers', 'vh_rate_limits', 'rate_limited_as_resource_exhausted'];
const MIN_FILL_INTERVAL_MS = 50;

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The key under which `o` holds a proto field (snake_case or lowerCamelCase), or undefined. */
function keyOf(o: Obj, field: string): string | undefined {
  if (o[field] !== undefined) return field;
  const c = camel(field);
  return o[c] !== undefined ? c : undefined;
}

interface Field { value: unknown; path: Path }
function get(o: Obj, field: string, path: Path): Field | undefined {
  const k = keyOf(o, field);
  if (k === undefined || o[k] === null) return undefined;
  return { value: o[k], path: [...path, k] };
}

export function readEnvoyFilter(r: Reader, meta: ObjectMeta, obj: Obj): EnvoyFilterRead {
  const out: EnvoyFilterRead = { rateLimits: [], notModeled: [] };
  const spec = r.obj(obj, 'spec', []) ?? {};
  rejectUnknownFields(r, spec, ['workloadSelector', 'configPatches', 'priority', 'targetRefs'], ['spec']);
  const workloadSelector = readWorkloadSelector(r, spec);
  const targetRefs = r.arr(spec, 'targetRefs', ['spec']);
  if (targetRefs !== undefined && targetRefs.length > 0) {
    if (spec['workloadSelector'] !== undefined && spec['workloadSelector'] !== null) {
      r.error(['spec', 'targetRefs'], 'ef-selector-and-targetref', 'only one of targetRefs or workloadSelector can be set',
        'keep either spec.workloadSelector or spec.targetRefs');
    }
    out.notModeled.push('spec.targetRefs (attachment to gateways and waypoints)');
  }
  const priority = r.int(spec, 'priority', ['spec']) ?? 0;
  const patches = r.arr(spec, 'configPatches', ['spec']) ?? [];
  const named: Named[] = [];
  const routePatches: { index: number; settings: RateLimitSettings | null; value: PerRouteParts; filterName: string }[] = [];

  patches.forEach((raw, i) => {
    const path: Path = ['spec', 'configPatches', i];
    const patch = readPatchFrame(r, raw, path);
    if (!patch) return;
    const describeIt = `patch ${i} (applyTo ${patch.applyTo}, operation ${patch.operation})`;
    if (targetRefs !== undefined && targetRefs.length > 0) return; // the whole filter is listed once above
    if (patch.applyTo === 'HTTP_FILTER' && ['INSERT_BEFORE', 'INSERT_AFTER', 'INSERT_FIRST', 'ADD'].includes(patch.operation)) {
      const rl = readFilterPatch(r, meta, patch, path, i, workloadSelector, priority, out.notModeled);
      if (rl) named.push(rl);
      else if (rl === undefined) out.notModeled.push(describeIt);
      return;
    }
    if ((patch.applyTo === 'HTTP_ROUTE' || patch.applyTo === 'VIRTUAL_HOST') && patch.operation === 'MERGE' && patch.value) {
      const found = readPerRoutePatch(r, patch, path, i, out.notModeled);
      if (found) { routePatches.push({ index: i, ...found }); return; }
    }
    out.notModeled.push(describeIt);
  });

  for (const rp of routePatches) {
    const owner = named.find((rl) => rl.filterName === rp.filterName);
    if (!owner) {
      out.notModeled.push(`patch ${rp.index} (per-route local rate limit without an HTTP_FILTER patch inserting ${rp.filterName} in this EnvoyFilter)`);
      continue;
    }
    if (owner.perRoute) {
      out.notModeled.push(`patch ${rp.index} (a second per-route local rate limit for ${rp.filterName})`);
      continue;
    }
    if (!rp.settings || !rp.settings.bucket) continue; // already reported (ef-per-route-needs-bucket)
    const perRoute: PerRouteRateLimit = { ...rp.settings, bucket: rp.settings.bucket, level: rp.value.level, patchIndex: rp.index };
    if (rp.value.vhost !== undefined) perRoute.vhost = rp.value.vhost;
    if (rp.value.route !== undefined) perRoute.route = rp.value.route;
    if (rp.value.portNumber !== undefined) perRoute.portNumber = rp.value.portNumber;
    owner.perRoute = perRoute;
  }
  out.rateLimits = named.map(stripFilterName);
  return out;
}

/** the rate limits carry the Envoy filter name only while per-route patches are matched up */
type Named = LocalRateLimit & { filterName?: string };
function stripFilterName(rl: Named): LocalRateLimit {
  const { filterName: _unused, ...rest } = rl;
  return rest;
}

/** Istio compiles proxyVersion with Go's regexp: RE2 syntax (core/re2.ts), never a backtracking RegExp. */
function isValidRegex(text: string): boolean {
  return typeof compileRe2(text) !== 'string';
}

function readWorkloadSelector(r: Reader, spec: Obj): Record<string, string> | null {
  const ws = r.obj(spec, 'workloadSelector', ['spec']);
  if (!ws) return null;
  rejectUnknownFields(r, ws, ['labels'], ['spec', 'workloadSelector']);
  const labels = r.labels(ws, 'labels', ['spec', 'workloadSelector']);
  if (!labels || Object.keys(labels).length === 0) {
    r.warn(['spec', 'workloadSelector'], 'ef-selector-without-labels',
      'workload selector specified without labels, will be applied to all services in namespace',
      'add workloadSelector.labels for the pods to patch, or remove workloadSelector');
    return null;
  }
  for (const [k, v] of Object.entries(labels)) {
    if (k === '' || k.includes('*') || v.includes('*')) {
      r.error(['spec', 'workloadSelector', 'labels', k], 'ef-bad-selector', `wildcard or empty key is not supported in selector: "${k}=${v}"`,
        'select pods by exact label values');
    }
  }
  return labels;
}

interface PatchFrame {
  applyTo: string;
  operation: string;
  context: EnvoyFilterContext;
  match: Obj | undefined;
  value: Obj | undefined;
  filterClass: string | undefined;
}

/** The parts of a patch every applyTo shares, validated as Istio's webhook does. */
function readPatchFrame(r: Reader, raw: unknown, path: Path): PatchFrame | undefined {
  if (raw === null || raw === undefined) { r.error(path, 'ef-null-patch', 'Envoy filter: null config patch', 'remove the empty list item'); return undefined; }
  if (!isObj(raw)) { r.error(path, 'field-type', `each config patch must be a mapping, got ${describe(raw)}`); return undefined; }
  rejectUnknownFields(r, raw, ['applyTo', 'match', 'patch'], path);
  const applyTo = r.str(raw, 'applyTo', path);
  if (applyTo === undefined || applyTo === 'INVALID') {
    r.error(path, 'ef-missing-apply-to', 'Envoy filter: missing applyTo', `set applyTo to one of ${APPLY_TO.join(', ')}`);
    return undefined;
  }
  if (!APPLY_TO.includes(applyTo)) { r.error([...path, 'applyTo'], 'bad-enum', `applyTo "${applyTo}" is not one of ${APPLY_TO.join(', ')}`); return undefined; }
  const patch = r.obj(raw, 'patch', path);
  if (!patch) { r.error(path, 'ef-missing-patch', 'Envoy filter: missing patch', 'add patch.operation and patch.value'); return undefined; }
  rejectUnknownFields(r, patch, ['operation', 'value', 'filterClass'], [...path, 'patch']);
  const operation = r.str(patch, 'operation', [...path, 'patch']);
  if (operation === undefined || operation === 'INVALID') {
    r.error([...path, 'patch'], 'ef-missing-operation', 'Envoy filter: missing patch operation', `set patch.operation to one of ${OPERATIONS.join(', ')}`);
    return undefined;
  }
  if (!OPERATIONS.includes(operation)) {
    r.error([...path, 'patch', 'operation'], 'bad-enum', `operation "${operation}" is not one of ${OPERATIONS.join(', ')}`);
    return undefined;
  }
  const value = r.obj(patch, 'value', [...path, 'patch']);
  if (operation !== 'REMOVE' && !value) {
    r.error([...path, 'patch'], 'ef-missing-value', 'Envoy filter: missing patch value for non-remove operation', 'add patch.value');
    return undefined;
  }
  const filterClass = r.str(patch, 'filterClass', [...path, 'patch']);
  if (filterClass !== undefined && !FILTER_CLASSES.includes(filterClass)) {
    r.error([...path, 'patch', 'filterClass'], 'bad-enum', `filterClass "${filterClass}" is not one of ${FILTER_CLASSES.join(', ')}`);
  }
  const match = r.obj(raw, 'match', path);
  let context: EnvoyFilterContext = 'ANY';
  if (match) {
    rejectUnknownFields(r, match, ['context', 'proxy', 'listener', 'routeConfiguration', 'cluster'], [...path, 'match']);
    const c = r.str(match, 'context', [...path, 'match']);
    if (c !== undefined) {
      if (CONTEXTS.includes(c)) context = c as EnvoyFilterContext;
      else r.error([...path, 'match', 'context'], 'bad-enum', `context "${c}" is not one of ${CONTEXTS.join(', ')}`);
    }
    const proxy = r.obj(match, 'proxy', [...path, 'match']);
    const version = proxy ? r.str(proxy, 'proxyVersion', [...path, 'match', 'proxy']) : undefined;
    if (version !== undefined && version !== '' && !isValidRegex(version)) {
      r.error([...path, 'match', 'proxy', 'proxyVersion'], 'ef-bad-proxy-version', `Envoy filter: invalid regex for proxy version "${version}"`,
        'write a regular expression matching Istio versions, e.g. ^1\\.2[0-9].*');
      return undefined;
    }
    const kinds = ['listener', 'routeConfiguration', 'cluster'].filter((k) => match[k] !== undefined && match[k] !== null);
    const listenerClass = ['LISTENER', 'FILTER_CHAIN', 'NETWORK_FILTER', 'HTTP_FILTER'].includes(applyTo);
    const routeClass = ['ROUTE_CONFIGURATION', 'VIRTUAL_HOST', 'HTTP_ROUTE'].includes(applyTo);
    if (kinds.length > 0 && listenerClass && !kinds.includes('listener')) {
      r.error([...path, 'match'], 'ef-match-mismatch', 'Envoy filter: applyTo for listener class objects cannot have non listener match', 'match on listener');
      return undefined;
    }
    if (kinds.length > 0 && routeClass && !kinds.includes('routeConfiguration')) {
      r.error([...path, 'match'], 'ef-match-mismatch', 'Envoy filter: applyTo for http route class objects cannot have non route configuration match',
        'match on routeConfiguration');
      return undefined;
    }
    if (kinds.length > 0 && applyTo === 'CLUSTER' && !kinds.includes('cluster')) {
      r.error([...path, 'match'], 'ef-match-mismatch', 'Envoy filter: applyTo for cluster class objects cannot have non cluster match', 'match on cluster');
      return undefined;
    }
    if (listenerClass && !checkFilterMatch(r, match, applyTo, [...path, 'match'])) return undefined;
  }
  return { applyTo, operation, context, match, value, filterClass };
}

/** A listener filter/subFilter match, as the webhook checks it. */
function checkFilterMatch(r: Reader, match: Obj, applyTo: string, path: Path): boolean {
  const listener = isObj(match['listener']) ? match['listener'] : undefined;
  const fc = listener && isObj(listener['filterChain']) ? listener['filterChain'] : undefined;
  const filter = fc && isObj(fc['filter']) ? fc['filter'] : undefined;
  if (!filter) return true;
  const fpath = [...path, 'listener', 'filterChain', 'filter'];
  const name = typeof filter['name'] === 'string' ? filter['name'] : '';
  if (name === '') {
    r.error(fpath, 'ef-filter-match-no-name', 'Envoy filter: filter match has no name to match on', 'name the network filter, e.g. envoy.filters.network.http_connection_manager');
    return false;
  }
  const sub = isObj(filter['subFilter']) ? filter['subFilter'] : undefined;
  if (sub) {
    if (applyTo !== 'HTTP_FILTER') {
      r.error([...fpath, 'subFilter'], 'ef-subfilter-match', 'Envoy filter: subfilter match can be used with applyTo HTTP_FILTER only', 'remove subFilter');
      return false;
    }
    if (!HCM_NAMES.includes(name)) {
      r.error([...fpath, 'name'], 'ef-subfilter-match', `Envoy filter: subfilter match requires filter match with ${HCM_NAMES[0] as string}`,
        `set filter.name: ${HCM_NAMES[0] as string}`);
      return false;
    }
    if (typeof sub['name'] !== 'string' || sub['name'] === '') {
      r.error([...fpath, 'subFilter'], 'ef-subfilter-match', 'Envoy filter: subfilter match has no name to match on', 'name the HTTP filter, e.g. envoy.filters.http.router');
      return false;
    }
  }
  return true;
}

/**
 * An HTTP_FILTER insert. Returns the rate limit; null when it is a local rate
 * limit that cannot work (errors were recorded, or it can never be applied);
 * undefined when the patch is something else (not modeled).
 */
function readFilterPatch(r: Reader, meta: ObjectMeta, patch: PatchFrame, path: Path, index: number,
  workloadSelector: Record<string, string> | null, priority: number, notModeled: string[]): Named | null | undefined {
  const value = patch.value as Obj;
  const vpath: Path = [...path, 'patch', 'value'];
  const typed = get(value, 'typed_config', vpath);
  if (!typed || !isObj(typed.value)) return undefined;
  const cfg = unwrapTypedConfig(r, typed.value, typed.path);
  if (!cfg) return undefined;
  const filterName = typeof value['name'] === 'string' && value['name'] !== '' ? value['name'] : LOCAL_RATE_LIMIT_FILTER_NAME;

  const listener = patch.match && isObj(patch.match['listener']) ? patch.match['listener'] : undefined;
  const fc = listener && isObj(listener['filterChain']) ? listener['filterChain'] : undefined;
  const filter = fc && isObj(fc['filter']) ? fc['filter'] : undefined;
  const networkFilter = filter && typeof filter['name'] === 'string' ? filter['name'] : undefined;
  if (networkFilter !== undefined && !HCM_NAMES.includes(networkFilter)) {
    r.warn([...path, 'match', 'listener', 'filterChain', 'filter', 'name'], 'ef-never-applies',
      `HTTP filters live in the HTTP connection manager; a match on network filter "${networkFilter}" never applies this patch`,
      `match filter.name: ${HCM_NAMES[0] as string}`);
    notModeled.push(`patch ${index} (HTTP_FILTER matching network filter ${networkFilter}, which never applies)`);
    return null;
  }
  const sub = filter && isObj(filter['subFilter']) && typeof filter['subFilter']['name'] === 'string' ? filter['subFilter']['name'] : null;
  let position: FilterPosition;
  let relativeTo: string | null = null;
  switch (patch.operation) {
    case 'INSERT_FIRST': position = 'front'; break;
    case 'INSERT_BEFORE': position = sub ? 'before' : 'front'; relativeTo = sub; break;
    case 'INSERT_AFTER': position = sub ? 'after' : 'end'; relativeTo = sub; break;
    default: position = 'end';
  }
  if (position === 'end' || (position === 'after' && relativeTo === 'envoy.filters.http.router')) {
    r.warn([...path, 'patch', 'operation'], 'ef-never-applies',
      `${patch.operation}${relativeTo ? ` after ${relativeTo}` : ' without a subFilter match'} puts the filter after the router, which ends the HTTP filter chain: Envoy refuses such a listener, so this rate limit never applies`,
      'use INSERT_BEFORE with subFilter envoy.filters.http.router (after RBAC), or INSERT_FIRST (before JWT and RBAC)');
  }
  if (patch.filterClass !== undefined && patch.filterClass !== 'UNSPECIFIED') {
    r.warn([...path, 'patch', 'filterClass'], 'ef-field-not-modeled',
      `filterClass ${patch.filterClass} is not modeled: the filter's place follows operation and subFilter only`,
      'use INSERT_BEFORE/INSERT_AFTER with a subFilter match to place the filter explicitly');
  }

  const settings = readRateLimitConfig(r, cfg.config, cfg.path, false);
  if (!settings) return null;
  if (patch.context === 'GATEWAY') {
    // not silently: the simulation applies a proxy's inbound rate limits where a request ends, and a request a
    // gateway forwards ends at the workload behind it
    r.warn([...path, 'match', 'context'], 'ef-gateway-not-simulated',
      'a GATEWAY rate limit is not simulated on the requests the gateway forwards (only where a gateway itself is the last hop): ingress floods meet no limit here',
      'to see a rate limit hold in a flood scenario, put it on the workloads behind the gateway (SIDECAR_INBOUND)');
  }
  const portNumber = listener ? r.int(listener, 'portNumber', [...path, 'match', 'listener']) : undefined;
  const rl: Named = {
    meta,
    workloadSelector,
    context: patch.context,
    priority,
    patchIndex: index,
    position,
    relativeTo,
    statPrefix: settings.statPrefix,
    bucket: settings.bucket,
    filterEnabledPercent: settings.filterEnabledPercent,
    filterEnforcedPercent: settings.filterEnforcedPercent,
    status: settings.status,
    responseHeaders: settings.responseHeaders,
    filterName,
  };
  if (portNumber !== undefined && portNumber !== 0) rl.portNumber = portNumber;
  if (settings.perDownstreamConnection) rl.perDownstreamConnection = true;
  return rl;
}

interface PerRouteParts { level: 'VIRTUAL_HOST' | 'HTTP_ROUTE'; vhost?: string; route?: string; portNumber?: number }

/** An HTTP_ROUTE / VIRTUAL_HOST MERGE carrying a local rate limit in typed_per_filter_config, or undefined. */
function readPerRoutePatch(r: Reader, patch: PatchFrame, path: Path, index: number, notModeled: string[]):
  { settings: RateLimitSettings | null; value: PerRouteParts; filterName: string } | undefined {
  const value = patch.value as Obj;
  const vpath: Path = [...path, 'patch', 'value'];
  const tpfc = get(value, 'typed_per_filter_config', vpath);
  if (!tpfc || !isObj(tpfc.value)) return undefined;
  let found: { settings: RateLimitSettings | null; filterName: string } | undefined;
  const unmodeled: string[] = [];
  for (const [name, typed] of Object.entries(tpfc.value)) {
    const tpath = [...tpfc.path, name];
    const cfg = isObj(typed) ? unwrapTypedConfig(r, typed, tpath) : undefined;
    if (!cfg) { unmodeled.push(`patch ${index} (typed_per_filter_config for ${name})`); continue; }
    if (found) { unmodeled.push(`patch ${index} (a second local rate limit in typed_per_filter_config: ${name})`); continue; }
    const s = readRateLimitConfig(r, cfg.config, cfg.path, true);
    found = { settings: s, filterName: name };
  }
  if (!found) return undefined; // the whole patch is listed as not modeled by the caller
  notModeled.push(...unmodeled);
  const others = Object.keys(value).filter((k) => snake(k) !== 'typed_per_filter_config');
  if (others.length > 0) notModeled.push(`patch ${index} (route fields ${others.join(', ')})`);
  const parts: PerRouteParts = { level: patch.applyTo as 'VIRTUAL_HOST' | 'HTTP_ROUTE' };
  const rc = patch.match && isObj(patch.match['routeConfiguration']) ? patch.match['routeConfiguration'] : undefined;
  if (rc) {
    const rpath: Path = [...path, 'match', 'routeConfiguration'];
    const port = r.int(rc, 'portNumber', rpath);
    if (port !== undefined && port !== 0) parts.portNumber = port;
    const vh = r.obj(rc, 'vhost', rpath);
    if (vh) {
      const name = r.str(vh, 'name', [...rpath, 'vhost']);
      if (name !== undefined && name !== '') parts.vhost = name;
      const route = r.obj(vh, 'route', [...rpath, 'vhost']);
      const routeName = route ? r.str(route, 'name', [...rpath, 'vhost', 'route']) : undefined;
      if (routeName !== undefined && routeName !== '') parts.route = routeName;
      // Requests meet per-route configs on Istio's virtual host names (inbound|http|<port>, <host>:<port>) and route `default`.
      if (parts.vhost !== undefined && !/^inbound\|http\|\d{1,5}$/.test(parts.vhost) && !/^[^\s:|]+:\d{1,5}$/.test(parts.vhost)) {
        r.warn([...rpath, 'vhost', 'name'], 'ef-per-route-unmatched',
          `per-route local rate limit on virtual host "${parts.vhost}": that is neither an inbound (inbound|http|<port>) nor an outbound (<host>:<port>) virtual host name, so no request meets this override`,
          'name the virtual host as Istio does, e.g. inbound|http|9080 or reviews.bookinfo.svc.cluster.local:9080');
      }
      if (parts.route !== undefined && parts.route !== 'default') {
        r.warn([...rpath, 'vhost', 'route', 'name'], 'ef-per-route-unmatched',
          `per-route local rate limit on route "${parts.route}": meshrange gives requests Istio's route name \`default\` only (VirtualService route names are not modeled), so no request meets this override`,
          'match the route by action (route: {action: ANY}) or name default');
      }
    }
  }
  return { settings: found.settings, value: parts, filterName: found.filterName };
}

/** `typed_config` → the LocalRateLimit config object, or undefined when it is another filter. */
function unwrapTypedConfig(r: Reader, typed: Obj, path: Path): { config: Obj; path: Path } | undefined {
  const type = typed['@type'];
  if (typeof type !== 'string') return undefined;
  if (TYPED_STRUCT_URLS.includes(type)) {
    const url = get(typed, 'type_url', path);
    if (!url || url.value !== LOCAL_RATE_LIMIT_TYPE_URL) return undefined;
    const v = get(typed, 'value', path);
    if (!v) return { config: {}, path: [...path, 'value'] };
    if (!isObj(v.value)) {
      r.error(v.path, 'field-type', `the TypedStruct value must be a mapping, got ${describe(v.value)}`, 'write the LocalRateLimit fields under value:');
      return undefined;
    }
    return { config: v.value, path: v.path };
  }
  if (type === LOCAL_RATE_LIMIT_TYPE_URL) {
    const { '@type': _t, ...rest } = typed;
    return { config: rest, path };
  }
  return undefined;
}

interface ReadSettings extends RateLimitSettings { statPrefix: string; perDownstreamConnection: boolean }

/** The LocalRateLimit proto (Envoy local_ratelimit.proto), null when Envoy would reject it. */
function readRateLimitConfig(r: Reader, c: Obj, path: Path, perRoute: boolean): ReadSettings | null {
  let ok = true;
  for (const key of Object.keys(c)) {
    const s = snake(key);
    if (MODELED_FIELDS.includes(s) || HARMLESS_FIELDS.includes(s)) continue;
    r.warn([...path, key], 'ef-field-not-modeled', `local rate limit field ${key} is not modeled`,
      'the simulation applies only the token bucket, filter_enabled/filter_enforced, status and response headers');
  }
  const sp = get(c, 'stat_prefix', path);
  const statPrefix = sp && typeof sp.value === 'string' ? sp.value : '';
  if (statPrefix === '') {
    r.error(sp?.path ?? path, 'ef-missing-stat-prefix', 'local rate limit: stat_prefix is required (Envoy rejects the config without it)',
      'add stat_prefix: http_local_rate_limiter');
    ok = false;
  }
  let bucket: TokenBucketSpec | null = null;
  const tb = get(c, 'token_bucket', path);
  if (tb) {
    bucket = readBucket(r, tb.value, tb.path);
    if (!bucket) ok = false;
  } else if (perRoute) {
    r.error(path, 'ef-per-route-needs-bucket', 'local rate limit: a per-route config must have a token_bucket (Envoy rejects it otherwise)',
      'add token_bucket {max_tokens, tokens_per_fill, fill_interval} to the per-route config');
    ok = false;
  }
  const enabled = readPercent(r, c, 'filter_enabled', path);
  const enforced = readPercent(r, c, 'filter_enforced', path);
  if (enabled === null || enforced === null) ok = false;
  const status = readStatus(r, c, path);
  if (status === null) ok = false;
  const headers = readHeaders(r, c, path);
  const perConn = get(c, 'local_rate_limit_per_downstream_connection', path);
  if (perConn && typeof perConn.value !== 'boolean') {
    r.error(perConn.path, 'field-type', `local_rate_limit_per_downstream_connection must be true or false, got ${describe(perConn.value)}`);
  }
  if (!ok) return null;
  return {
    statPrefix,
    bucket,
    filterEnabledPercent: enabled ?? 0,
    filterEnforcedPercent: enforced ?? 0,
    status: status ?? 429,
    responseHeaders: headers,
    perDownstreamConnection: perConn?.value === true,
  };
}

function uint(r: Reader, o: Obj, field: string, path: Path, code: string, hint: string): number | null | undefined {
  const f = get(o, field, path);
  if (!f) return undefined;
  let v = f.value;
  if (typeof v === 'string' && /^\d+$/.test(v)) v = Number(v); // proto JSON allows quoted integers
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 4_294_967_295) {
    r.error(f.path, code, `${fieldName(f.path)} must be a non-negative integer, got ${describe(f.value)}`, hint);
    return null;
  }
  return v;
}

function readBucket(r: Reader, raw: unknown, path: Path): TokenBucketSpec | null {
  if (!isObj(raw)) {
    r.error(path, 'ef-bad-bucket', `token_bucket must be a mapping, got ${describe(raw)}`, 'write token_bucket: {max_tokens: 4, tokens_per_fill: 4, fill_interval: 60s}');
    return null;
  }
  const hint = 'token_bucket takes max_tokens (> 0), tokens_per_fill (> 0, default 1) and fill_interval (e.g. 60s)';
  const maxTokens = uint(r, raw, 'max_tokens', path, 'ef-bad-bucket', hint);
  const perFill = uint(r, raw, 'tokens_per_fill', path, 'ef-bad-bucket', hint);
  let ok = maxTokens !== null && perFill !== null;
  if (maxTokens === undefined || maxTokens === 0) {
    r.error(keyOf(raw, 'max_tokens') ? [...path, keyOf(raw, 'max_tokens') as string] : path, 'ef-bad-bucket',
      'token_bucket.max_tokens must be greater than 0', hint);
    ok = false;
  }
  if (perFill === 0) {
    r.error([...path, keyOf(raw, 'tokens_per_fill') as string], 'ef-bad-bucket', 'token_bucket.tokens_per_fill must be greater than 0 when set', hint);
    ok = false;
  }
  const fi = get(raw, 'fill_interval', path);
  let fillIntervalMs: number | null = null;
  if (!fi) {
    r.error(path, 'ef-bad-interval', 'token_bucket.fill_interval is required', 'add fill_interval, e.g. fill_interval: 60s');
  } else {
    fillIntervalMs = protoDurationMs(fi.value);
    if (fillIntervalMs === null) {
      r.error(fi.path, 'ef-bad-interval', `fill_interval ${describe(fi.value)} is not a protobuf duration`,
        'write it in seconds with an s suffix, e.g. 60s or 0.5s (protobuf JSON durations take no other unit)');
    } else if (fillIntervalMs < MIN_FILL_INTERVAL_MS) {
      r.error(fi.path, 'ef-bad-interval', `fill_interval ${String(fi.value)} is shorter than the 50ms Envoy requires`,
        'use a fill_interval of at least 50ms (0.05s)');
      fillIntervalMs = null;
    }
  }
  if (!ok || fillIntervalMs === null || maxTokens === undefined || maxTokens === null || perFill === null) return null;
  return { maxTokens, tokensPerFill: perFill ?? 1, fillIntervalMs };
}

/** A protobuf JSON Duration ("60s", "0.5s", "-1s") in ms, or null. */
export function protoDurationMs(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(v.trim());
  if (!m) return null;
  const ms = Number(m[2]) * 1000 + Number(`0.${m[3] ?? '0'}`) * 1000;
  return m[1] === '-' ? -ms : ms;
}

/** RuntimeFractionalPercent → percent; undefined when absent (0%), null when invalid. */
function readPercent(r: Reader, c: Obj, field: string, path: Path): number | null | undefined {
  const f = get(c, field, path);
  if (!f) return undefined;
  const hint = `write ${field}: {runtime_key: ..., default_value: {numerator: 100, denominator: HUNDRED}}`;
  if (!isObj(f.value)) { r.error(f.path, 'ef-bad-percent', `${field} must be a mapping, got ${describe(f.value)}`, hint); return null; }
  const dv = get(f.value, 'default_value', f.path);
  if (!dv || !isObj(dv.value)) {
    r.error(f.path, 'ef-bad-percent', `${field}.default_value is required`, hint);
    return null;
  }
  const numerator = uint(r, dv.value, 'numerator', dv.path, 'ef-bad-percent', hint);
  if (numerator === null) return null;
  const d = get(dv.value, 'denominator', dv.path);
  let denomName = 'HUNDRED';
  if (d) {
    const name = typeof d.value === 'number' ? DENOMINATOR_BY_NUMBER[d.value] : d.value;
    if (typeof name !== 'string' || ownValue(DENOMINATORS, name) === undefined) {
      r.error(d.path, 'ef-bad-percent', `denominator ${describe(d.value)} is not one of HUNDRED, TEN_THOUSAND, MILLION`, hint);
      return null;
    }
    denomName = name;
  }
  const denominator = DENOMINATORS[denomName] as number;
  const n = numerator ?? 0;
  if (n > denominator) {
    r.warn(dv.path, 'ef-percent-over-100', `${field}: numerator ${n} is above the denominator ${denomName}; Envoy treats it as 100%`,
      `write a numerator of at most ${denominator}`);
    return 100;
  }
  return (n / denominator) * 100;
}

function readStatus(r: Reader, c: Obj, path: Path): number | null | undefined {
  const f = get(c, 'status', path);
  if (!f) return undefined;
  const hint = 'write status: {code: 429} (a number, or an Envoy StatusCode name such as TooManyRequests)';
  const code = isObj(f.value) ? f.value['code'] : undefined;
  let n: number | undefined;
  if (typeof code === 'number' && Number.isInteger(code)) n = code;
  else if (typeof code === 'string') n = /^\d+$/.test(code) ? Number(code) : ownValue(STATUS_NAMES, code);
  if (n === undefined || n < 100 || n > 599) {
    r.error(f.path, 'ef-bad-status', `status ${describe(f.value)} is not an HTTP status`, hint);
    return null;
  }
  return n < 400 ? 429 : n;
}

function readHeaders(r: Reader, c: Obj, path: Path): Record<string, string> {
  const out: Record<string, string> = {};
  const f = get(c, 'response_headers_to_add', path);
  if (!f) return out;
  if (!Array.isArray(f.value)) { r.error(f.path, 'field-type', `response_headers_to_add must be a list, got ${describe(f.value)}`); return out; }
  f.value.forEach((item, i) => {
    const ipath = [...f.path, i];
    const header = isObj(item) ? item['header'] : undefined;
    if (!isObj(header) || typeof header['key'] !== 'string' || header['key'] === '') {
      r.error(ipath, 'ef-bad-header', 'each response_headers_to_add entry needs header.key and header.value',
        "write - header: {key: x-local-rate-limit, value: 'true'}");
      return;
    }
    const value = header['value'];
    setOwn(out, header['key'].toLowerCase(), typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value));
  });
  return out;
}
