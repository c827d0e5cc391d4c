-- Health states that name their cause (issue 25 item 3): the backend disabled the account (`deactivated`), its
-- egress proxy does not answer (`proxy_unreachable`), and since when the stored status holds. Transient trouble
-- never reaches this table (it only opens the in-memory circuit).
ALTER TYPE "AccountStatus" ADD VALUE IF NOT EXISTS 'deactivated';
ALTER TYPE "AccountStatus" ADD VALUE IF NOT EXISTS 'proxy_unreachable';
ALTER TABLE "accounts" ADD COLUMN "statusSince" TIMESTAMPTZ(3);
