// The keybound reason code of a refusal as a response header (`Keybound-Code: jkt_mismatch`), for
// the demo APIs: the resource server's node adapter writes refusals itself (status, WWW-Authenticate,
// RFC error body) and reports each decision to `onDecision`, synchronously, before it answers. The
// response being decided is found through AsyncLocalStorage, so the code is set on the right one
// even when requests overlap. The code is no secret: it names the check that failed.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import type { DecisionEvent } from '@keybound/resource-server';

export const REASON_CODE_HEADER = 'Keybound-Code';

const deciding = new AsyncLocalStorage<ServerResponse>();

/** Runs `decide` (the adapter's guard) with `res` as the response its decision event belongs to. */
export function decideFor<T>(res: ServerResponse, decide: () => T): T {
  return deciding.run(res, decide);
}

/** The response whose decision is being made (inside decideFor), for onDecision sinks. */
export function responseBeingDecided(): ServerResponse | undefined {
  return deciding.getStore();
}

/** An onDecision sink: sets the reason code (deny, or what report mode let through) on the response. */
export function setReasonCodeHeader(event: DecisionEvent): void {
  const res = deciding.getStore();
  if (res !== undefined && event.code !== undefined && !res.headersSent) {
    res.setHeader(REASON_CODE_HEADER, event.code);
  }
}
