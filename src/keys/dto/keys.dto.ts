import { z } from 'zod';
import {
  limitValue as limit,
  quotaValue as quota,
  budgetValue as budget,
  text,
  UUID,
} from '../../common/validation.js';

/** ISO 8601 with an offset, between 1970 and 9999 (Postgres has no year 0; far dates overflow). */
const expiry = z.iso
  .datetime({ offset: true })
  .refine((v) => {
    const t = Date.parse(v);
    return Number.isFinite(t) && t >= 0 && t < Date.UTC(10000, 0, 1);
  }, 'must be a date between 1970 and 9999')
  .nullable()
  .optional();
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
    monthlyBudgetUsd: budget,
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
    monthlyBudgetUsd: budget,
    expiresAt: expiry,
  })
  .strict();
export type UpdateKeyInput = z.infer<typeof updateKeySchema>;
