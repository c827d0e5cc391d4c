import { z } from 'zod';

const limit = z.number().int().positive().nullable().optional();
const pattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:/*-]+$/, 'model ids and patterns use letters, digits, . _ : / - and *');

export const createKeySchema = z
  .object({
    name: z.string().max(200).default(''),
    userId: z.string().uuid().optional(),
    scope: z.enum(['api', 'admin']).default('api'),
    allowedModels: z.array(pattern).max(100).default([]),
    rpm: limit,
    tpm: limit,
    dailyTokenQuota: limit,
    monthlyTokenQuota: limit,
    expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .strict();
export type CreateKeyInput = z.infer<typeof createKeySchema>;

export const updateKeySchema = z
  .object({
    name: z.string().max(200).optional(),
    allowedModels: z.array(pattern).max(100).optional(),
    rpm: limit,
    tpm: limit,
    dailyTokenQuota: limit,
    monthlyTokenQuota: limit,
    expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .strict();
export type UpdateKeyInput = z.infer<typeof updateKeySchema>;

export const createUserSchema = z
  .object({
    email: z.string().email().max(320),
    name: z.string().max(200).default(''),
    role: z.enum(['admin', 'member']).default('member'),
    password: z.string().min(8).max(1024).optional(),
  })
  .strict();

export const updateUserSchema = z
  .object({
    name: z.string().max(200).optional(),
    role: z.enum(['admin', 'member']).optional(),
    disabled: z.boolean().optional(),
    password: z.string().min(8).max(1024).optional(),
  })
  .strict();

export const loginSchema = z.object({ email: z.string().max(320), password: z.string().max(1024) }).strict();

export const settingsSchema = z.object({ members_can_create_keys: z.boolean().optional() }).strict();
