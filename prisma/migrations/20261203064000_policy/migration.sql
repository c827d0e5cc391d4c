-- Policy isolation (issue 25 item 4): a key suspended after too many content-policy refusals.
ALTER TABLE "api_keys" ADD COLUMN IF NOT EXISTS "suspendedAt" TIMESTAMPTZ(3);
ALTER TABLE "api_keys" ADD COLUMN IF NOT EXISTS "suspendedReason" TEXT;
