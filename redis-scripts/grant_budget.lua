-- grant_budget.lua — a staff member's daily grant budget (gm.grant_daily_limit): a grant reserves
-- its coins before it is made, in one step with the check, so two grants at once cannot both slip
-- under the limit; a grant that then does not happen (refused, or a repeat of one made before)
-- gives them back with a negative amount.
--
-- KEYS[1]  {g}:grant_budget:{day}:{staff}   string: coins granted that day; expires 2 days on
-- ARGV[1]  coins to reserve (> 0), or to give back (< 0)
-- ARGV[2]  the daily limit (> 0)
-- ARGV[3]  expiry, ms
--
-- Reply:   Reserved  {0, total}   done: total = coins counted for the day now
--          OverLimit {1, total}   the reservation would pass the limit: nothing written
-- Errors:  none for valid input.
-- Cost:    GET, INCRBY, PEXPIRE.
local amount, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local total = tonumber(redis.call('GET', KEYS[1]) or '0')
if amount > 0 and total + amount > limit then return {1, total} end
total = redis.call('INCRBY', KEYS[1], amount)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {0, total}
