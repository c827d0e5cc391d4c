import { z } from 'zod';

/** Free text stored in Postgres: no NUL or other control characters (a NUL would fail the insert). */
const hasControl = (v: string) => [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !hasControl(v), 'must not contain control characters');
/** rpm/tpm are Int4 columns; token quotas Int8 but read back as JS numbers. */
const limit = z.number().int().positive().max(2_147_483_647).nullable().optional();
const quota = z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullable().optional();
/** ISO 8601 with an offset, between 1970 and 9999 (Postgres has no year 0; far dates overflow). */
const expiry = z.iso
  .datetime({ offset: true })
  .refine((v) => {
    const t = Date.parse(v);
    return Number.isFinite(t) && t >= 0 && t < Date.UTC(10000, 0, 1);
  }, 'must be a date between 1970 and 9999')
  .nullable()
  .optional();
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const pattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:/*-]+$/, 'model ids and patterns use letters, digits, . _ : / - and *');

export const createKeySchema = z
  .object({
    name: text(200).default(''),
    userId: z.string().regex(UUID, 'must be a UUID').optional(),
    scope: z.enum(['api', 'admin']).default('api'),
    allowedModels: z.array(pattern).max(100).default([]),
    rpm: limit,
    tpm: limit,
    dailyTokenQuota: quota,
    monthlyTokenQuota: quota,
    expiresAt: expiry,
  })
  .strict();
export type CreateKeyInput = z.infer<typeof createKeySchema>;

export const updateKeySchema = z
  .object({
    name: text(200).optional(),
    allowedModels: z.array(pattern).max(100).optional(),
    rpm: limit,
    tpm: limit,
    dailyTokenQuota: quota,
    monthlyTokenQuota: quota,
    expiresAt: expiry,
  })
  .strict();
export type UpdateKeyInput = z.infer<typeof updateKeySchema>;

/** The acting admin's own password, required (with a session) to create or promote an admin or set an admin's password. */
const currentPassword = z.string().min(1).max(1024).optional();

export const createUserSchema = z
  .object({
    email: z.string().email().max(320),
    name: text(200).default(''),
    role: z.enum(['admin', 'member']).default('member'),
    password: z.string().min(8).max(1024).optional(),
    currentPassword,
  })
  .strict();
export type CreateUserInput = z.infer<typeof createUserSchema>;

export const updateUserSchema = z
  .object({
    name: text(200).optional(),
    role: z.enum(['admin', 'member']).optional(),
    disabled: z.boolean().optional(),
    password: z.string().min(8).max(1024).optional(),
    /** With `password`: also revoke every key of the user. */
    revokeKeys: z.boolean().optional(),
    currentPassword,
    /** Limits shared by all of the user's keys; null clears one. */
    rpm: limit,
    tpm: limit,
    dailyTokenQuota: quota,
    monthlyTokenQuota: quota,
  })
  .strict();
export type UpdateUserInput = z.infer<typeof updateUserSchema>;

export const loginSchema = z.object({ email: text(320), password: z.string().max(1024) }).strict();

export const settingsSchema = z.object({ members_can_create_keys: z.boolean().optional() }).strict();
