-- claim.lua — take up to N frames from a queue into a consumer's inflight list, atomically.
-- A consumer calls it first, so it takes a batch per round trip; it blocks (BLMOVE) only when this
-- found nothing.
--
-- KEYS[1]  the queue (list; producers LPUSH, consumers take from the right)
-- KEYS[2]  the consumer's inflight list
-- ARGV[1]  N, the most frames to move (integer >= 0)
--
-- Reply:   Claimed  {frame, ...}  the frames moved, oldest first (possibly empty)
-- Errors:  none for valid input; N that is not a number is treated as 0.
local n = tonumber(ARGV[1]) or 0
local out = {}
for i = 1, n do
  local frame = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not frame then break end
  out[i] = frame
end
return out
