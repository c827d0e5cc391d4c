-- Monthly budgets in equivalent USD (issue 28 item 2), per key and per user; NULL = no budget.
-- Enforced in Redis with the token quotas (src/limits); the columns only hold the admin's setting.
ALTER TABLE "api_keys" ADD COLUMN IF NOT EXISTS "monthlyBudgetUsd" DECIMAL(18,6);
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "monthlyBudgetUsd" DECIMAL(18,6);
