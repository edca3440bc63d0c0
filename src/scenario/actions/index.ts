/** The step actions, one module each; simulate.ts and the scenario loader dispatch through this table. */
import { exfiltrateAction } from './exfiltrate.js';
import { floodAction } from './flood.js';
import { impersonateAction } from './impersonate.js';
import { pivotAction } from './pivot.js';
import { requestAction } from './request.js';
import { sniffAction } from './sniff.js';
import { stealCredentialsAction } from './steal-credentials.js';
import type { ActionModule } from './types.js';
import { waitAction } from './wait.js';

const MODULES: readonly ActionModule[] = [requestAction, waitAction, floodAction, stealCredentialsAction, sniffAction, exfiltrateAction, impersonateAction, pivotAction];

const BY_NAME = new Map<string, ActionModule>(MODULES.map((m) => [m.action, m]));

/** The module of an action, or undefined for an action this version does not run. */
export function actionModule(name: string): ActionModule | undefined {
  return BY_NAME.get(name);
}

export function supportedActions(): string[] {
  return MODULES.map((m) => m.action);
}

export type { ActionModule, PlannedFlow, PlannedStep, RequestOrigin, RequestTap, StepContext } from './types.js';
