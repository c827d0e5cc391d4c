import { z } from 'zod';
import {
  limitValue as limit,
  quotaValue as quota,
  budgetValue as budget,
  text,
} from '../../common/validation.js';

/** The acting admin's own password, required (with a session) to create or promote an admin or set an admin's password. */
const currentPassword = z.string().min(1).max(1024).optional();

export const createUserSchema = z
  .object({
    email: z.string().email().max(320),
    name: text(200).default(''),
    role: z.enum(['admin', 'member']).default('member'),
    password: z.string().min(8).max(1024).optional(),
    currentPassword,
    /** Monthly budget in equivalent USD shared by all of the user's keys (docs/cost.md). */
    monthlyBudgetUsd: budget,
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
    monthlyBudgetUsd: budget,
  })
  .strict();
export type UpdateUserInput = z.infer<typeof updateUserSchema>;

/** Deleting an admin: the acting admin's password. The body is optional otherwise. */
export const deleteUserSchema = z.object({ currentPassword }).strict();

export const loginSchema = z.object({ email: text(320), password: z.string().max(1024) }).strict();
