// The wire stage: Plan → bytes for the helper, and the helper's reply → a value.
// Only this file is imported from outside src/wire/.

export { encodePlan, PlanEncodingError, toWirePlan, writeWirePlan } from './encode.ts';
export { decodePlan, decodeWire, type DecodedPlan, type PlanDecodeResult, type WireDecodeResult } from './decode.ts';
export { dumpPlan, dumpWire } from './dump.ts';
export { decodeReply, NO_STEP, REPLY_LEN, SubOp, type HelperReply } from './reply.ts';
export {
  BODY_MAX,
  HEADER_LEN,
  MAX_INHERITED,
  MAX_SLOTS,
  MAX_STEPS,
  MAX_STRINGS,
  RECORD_HEADER_LEN,
  RECORD_INFO,
  RecordType,
  VERSION,
  type WirePlan,
  type WireStep,
} from './format.ts';
