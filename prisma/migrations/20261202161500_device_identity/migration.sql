-- Device identity per account (issue 25 item 2): the installation id the upstream sees for this account. Random per
-- account (existing rows get their own now), stable, never shared between accounts or deployments.
ALTER TABLE "accounts" ADD COLUMN "installationId" UUID NOT NULL DEFAULT gen_random_uuid();
