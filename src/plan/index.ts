export { buildPlan, enabledNamespaces, DEFAULT_SEARCH_PATH, type Caller, type PlanResult } from './build.ts';
export type { FileToOpen, Plan, Step } from './plan.ts';
