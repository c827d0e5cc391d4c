-- Equivalent API cost (issue 28 item 1).
-- Each usage row keeps the cost computed when it was written (NULL = no price for its model then).
ALTER TABLE "usage_records" ADD COLUMN "costUsd" DECIMAL(24,12);

-- An account's monthly subscription price set by an admin (NULL = the default for its plan, src/pricing/prices.json).
ALTER TABLE "accounts" ADD COLUMN "monthlyPriceUsd" DECIMAL(12,2);

-- Admin overrides of the shipped price file, one row per model (USD per 1M tokens). They price new rows only.
CREATE TABLE "model_prices" (
    "model" TEXT NOT NULL,
    "input" DECIMAL(18,6) NOT NULL,
    "cachedInput" DECIMAL(18,6) NOT NULL,
    "output" DECIMAL(18,6) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedBy" TEXT,

    CONSTRAINT "model_prices_pkey" PRIMARY KEY ("model")
);
