import { ApiError } from '../common/errors.js';

/**
 * Errors of the accounts/refresh path. Messages never contain a token. `permanent` = the account needs a new
 * login (it has been marked needs_reauth); otherwise the failure was transient (retry later / another account).
 */
export class AccountRefreshError extends ApiError {
  constructor(
    readonly accountId: string,
    readonly permanent: boolean,
    readonly reason: string,
  ) {
    super(
      503,
      permanent
        ? `The subscription account needs a new login (refresh failed: ${reason}).`
        : `The subscription account's token could not be refreshed right now (${reason}).`,
      'service_unavailable',
      null,
      permanent ? 'account_needs_reauth' : 'account_refresh_failed',
    );
  }
}

export class AccountUnavailableError extends ApiError {
  constructor(
    readonly accountId: string,
    readonly accountStatus: string,
  ) {
    super(
      503,
      `The subscription account is not usable (status ${accountStatus}).`,
      'service_unavailable',
      null,
      'account_unavailable',
    );
  }
}

/** The account does not exist (any more). A typed error, so callers such as the worker need not read HTTP statuses. */
export class AccountNotFoundError extends ApiError {
  constructor(readonly accountId: string) {
    super(404, `No account with id '${accountId}'.`, 'invalid_request_error', 'id', 'account_not_found');
  }
}

export function accountNotFound(id: string): AccountNotFoundError {
  return new AccountNotFoundError(id);
}
