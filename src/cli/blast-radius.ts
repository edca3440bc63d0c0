/**
 * `meshrange blast-radius --mesh <path>... [--from ns/wl]... [--exploit all|none|ns/wl,...]
 * [--depth N] [--crown ns/wl]... [--format text|json|dot|mermaid]` (product.md §4):
 * what each foothold can reach, multi-hop (analysis/blast-radius.ts).
 */
import { Option, type Command } from 'commander';
import { IssueList } from '../core/issues.js';
import { selectorMatches, type Mesh } from '../model/types.js';
import { blastRadius, MAX_BLAST_DEPTH, type BlastRadiusOptions } from '../analysis/blast-radius.js';
import { renderBlastDot, renderBlastJsonChunks, renderBlastMermaid, renderBlastText } from '../report/blast-radius.js';
import { collect, EXIT_BAD_INPUT, EXIT_OK, printIssues, type Io } from './main.js';
import { addMeshOptions, loadMeshOptions, type MeshOptions } from './mesh-input.js';
import { escapeControls } from '../core/escape.js';

export interface BlastRadiusCliOpts extends MeshOptions {
  from: string[];
  exploit: string;
  depth: string;
  crown: string[];
  format: 'text' | 'json' | 'dot' | 'mermaid';
}


export function registerBlastRadius(program: Command, io: Io, done: (code: number) => void): void {
  addMeshOptions(program.command('blast-radius')
    .description('what each foothold can reach, multi-hop (every workload when --from is absent), as a table or a graph'))
    .option('--from <ns/workload>', 'a foothold (a workload, or "outside"); repeatable; default every workload', collect, [])
    .option('--exploit <which>', '"all" (default), "none", or a comma-separated list of workloads the attacker can take over', 'all')
    .option('--depth <n>', `hops to explore, 1..${MAX_BLAST_DEPTH}`, '3')
    .option('--crown <ns/workload>', 'a crown-jewel workload: the table says which footholds reach it; repeatable', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'dot', 'mermaid']).default('text'))
    .action((opts: BlastRadiusCliOpts) => {
      done(blastRadiusCommand(opts, io));
    });
}

/** Loads the manifests the paths name (sandboxed to them and the working directory); null with issues printed. */
export function loadMeshArgs(opts: MeshOptions, io: Io): { mesh: Mesh; warnings: string[] } | null {
  const issues = new IssueList();
  const loaded = loadMeshOptions(opts, issues);
  if (!loaded || issues.hasErrors()) { printIssues(io, issues.errors); return null; }
  return { mesh: loaded.mesh, warnings: issues.warnings.map((w) => `${w.loc ? `${w.loc.file}:${w.loc.line}:${w.loc.col}: ` : ''}${w.message}`) };
}

export function blastRadiusCommand(opts: BlastRadiusCliOpts, io: Io): number {
  const issues = new IssueList();
  if (!/^\d{1,3}$/.test(opts.depth) || Number(opts.depth) < 1 || Number(opts.depth) > MAX_BLAST_DEPTH) {
    issues.error('bad-usage', `--depth ${opts.depth}: expected a whole number of hops from 1 to ${MAX_BLAST_DEPTH}`, undefined, 'e.g. --depth 3 (the default), or leave it out');
  }
  let exploit: BlastRadiusOptions['exploit'] = 'all';
  if (opts.exploit === 'none') exploit = [];
  else if (opts.exploit !== 'all') {
    const list = opts.exploit.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (list.length === 0) issues.error('bad-usage', `--exploit ${opts.exploit}: expected all, none, or workloads as ns/name separated by commas`, undefined, 'e.g. --exploit backend/api,frontend/web, or --exploit none');
    exploit = list;
  }
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  let loaded = loadMeshArgs(opts, io);
  if (!loaded) return EXIT_BAD_INPUT;
  const r = blastRadius(loaded.mesh, { from: opts.from, exploit, depth: Number(opts.depth), crown: opts.crown });
  // From outside, attempts dial Service and pod ports bare (no Host header, no SNI): the routes Gateways give by host
  // are not explored, which a reader of "reaches nothing" must be told (assess and request decide them).
  const gatewayHosts = (opts.from ?? []).includes('outside') ? exposedGatewayHosts(loaded.mesh) : [];
  // The mesh is no longer needed: let it go before the report is written (100,000 workloads: ~1 GB).
  const warnings = loaded.warnings;
  loaded = null;
  if (!r.ok) {
    issues.error(r.code === 'unknown-workload' ? 'unknown-workload' : r.code === 'bad-depth' ? 'bad-usage' : 'blast-radius-too-large', r.message, undefined, r.hint);
    printIssues(io, issues.errors);
    return EXIT_BAD_INPUT;
  }
  for (const w of warnings) io.err(`warning: ${escapeControls(w)}\n`);
  if (gatewayHosts.length > 0) {
    const list = `${gatewayHosts.slice(0, 3).join(', ')}${gatewayHosts.length > 3 ? `, … (${gatewayHosts.length} hosts)` : ''}`;
    io.err(`note: from outside, each Service and pod port is dialled bare (no Host header, no SNI): what the Gateways route by host (${escapeControls(list)}) is not explored here; \`meshrange request --from outside --to <gateway Service>:<port> --header host:<host>\` decides one such request\n`);
  }
  if (opts.format === 'json') {
    // written piece by piece: one report string would double the peak of a large mesh
    for (const piece of renderBlastJsonChunks(r.value)) io.out(piece);
    return EXIT_OK;
  }
  const render = { text: renderBlastText, dot: renderBlastDot, mermaid: renderBlastMermaid }[opts.format];
  io.out(render(r.value));
  return EXIT_OK;
}

/**
 * The hosts of the Gateways on a gateway pod that a LoadBalancer or NodePort Service exposes (an ingress gateway, not
 * an egress one), without their namespace prefix, `*` left out, sorted.
 */
function exposedGatewayHosts(mesh: Mesh): string[] {
  const exposed = mesh.workloads.filter((w) => w.gateway && mesh.services.some((sv) => (sv.type === 'LoadBalancer' || sv.type === 'NodePort')
    && sv.namespace === w.namespace && sv.selector !== null && selectorMatches(sv.selector, w.labels)));
  const hosts = new Set<string>();
  for (const g of mesh.gateways) {
    if (!exposed.some((w) => selectorMatches(g.selector, w.labels))) continue;
    for (const sv of g.servers) for (const h of sv.hosts) { const host = h.slice(h.indexOf('/') + 1); if (host !== '*') hosts.add(host); }
  }
  return [...hosts].sort();
}
