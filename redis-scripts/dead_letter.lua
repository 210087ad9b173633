-- dead_letter.lua — move a frame that can never be handled from an inflight list to a dead list,
-- which is capped and expires (dead frames hold passwords and session tokens in clear).
--
-- KEYS[1]  the consumer's inflight list
-- KEYS[2]  the dead list (q:dead:{queue}); newest at the left
-- ARGV[1]  the frame, byte for byte as it was taken
-- ARGV[2]  the most frames the dead list keeps (queue.dead_max, integer >= 1); the oldest beyond
--          it are dropped. Absent: 10000.
-- ARGV[3]  seconds the dead list lives after this push (queue.dead_ttl_s, integer >= 1; refreshed
--          on every push). Absent: 604800 (7 days).
--
-- Reply:   Moved        {1}  the frame was moved to the dead list
--          NotInflight  {0}  the frame was no longer inflight: nothing written
-- Errors:  none.
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then
  return 0
end
local max = tonumber(ARGV[2]) or 10000
local ttl = tonumber(ARGV[3]) or 604800
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, max - 1)
redis.call('EXPIRE', KEYS[2], ttl)
return 1
