/**
 * The Redis Lua scripts of the limits (src/limits/limits.service.ts): one round trip checks and reserves every
 * budget of a request, one more settles it.
 *
 * ADMIT — KEYS: budget counters. ARGV: per budget, 4 values: limit, cost, mode, ms; then one last value, '1' to
 * check the money counters first. Modes:
 *   'w' fixed window (ms = TTL set when the window starts), 'p' calendar period (ms = absolute expiry; the first
 *   request of an empty period may exceed the limit by its own size), 's' strict calendar period (money budgets:
 *   admitted only when used + cost stays within the limit, the first request included), 'm' a money counter
 *   without a budget (as 'p'; never refuses: its limit is the maximum).
 * Returns {0, used1, pttl1, used2, pttl2, …} when admitted (after reserving), {i, used, pttl} for the first
 * budget i (1-based) that refuses (nothing is reserved then), or, with the check on, {-1, i, j, …} when money
 * counters i, j, … do not exist (nothing is reserved): the caller seeds them from the usage rows (SEED) and asks
 * again, so a month's spend is never counted from zero after a deploy, a Redis loss or a budget set mid-month.
 */
export const ADMIT = `
local n = #KEYS
if ARGV[n * 4 + 1] == '1' then
  local missing = {-1}
  for i = 1, n do
    local mode = ARGV[(i - 1) * 4 + 3]
    if (mode == 's' or mode == 'm') and redis.call('EXISTS', KEYS[i]) == 0 then missing[#missing + 1] = i end
  end
  if #missing > 1 then return missing end
end
for i = 1, n do
  local limit = tonumber(ARGV[(i - 1) * 4 + 1])
  local cost = tonumber(ARGV[(i - 1) * 4 + 2])
  local mode = ARGV[(i - 1) * 4 + 3]
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  local over = used >= limit or (used > 0 and used + cost > limit)
  if mode == 's' then over = used >= limit or used + cost > limit end
  if over then
    return {i, used, redis.call('PTTL', KEYS[i])}
  end
end
local out = {0}
for i = 1, n do
  local cost = tonumber(ARGV[(i - 1) * 4 + 2])
  local mode = ARGV[(i - 1) * 4 + 3]
  local ms = tonumber(ARGV[(i - 1) * 4 + 4])
  local used = redis.call('INCRBY', KEYS[i], cost)
  if mode == 'p' or mode == 's' or mode == 'm' then
    redis.call('PEXPIREAT', KEYS[i], ms)
  elseif redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], ms)
  end
  out[#out + 1] = used
  out[#out + 1] = redis.call('PTTL', KEYS[i])
end
return out`;

/**
 * SETTLE — KEYS: counters; ARGV[i]: the delta of KEYS[i] (real use minus reservation). Applies each delta to a
 * counter that still exists (a window that ended stays ended), never below zero.
 */
export const SETTLE = `
for i = 1, #KEYS do
  local d = tonumber(ARGV[i])
  if d ~= 0 and redis.call('EXISTS', KEYS[i]) == 1 then
    local v = redis.call('INCRBY', KEYS[i], d)
    if v < 0 then redis.call('DECRBY', KEYS[i], v) end
  end
end
return 1`;

/**
 * SEED — KEYS[1]: a money counter; ARGV: the spend read from the usage rows (nano-dollars), the expiry (epoch ms).
 * Sets it only when it does not exist (SET NX semantics): replicas that seed at the same time keep one value and
 * never add theirs up. Returns 1 when this call set it.
 */
export const SEED = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`;
