-- Admin-set limits on a user, shared by all of the user's keys (issue 11 item 4). NULL = no limit.
ALTER TABLE "users" ADD COLUMN "rpm" INTEGER;
ALTER TABLE "users" ADD COLUMN "tpm" INTEGER;
ALTER TABLE "users" ADD COLUMN "dailyTokenQuota" BIGINT;
ALTER TABLE "users" ADD COLUMN "monthlyTokenQuota" BIGINT;
