/**
 * Names as a pod's resolver sees them (Kubernetes DNS for Services and Pods;
 * the pod's resolv.conf: `search <ns>.svc.cluster.local svc.cluster.local
 * cluster.local`, `options ndots:5`).
 *
 * Rules
 * - A name with fewer than 5 dots is first tried with each search suffix,
 *   then as written. So `svc` and `svc.ns` find a Service (`svc.ns` only when
 *   namespace `ns` holds one), `svc.ns.svc` and `svc.ns.svc.cluster.local`
 *   too; a trailing dot skips the search list.
 * - A name under `cluster.local` that names no Service does not resolve
 *   (NXDOMAIN from the cluster's own zone).
 * - Any other name goes to the upstream resolvers as written. A ServiceEntry
 *   host is taken as resolvable (it names something that exists outside). An
 *   Internet name resolves only under a real top-level domain; meshrange
 *   knows the generic TLDs in common use, every two-letter country code, and
 *   the names reserved for documentation (`example`, `test`, RFC 2606) so
 *   scenarios can name "some host on the Internet". Anything else —
 *   `httpbin.fooo`, a typo of `httpbin.foo` — fails as in a cluster, where
 *   the search suffixes miss (no namespace `fooo`) and upstream has no `fooo`
 *   zone.
 */

const GENERIC_TLDS: ReadonlySet<string> = new Set([
  'com', 'net', 'org', 'edu', 'gov', 'mil', 'int', 'arpa', 'info', 'biz', 'name', 'pro', 'aero', 'coop', 'museum', 'mobi', 'asia', 'tel',
  'travel', 'jobs', 'cat', 'app', 'dev', 'cloud', 'tech', 'online', 'site', 'xyz', 'top', 'shop', 'store', 'blog', 'page', 'io', 'ai',
  'run', 'systems', 'services', 'network', 'digital', 'software', 'solutions', 'company', 'global', 'link', 'live', 'news',
  'media', 'email', 'support', 'security', 'bank', 'pay', 'money', 'finance', 'health',
  // documentation and testing (RFC 2606, RFC 6761): stand-ins for "a host on the Internet"
  'example', 'test',
]);

/** The search path a pod in `namespace` tries for `name`, in order (for explanations). */
export function searchPath(name: string, namespace: string): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const dots = name.split('.').length - 1;
  const suffixed = [`${name}.${namespace}.svc.cluster.local`, `${name}.svc.cluster.local`, `${name}.cluster.local`];
  return dots >= 5 ? [name, ...suffixed] : [...suffixed, name];
}

/** Whether upstream DNS answers for a name outside the cluster (see the rules above). */
export function upstreamResolves(fqdn: string): boolean {
  const labels = fqdn.toLowerCase().replace(/\.$/, '').split('.');
  if (labels.length < 2) return false;
  const tld = labels[labels.length - 1] as string;
  if (tld === 'local' || tld === 'localhost' || tld === 'invalid') return false;
  return GENERIC_TLDS.has(tld) || /^[a-z]{2}$/.test(tld);
}
