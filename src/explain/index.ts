// The explain stage's only public door: the plan a real run would perform, with what it was built
// from → the --json document and the --explain text. Reads only; decides nothing (build.ts).
import { explainPlan, type ExplainInput } from './build.ts';
import type { PlanDocument } from './document.ts';
import { explanationText } from './text.ts';

export { explainPlan, type ExplainInput } from './build.ts';
export { explanationText } from './text.ts';
export { PLAN_DOCUMENT_VERSION } from './document.ts';
export type * from './document.ts';

/** The `--json` output: the document and a newline. u64 values are already decimal strings. */
export function documentJson(doc: PlanDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** What `--explain` (text) or `--json` prints for this plan. */
export function explanation(input: ExplainInput, format: 'text' | 'json'): string {
  const doc = explainPlan(input);
  return format === 'json' ? documentJson(doc) : explanationText(doc);
}
