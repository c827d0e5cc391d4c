-- The owner's reserve and a concurrency cap per subscription account (issue 23 item 3).
ALTER TABLE "accounts" ADD COLUMN "reservePercent" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "accounts" ADD COLUMN "maxConcurrent" INTEGER;
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_reservePercent_range" CHECK ("reservePercent" BETWEEN 0 AND 90);
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_maxConcurrent_positive" CHECK ("maxConcurrent" IS NULL OR "maxConcurrent" >= 1);
