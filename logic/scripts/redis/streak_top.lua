-- streak_top.lua — the current sign-in streak leaderboard: the longest runs that are still alive
-- (signed in today or yesterday), longest first, and the caller's place. A run found dead on the
-- way is removed from the board (its user's next sign-in starts a new one anyway). Shipped with the
-- streaks module (logic/scripts), called through ctx.script.
--
-- KEYS[1]  ext:signin:days   hash uid -> "<last day>:<streak>" (written by signin_streak.lua)
-- KEYS[2]  ext:signin:board  zset uid -> streak
-- ARGV[1]  today (days since 1970-01-01, UTC)
-- ARGV[2]  how many entries to answer (1..100)
-- ARGV[3]  the caller's uid
--
-- Reply:   {my_rank, my_streak, uid_1, streak_1, uid_2, streak_2, ...}; my_rank = 0 (and
--          my_streak = 0) when the caller has no live run or is not among the first 1000 live ones
-- Errors:  "ERR bad arguments" when ARGV[1] or ARGV[2] is not a valid number (nothing written).
local today, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if not today or not limit or limit < 1 or limit > 100 then
  return redis.error_reply('ERR bad arguments')
end
local function alive(uid)
  local rec = redis.call('HGET', KEYS[1], uid)
  if not rec then return false end
  local last = tonumber(string.match(rec, '^(%d+):'))
  return last ~= nil and last >= today - 1
end
local out = {0, 0}
local rank, start = 0, 0
while rank < 1000 do
  local page = redis.call('ZREVRANGE', KEYS[2], start, start + 99, 'WITHSCORES')
  if #page == 0 then break end
  local dead = {}
  for i = 1, #page, 2 do
    if alive(page[i]) then
      rank = rank + 1
      if rank <= limit then
        out[#out + 1] = page[i]
        out[#out + 1] = tonumber(page[i + 1])
      end
      if page[i] == ARGV[3] then
        out[1], out[2] = rank, tonumber(page[i + 1])
      end
    else
      dead[#dead + 1] = page[i]
    end
  end
  if #dead > 0 then
    redis.call('ZREM', KEYS[2], unpack(dead))
  end
  start = start + 100 - #dead
  if rank >= limit and out[1] ~= 0 then break end
end
return out
