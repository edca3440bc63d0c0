/**
 * MR0120 dr-merged-into-selector — a DestinationRule Istio folds into a workloadSelector rule and keeps nowhere else.
 *
 * Semantics (istio-semantics.md §5.1; Istio's mergeDestinationRule with ENABLE_ENHANCED_DESTINATIONRULE_MERGE, on by
 * default since 1.24, and SidecarScope.DestinationRule; policy/destination-rule.ts consolidate):
 * - a namespace's rules for one host are consolidated, rules with a workloadSelector first; a rule with a selector
 *   counts as exported to `.` whatever it says;
 * - a rule without a selector whose exportTo set equals an earlier consolidated rule's is merged into it, and is not
 *   kept as a rule of its own when that was the last one it met — even when that rule has a selector
 *   (istio/istio#58322, open): with `exportTo: ["."]` beside a selector rule for the same host, the plain rule lives
 *   only inside the selector rule;
 * - a client uses the first consolidated rule whose selector picks it, else the last one without a selector: the
 *   workloads the selector does not pick do not get the plain rule (and with no other rule for the host, none at all:
 *   no fallback to the service's namespace).
 * Rule: in a namespace's own index, a rule without a selector that is the base of no consolidated rule, every one it
 * was merged into having a selector. meshrange simulates what Istio does; this says why.
 */
import { meshIndex } from '../../model/index.js';
import type { DestinationRule } from '../../model/types.js';
import { selectorMatches } from '../../model/types.js';
import { consolidate, exportedTo, isPrivate } from '../../policy/destination-rule.js';
import { listed, subjectOf } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

export const rule: LintRule = {
  code: 'MR0120',
  name: 'dr-merged-into-selector',
  severity: 'warning',
  title: 'A DestinationRule merged into a workloadSelector rule and kept nowhere else (istio/istio#58322)',
  help: 'With the enhanced DestinationRule merge (Istio 1.24+), a rule without a workloadSelector whose exportTo set equals a selector rule\'s '
    + '(exportTo: ["."]) for the same host is merged into the selector rule and not kept on its own: the workloads the selector does not pick '
    + 'do not get it. Fix: write exportTo as the namespace\'s name, or drop exportTo, so the rule stands on its own.',
  check(mesh) {
    const out: RawFinding[] = [];
    const index = meshIndex(mesh);
    const namespaces = new Set(mesh.destinationRules.map((d) => d.meta.namespace));
    for (const ns of [...namespaces].sort()) {
      const rules = index.destinationRules(ns);
      if (!rules.some((d) => d.workloadSelector !== null)) continue;
      // the namespace's own index: the rules visible in it, by host
      const byHost = new Map<string, DestinationRule[]>();
      for (const d of rules) {
        if (!exportedTo(d, ns)) continue;
        const l = byHost.get(d.fqdnHost);
        if (l) l.push(d); else byHost.set(d.fqdnHost, [d]);
      }
      // the namespace's own index; in the root namespace also the index of its private rules, which a client of the
      // root namespace reads first (a public rule there can change how the private ones merge)
      const groups = [...byHost];
      if (ns === mesh.config.rootNamespace) for (const [host, group] of byHost) groups.push([host, group.filter(isPrivate)]);
      const reported = new Set<DestinationRule>();
      for (const [host, group] of groups) {
        if (group.length < 2 || !group.some((d) => d.workloadSelector !== null)) continue;
        const entries = consolidate(group);
        for (const d of group) {
          if (reported.has(d) || d.workloadSelector !== null || entries.some((c) => c.rules[0] === d)) continue;
          const into = entries.filter((c) => c.rules.includes(d)).map((c) => c.rules[0] as DestinationRule);
          if (into.length === 0 || into.some((b) => b.workloadSelector === null)) continue;
          reported.add(d);
          const missed = mesh.workloads.filter((w) => w.namespace === ns && !w.gateway && w.sidecar
            && !into.some((b) => b.workloadSelector !== null && selectorMatches(b.workloadSelector, w.labels))).map((w) => w.id);
          out.push({
            subject: subjectOf('DestinationRule', d.meta),
            message: `DestinationRule ${ns}/${d.meta.name} (host ${host}) is merged into ${listed(into.map((b) => `${ns}/${b.meta.name}`))}, which ${into.length > 1 ? 'have' : 'has'} a workloadSelector, and kept nowhere else: `
              + (missed.length > 0 ? `${listed(missed)} ${missed.length > 1 ? 'do' : 'does'} not get it` : 'a workload the selector does not pick will not get it'),
            hint: `write exportTo as [${ns}] (the namespace's name) or drop exportTo, so the rule stands on its own`,
          });
        }
      }
    }
    return out;
  },
};
