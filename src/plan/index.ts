export { buildPlan, enabledNamespaces, DEFAULT_SEARCH_PATH, parseEnviron, type EnvironResult, type Caller, type PlanResult } from './build.ts';
export type { FileToOpen, IdValue, Plan, Step } from './plan.ts';
