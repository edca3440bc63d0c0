/**
 * The scenario file format (product.md §2) as a zod schema: the contract.
 * `npx meshrange schema` prints it as JSON Schema for editors and CI.
 *
 * Written with zod/mini (functions and `.check()` instead of methods): every
 * `meshrange run` builds these ~250 schema objects before it reads a byte,
 * and zod's classic API took ~14 ms of a ~170 ms start to build them (B4,
 * T4.1), mini about a third of that. Same checks, same messages (zod's
 * English locale, which core/zod.ts sets as classic does), same JSON Schema.
 */
import * as z from 'zod/mini';
import { MAX_DURATION_MS, parseDuration, parseRate } from '../core/duration.js';
import { grouped } from '../core/text.js';
import { DESTINATION_RE } from '../core/names.js';
import { described as d, intIn as int, optional as o } from '../core/zod.js';
import { expectSchema } from './expect.js';
import { HEADER_NAME_FORM, HEADER_VALUE_FORM, isHeaderName, isHeaderValue, isHttpToken, isRequestPath, MAX_SNI_LENGTH, PATH_FORM, TOKEN_FORM } from '../core/http.js';

/*
 * Every number is bounded before it is used (issue 9.2): a negative `for`
 * once cancelled another flood's estimate and defeated the volume guard; a
 * zero rate made an infinite interval; a rate far above the clock's
 * resolution at t = 100 d made arrivals that never advanced time.
 */
/** A duration that may be negative (a token's `expiresIn: -5s`), at most 366 days either way. */
const httpMethod = z.string().check(z.minLength(1), z.refine(isHttpToken, { message: `must be ${TOKEN_FORM}, as every HTTP method is` }));
const headerName = z.string().check(z.refine(isHeaderName, { message: `must be ${HEADER_NAME_FORM}, as every header name is` }));
const headerValue = z.string().check(z.refine(isHeaderValue, { message: HEADER_VALUE_FORM }));
const requestPath = z.string().check(z.refine(isRequestPath, { message: PATH_FORM }));
const headersSchema = z.record(headerName, headerValue);

/** The most entries spec.mesh.manifests may list (a folder counts once, whatever it holds). */
export const MAX_MANIFEST_ENTRIES = 1_000;

const duration = z.string().check(z.refine((s) => parseDuration(s) !== null, { message: `must be a duration like 500ms, 30s, 5m or 24h, at most ${MAX_DURATION_MS / 86_400_000}d` }));
/** A point in simulated time or an added delay: zero or more (an unreadable one is reported once, above). */
const instant = duration.check(z.refine((s) => (parseDuration(s) ?? 0) >= 0, { message: 'must not be negative' }));
/** A length of time: at least a microsecond. */
export const MIN_SPAN_MS = 0.001;
const span = duration.check(z.refine((s) => (parseDuration(s) ?? MIN_SPAN_MS) >= MIN_SPAN_MS, { message: 'must be longer than 0 (at least 0.001ms)' }));
/** Requests per second a flow or a flood may ask for: between one per ~17 minutes and a million a second. */
export const MIN_RATE_PER_S = 0.001;
export const MAX_RATE_PER_S = 1_000_000;
const rate = z.string().check(
  z.refine((s) => parseRate(s) !== null, { message: 'must be a rate like 20/s or 600/m' }),
  z.refine((s) => { const r = parseRate(s); return r === null || (r >= MIN_RATE_PER_S && r <= MAX_RATE_PER_S); },
    { message: `must be between ${MIN_RATE_PER_S}/s and ${grouped(MAX_RATE_PER_S)}/s` }));
