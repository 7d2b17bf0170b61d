// The plan stage's only public door: Options + facts → the steps the helper performs.
export { buildPlan, enabledNamespaces, HOST_TOOLS_MOUNT, hostToolsRefusal, LOADER_VARIABLES, workingDirectoryBelowRoot, type Caller, type LeftOut, type LeftOutReason, type Nesting, type PlanNotes, type PlanResult } from './build.ts';
export type { Failure, OpenHow, Plan, Slot, Step, StepOp } from './plan.ts';
