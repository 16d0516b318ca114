import type { Evaluator } from "../engine/evaluator.js";
import type { Session } from "../engine/session.js";

/** What every API value carries: the session it belongs to and its evaluator. Internal. */
export interface ApiContext {
  readonly session: Session;
  readonly evaluator: Evaluator;
}
