-- signin_streak.lua — record a user's sign-in on a day and answer their current streak (days in a
-- row, that day included). Idempotent per day: a second call for the same day changes nothing and
-- answers the same streak. Shipped with the daily_bonus module (logic/scripts), called through
-- ctx.script.
--
-- KEYS[1]  ext:signin:days   hash uid -> "<last day>:<streak>"
-- KEYS[2]  ext:signin:board  zset uid -> streak (the leaderboard)
-- ARGV[1]  uid
-- ARGV[2]  the day (days since 1970-01-01, UTC)
--
-- Reply:   {streak, new}   new = 1 when this call recorded the day, 0 when it was recorded before
-- Errors:  "ERR bad day" when ARGV[2] is not a non-negative integer (nothing written).
local day = tonumber(ARGV[2])
if not day or day < 0 or day % 1 ~= 0 then
  return redis.error_reply('ERR bad day')
end
local last, streak = 0, 0
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if rec then
  local l, s = string.match(rec, '^(%d+):(%d+)$')
  last, streak = tonumber(l), tonumber(s)
end
if last == day then
  return {streak, 0}
end
if last == day - 1 then
  streak = streak + 1
else
  streak = 1
end
redis.call('HSET', KEYS[1], ARGV[1], day .. ':' .. streak)
redis.call('ZADD', KEYS[2], streak, ARGV[1])
return {streak, 1}
