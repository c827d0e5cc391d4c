-- Per-account egress proxy (issue 25 item 1). The URL may carry user:pass, so it is sealed like the tokens
-- (AES-256-GCM, aad "<account id>:proxy", key id beside it); only scheme://host:port is kept in clear, for the admin
-- API and for finding accounts that share one proxy endpoint.
ALTER TABLE "accounts" ADD COLUMN IF NOT EXISTS "proxyUrlSealed" BYTEA;
ALTER TABLE "accounts" ADD COLUMN IF NOT EXISTS "proxyKeyId" TEXT;
ALTER TABLE "accounts" ADD COLUMN IF NOT EXISTS "proxyEndpoint" TEXT;
CREATE INDEX IF NOT EXISTS "accounts_proxyEndpoint_idx" ON "accounts" ("proxyEndpoint");
