/** `wait`: advance simulated time (certificates expire, buckets refill). */
import { parseDuration } from '../../core/duration.js';
import type { ActionModule } from './types.js';

export const waitAction: ActionModule = {
  action: 'wait',
  fields: ['for'],
  required: [{ field: 'for', hint: 'add for: <duration>, e.g. 30s' }],
  lasts: (step) => parseDuration(step.for ?? '0s') ?? 0,
  run(c, p) {
    c.finish(p, { ...c.base(p), outcome: 'allowed', code: null, mtls: null, stoppedBy: [], expectationMet: null,
      evidence: { events: [{ t: c.k.now, hop: 'scenario', what: `simulated time advances by ${p.step.for}` }] } });
  },
};