/** A request path: an RE2 rewrite costs up to the square of its length (core/re2.ts), so it is bounded. */
export const MAX_PATH_LENGTH = 2048;
const workloadRef = z.string().check(z.regex(/^(outside|[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/, {
  message: 'must be `namespace/name` (a Deployment, StatefulSet, DaemonSet or Pod) or `outside`',
}));
/**
 * `host:port` or `workload/<namespace>/<name>:<port>` (core/names.ts DESTINATION_RE): markup, quotes, pipes and
 * control characters never reach a decision or a report as a host.
 */
const destination = z.string().check(z.regex(DESTINATION_RE, {
  message: 'must be `host:port` — a DNS name or IPv4 address (letters, digits, -, _ and ., at most 253 characters), then the port: reviews:9080, api.backend:80 — or `workload/<namespace>/<name>:<port>`',
}));
export const ACTIONS = ['request', 'impersonate', 'pivot', 'sniff', 'exfiltrate', 'flood', 'steal-credentials', 'wait'] as const;

export const jwtClaimsSchema = d(z.strictObject({
  iss: o(z.string(), 'issuer (the RequestAuthentication jwtRules issuer that validates it)'),
  sub: o(z.string(), 'subject'),
  aud: o(z.union([z.string(), z.array(z.string())]), 'audience(s)'),
  claims: o(z.record(z.string(), z.unknown()), 'further claims, e.g. {groups: [admin]}'),
  expiresIn: o(duration, 'lifetime from issue, e.g. 1h; negative (-5s) for an expired token'),
  issuedAt: o(duration, 'when it was signed, relative to simulated t=0 (default: t=0, or the step\'s time for an inline jwt)'),
  signer: o(z.enum(['trusted', 'untrusted']), 'trusted (default): a key of the JWKS the validating RequestAuthentication uses; untrusted: a key it does not know'),
}), 'a claim set meshrange signs itself');

export const stepSchema = z.strictObject({
  id: d(z.string().check(z.regex(/^[A-Za-z0-9][-_.A-Za-z0-9]*$/, { message: 'must start with a letter or digit, then letters, digits, -, _ or .' })), 'unique in the scenario: a letter or digit, then letters, digits, -, _ or .'),
  action: d(z.enum(ACTIONS), 'what the attacker tries: request, impersonate, pivot, sniff, exfiltrate, flood, steal-credentials, wait'),
  description: o(z.string(), 'shown in reports'),
  from: o(workloadRef, 'act from this workload (namespace/name or outside) instead of the foothold; such a step checks legitimate traffic and does not count towards the verdict'),
  at: o(instant, 'simulated time the step starts (default: when every step above it has ended); it may fall while a step above still runs, never before the step above starts'),
  expect: z.optional(expectSchema),
  to: o(destination, 'host:port (in-cluster DNS from the sender\'s namespace, a ServiceEntry host, or an external name; the Service port), or workload/<ns>/<name>:<port> to dial a pod directly'),
  protocol: o(z.enum(['http', 'http2', 'grpc', 'tcp', 'tls']), 'http (default), http2, grpc, tcp, or tls (the app speaks TLS itself, with sni)'),
  method: o(httpMethod, 'HTTP method, default GET'),
  path: o(requestPath.check(z.startsWith('/', { message: 'must start with /' }), z.maxLength(MAX_PATH_LENGTH)), 'HTTP path (with any query string), default /'),
  headers: o(headersSchema, 'request headers, sent as given'),
  token: o(z.string(), 'a compact JWT sent as authorization: Bearer <token>, verified with real signature checks'),
  jwt: o(z.union([z.string(), jwtClaimsSchema]), 'a token of spec.tokens by name, `stolen` (the last token the attacker took), or an inline claim set signed at the step\'s time'),
  tls: o(z.enum(['auto', 'plaintext', 'mtls']), 'auto (default); plaintext from a workload whose sidecar captures it is an attempt to go around the sidecar; mtls forces Istio mTLS'),
  sni: o(z.string().check(z.maxLength(MAX_SNI_LENGTH)), `SNI of a TLS connection: a server name, at most ${MAX_SNI_LENGTH} characters`),
  sourceIp: o(z.string(), 'source address of an outside client (default 203.0.113.10)'),
  as: o(z.string(), 'impersonate: the identity claimed, a SPIFFE id or ns/serviceaccount'),
  using: o(z.enum(['forged-cert', 'stolen-cert', 'spoofed-header', 'spoofed-ip', 'plaintext']), 'impersonate: how the attacker claims the identity'),
  depth: o(int(1, 16), 'pivot: hops to explore (default 3)'),
  exploit: o(z.union([z.literal('all'), z.array(workloadRef).check(z.maxLength(1000))]), 'pivot: which reached workloads the attacker can take over: a list, or all (default: those marked exploitable in spec.workloads)'),
  targets: o(z.array(workloadRef).check(z.minLength(1, { message: 'list at least one workload, or leave targets out' }), z.maxLength(1000)), 'pivot: crown jewels; allowed when all are reached, partial when some'),
  ports: o(z.array(int(1, 65535)).check(z.minLength(1, { message: 'list at least one port, or leave ports out to try every port' }), z.maxLength(64)), 'pivot: ports to try (default: every declared port)'),
  paths: o(z.array(requestPath.check(z.startsWith('/', { message: 'must start with /' }))).check(z.minLength(1, { message: 'list at least one path, or leave paths out for /' }), z.maxLength(32)), 'pivot: paths to try (default /)'),
  on: o(z.string().check(z.maxLength(600)), 'sniff: the observation point — `any`, `node:<namespace>/<workload>` (every hop to or from that pod), or `link:<namespace>/<a>,<namespace>/<b>` (the hops between two workloads, either way; one end may be `outside`)'),
  window: o(span, 'sniff: how long the observer watches (the step lasts this long), more than 0 and at most 24h'),
  bytes: o(int(1, 2 ** 30, { min: 'must be at least 1 byte', max: 'must be at most 1073741824 bytes (1 GiB)' }), 'exfiltrate: how many bytes the attacker uploads, in chunks of at most 64 KiB'),
  via: o(z.string().check(z.maxLength(300)), 'exfiltrate: `direct` (default), `egress-gateway` (or `egress-gateway:<port>`: the gateway Service port to dial), or an allowed host used as a channel out (`<host>` or `<host>:<port>`: a ServiceEntry host or an in-mesh Service)'),
  rate: o(rate, 'flood, exfiltrate: requests per second or minute, e.g. 200/s'),
  for: o(span, 'flood: how long it lasts; wait: how long simulated time advances'),
  what: o(z.enum(['cert', 'jwt']), 'steal-credentials: the workload certificate or a bearer token'),
  bypass: o(z.boolean(), 'try to leave around the foothold\'s own sidecar (works without a sidecar, for excluded destinations, or with the proxy-uid, root or net-admin capability)'),
});

export const workloadFactsSchema = d(z.strictObject({
  serviceTime: o(span, 'mean of an exponential service time, default 1ms'),
  concurrency: o(int(1, 1_000_000), 'requests served at once, default 64'),
  queue: o(int(0, 10_000_000), 'requests waiting before 503, default 1000'),
  exploitable: o(z.boolean(), 'a pivot may take this workload over'),
  ip: o(z.string().check(z.regex(/^\d{1,3}(\.\d{1,3}){3}$/, { message: 'must be an IPv4 address' })), 'pin the pod IP (otherwise assigned deterministically)'),
  sensitive: o(z.boolean(), 'a sniff that reads this workload\'s traffic in clear reports it as sensitive'),
}), 'simulation-only facts about one workload');

/** One CA outage (two fields, the same in `outage` and `outages`). */
const outage = () => z.strictObject({ at: d(instant, 'simulated time it starts'), for: d(span, 'how long it lasts') });

export const scenarioSchema = z.strictObject({
  apiVersion: d(z.literal('meshrange.io/v1alpha1'), 'always meshrange.io/v1alpha1'),
  kind: d(z.literal('Scenario'), 'always Scenario'),
  metadata: d(z.strictObject({
    name: d(z.string().check(z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'must be a DNS-1123 label (lower case, digits, -)' })), 'the scenario\'s name in reports, unique in a suite'),
    description: o(z.string(), 'shown in the text, Markdown and HTML reports'),
    tags: o(z.array(z.string()), 'free-form labels'),
  }), 'the scenario\'s name and description'),
  spec: d(z.strictObject({
    mesh: d(z.strictObject({
      manifests: d(z.array(z.union([
        d(z.string().check(z.minLength(1)), 'a manifest file, or a folder (every *.yaml / *.yml below it, sorted), relative to the scenario'),
        d(z.strictObject({
          path: d(z.string().check(z.minLength(1)), 'a manifest file or folder, relative to the scenario'),
          namespace: d(z.string().check(z.maxLength(63), z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'must be a namespace name (a DNS-1123 label: lower case, digits, -)' })),
            'objects without metadata.namespace take this namespace, as with kubectl apply -n; one naming another namespace is an error'),
        }), 'manifests written for kubectl apply -n <namespace>'),
      ])).check(z.minLength(1, { message: 'list at least one manifest file or directory' }),
        z.maxLength(MAX_MANIFEST_ENTRIES, { message: `list at most ${MAX_MANIFEST_ENTRIES} manifest files or folders (a folder holds any number of files)` })),
      'the Kubernetes + Istio manifests of the mesh: files and folders'),
      meshConfig: o(z.record(z.string(), z.unknown()), 'overrides fields of the istio ConfigMap\'s mesh key, e.g. {outboundTrafficPolicy: {mode: REGISTRY_ONLY}}'),
      jwks: o(z.record(z.string(), z.string()), 'offline stand-ins for a jwksUri: URI -> a JWKS file relative to the scenario'),
      istio: o(z.strictObject({
        ingressGateway: o(z.boolean(), 'add istio-system/istio-ingressgateway (Deployment + Service, labels istio: ingressgateway, ports 80/443/15021) as istioctl install does'),
      }), 'what istioctl install adds to the cluster'),
    }), 'the mesh the scenario runs on'),
    seed: o(int(0, 2 ** 31 - 1), 'default 1: same scenario and seed, same report, byte for byte'),
    startTime: o(z.iso.datetime({ offset: true }), 'the wall-clock instant of simulated t=0, default 2026-01-01T00:00:00Z'),
    duration: o(span, 'simulated-time limit (default: long enough for every step)'),
    workloads: o(z.record(workloadRef, workloadFactsSchema), 'simulation-only facts by workload (namespace/name)'),
    ca: o(z.strictObject({
      outage: o(outage(), 'one period when the CA cannot sign'),
      outages: o(z.array(outage()).check(z.maxLength(1000)), 'periods when the CA cannot sign'),
      workloadCertTtl: o(span, 'workload certificate lifetime, default 24h'),
    }), 'the mesh CA (istiod)'),
    proxyOverhead: o(instant, 'latency each sidecar adds to a hop, default 0.625ms'),
    tokens: o(z.record(z.string(), jwtClaimsSchema), 'named JWTs that steps send with jwt: <name>'),
    extAuthz: o(z.record(z.string(), z.strictObject({
      allowIf: o(z.strictObject({ header: d(z.string(), 'request header name'), equals: d(z.string(), 'the value that allows') }), 'allow when this request header has this value (otherwise deny)'),
      deniedStatus: o(int(100, 599), 'status of a denied request, default 403'),
    })), 'stand-ins for CUSTOM authorization providers named in the mesh config'),
    traffic: o(z.array(d(z.strictObject({
      from: d(workloadRef, 'the client workload (namespace/name) or outside'),
      to: d(destination, 'host:port or workload/<ns>/<name>:<port>'),
      method: o(httpMethod, 'HTTP method, default GET'),
      path: o(requestPath.check(z.maxLength(MAX_PATH_LENGTH)), 'HTTP path, default /'),
      headers: o(headersSchema, 'request headers'),
      protocol: o(z.enum(['http', 'http2', 'grpc', 'tcp']), 'http (default), http2, grpc or tcp'),
      rate: d(rate, 'N/s or N/m'),
    }), 'a legitimate flow')), 'legitimate load that runs during the attack and must keep working'),
    attacker: d(z.strictObject({
      foothold: d(workloadRef, 'the workload the attacker controls (namespace/name), or outside'),
      capabilities: o(z.array(z.enum(['root', 'net-admin', 'proxy-uid'])), 'what the attacker\'s process may do: root, net-admin (rewrite the capture), proxy-uid (UID 1337, which the capture skips)'),
    }), 'who attacks, and from where'),
    steps: d(z.array(stepSchema).check(z.minLength(1, { message: 'a scenario needs at least one step' })), 'what the attacker tries, in order'),
  }), 'the mesh, the attacker and the steps'),
});

export type ScenarioDoc = z.infer<typeof scenarioSchema>;
export type StepDoc = z.infer<typeof stepSchema>;

export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' });
}
