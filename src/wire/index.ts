// The wire stage: Plan → bytes for the helper (docs/plan-format.md). Only this file is imported
// from outside src/wire/.
export { encodeFrame, encodePlan, PlanEncodingError } from './encode.ts';
export * from '../kernel/frames.ts';
