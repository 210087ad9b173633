-- rate_limit.lua — fixed-window counters checked and counted in one step: either every counter is
-- below its limit and each is counted, or nothing is counted and the first one at its limit is named.
-- Used before any password hashing (register and login, per address group and deployment-wide), so a
-- flood is refused for the price of one script call.
--
-- KEYS[1]        the first counter (string; keys.rate), expiring one window after its first count;
-- KEYS[i]        counter i, the same, for as many counters as the call checks
-- ARGV[1]        limit of counter 1 (integer >= 1)     ARGV[2]     window of counter 1, ms (integer >= 1)
-- ARGV[2i - 1]   limit of counter i                    ARGV[2i]    window of counter i, ms
--
-- Reply:   Counted  {0}                    counted
--          Limited  {i, retry_after_ms}    counter i is at its limit; nothing counted
-- Errors:  "ERR bad limits" when ARGV does not hold a limit and a window per key (nothing written).
if #ARGV ~= 2 * #KEYS then
  return redis.error_reply('ERR bad limits')
end
for i = 1, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[2 * i - 1]) then
    return {i, math.max(redis.call('PTTL', KEYS[i]), 1)}
  end
end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[2 * i])
  end
end
return {0}
