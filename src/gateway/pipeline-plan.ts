import type { Dispatcher } from 'undici';
import type { PoolAccount } from '../accounts/account-source.js';
import type { LimitsService } from '../limits/limits.service.js';
import type { TokenCounts } from '../pricing/price-math.js';
import type { AccountRun } from './failover.js';
import type { UpstreamRequest } from './account-attempt.js';
import type { PortableInput } from './portable-input.js';
import type { StoreTicket } from './response-store.js';
import type { RequestOutcome } from './usage-recorder.js';
import type { OpenInput } from './types.js';

export type Admission = Awaited<ReturnType<LimitsService['admit']>>;
/** Everything decided before the first upstream call of a request. */
export interface Plan {
  request: UpstreamRequest;
  admission: Admission;
  /** Tokens the input is estimated at (charged when a client goes away before the upstream's usage). */
  inputEstimate: number;
  /** Tokens of the input new since the conversation's last turn (< 0: all new): the pool's cost estimate. */
  newInputEstimate: number;
  /** The input and how to re-serialise it, when it holds account-bound items (portable-input.ts). */
  portable: PortableInput | null;
  /** /v1/responses: where to keep the answer (previous_response_id, item_reference), and the account to prefer. */
  store?: { ticket: StoreTicket; preferAccountId: string | null };
}

/** One request on its way through the accounts: what the endpoint's accept step gets for an answered attempt. */
export interface Served {
  input: OpenInput;
  plan: Plan;
  run: AccountRun;
  account: PoolAccount;
  res: Dispatcher.ResponseData;
  t0: number;
  controller: AbortController;
  /** Detaches the client's abort from the upstream request (once the answer is done). */
  detach(): void;
  /** Settles the limits reservation (with the real token split when known); only the first call counts. */
  settle(tokens: number, counts?: TokenCounts): Promise<void>;
  /** Writes the request's usage row and metrics; only the first call counts. */
  finish(outcome: Omit<RequestOutcome, 't0' | 'attempts'>): void;
}
