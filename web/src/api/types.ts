/**
 * Response shapes of the keys, users and settings endpoints, which the OpenAPI document does not describe yet
 * (their controllers have no response DTOs). Mirrors src/keys/keys.service.ts `present` and users.service.ts
 * `presentUser`; once those controllers carry @ApiOkResponse, switch to the generated types.
 */
export interface KeyLimits {
  rpm: number | null;
  tpm: number | null;
  dailyTokenQuota: number | null;
  monthlyTokenQuota: number | null;
}

export interface KeyView {
  id: string;
  name: string;
  prefix: string;
  scope: 'api' | 'admin';
  owner: { id: string; email: string; name: string };
  allowedModels: string[];
  limits: KeyLimits;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
  usage?: {
    requestsThisMinute: number;
    tokensThisMinute: number;
    tokensToday: number;
    tokensThisMonth: number;
  };
}

/** Create and rotate answer the key itself, this once. */
export type CreatedKey = KeyView & { key: string };

export interface UserView {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'member';
  disabled: boolean;
  hasPassword: boolean;
  /** Shared by all of the user's keys; each key's own limits apply on top. */
  limits: KeyLimits;
  createdAt: string;
}

export interface ListOf<T> {
  object: 'list';
  data: T[];
}

export interface Settings {
  members_can_create_keys: boolean;
}
