-- claim.lua — take up to N frames from a queue into a consumer's inflight list, atomically.
-- A consumer calls it first, so it takes a batch per round trip; it blocks (BLMOVE) only when this
-- found nothing.
-- The k oldest frames are read and cut off the queue's right end in one piece and pushed onto the
-- inflight list's left end, leaving both lists exactly as k single `LMOVE queue inflight RIGHT LEFT`
-- would: the oldest frame deepest (rightmost) in the inflight list, where the consumer's recovery
-- (LRANGE, then reversed) expects it, and every frame in only one of the two lists at any time.
--
-- KEYS[1]  the queue (list; producers LPUSH, consumers take from the right)
-- KEYS[2]  the consumer's inflight list
-- ARGV[1]  N, the most frames to move (integer >= 0)
--
-- Reply:   Claimed  {frame, ...}  the frames moved, oldest first (possibly empty)
-- Errors:  none for valid input; N that is not a number is treated as 0.
-- Cost:    LRANGE, LTRIM, LPUSH — 3 commands per call whatever k (one more LPUSH per further 1000
--          frames); an empty queue: LRANGE only.
local CHUNK = 1000 -- elements per LPUSH, well below Lua's unpack limit
local n = math.min(math.floor(tonumber(ARGV[1]) or 0), 2147483647) -- stays an integer as text
if n <= 0 then
  return {}
end
-- Oldest last: got[k] is the queue's rightmost frame.
local got = redis.call('LRANGE', KEYS[1], -n, -1)
local k = #got
if k == 0 then
  return {}
end
redis.call('LTRIM', KEYS[1], 0, -(k + 1))
-- Oldest first: the reply's order, and the push order that leaves the oldest rightmost.
local out = {}
for i = 1, k do
  out[i] = got[k + 1 - i]
end
for from = 1, k, CHUNK do
  redis.call('LPUSH', KEYS[2], unpack(out, from, math.min(from + CHUNK - 1, k)))
end
return out
