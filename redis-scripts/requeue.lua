-- requeue.lua — the reaper's move: return the inflight frames of a dead consumer to its queue.
-- Each frame's deliveries are counted (by SHA-1 of its bytes); a frame returned max_attempts times
-- goes to the dead list instead (a poison frame that keeps killing workers; the dead list is capped
-- and expires, as in dead_letter.lua). Frames go back to the consuming (right) end, so they are
-- handled next, oldest first (inflight lists grow at the left, so popping from the left and pushing
-- to the right leaves the oldest rightmost). Bounded per call; call again while it reports frames
-- remaining.
--
-- KEYS[1]  the dead consumer's inflight list
-- KEYS[2]  the queue
-- KEYS[3]  the dead list
-- KEYS[4]  the deliveries hash (sha1(frame) -> times returned)
-- KEYS[5]  the consumers hash (inflight key -> heartbeat key); the entry is removed once empty
-- ARGV[1]  max attempts (integer >= 1)
-- ARGV[2]  the most frames to move in this call
-- ARGV[3]  TTL of the deliveries hash, seconds (refreshed on each use)
-- ARGV[4]  the most frames the dead list keeps (queue.dead_max, integer >= 1); the oldest beyond
--          it are dropped. Absent: 10000.
-- ARGV[5]  seconds the dead list lives after a push (queue.dead_ttl_s, integer >= 1; refreshed
--          whenever this call dead-letters a frame). Absent: 604800 (7 days).
--
-- Reply:   Requeued  {moved, dead, remaining}  frames returned to the queue, moved to the dead
--                    list, and still inflight (call again while remaining > 0)
-- Errors:  none for valid input.
local max_attempts = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local moved, dead = 0, 0
for _ = 1, limit do
  local frame = redis.call('LPOP', KEYS[1])
  if not frame then break end
  local id = redis.sha1hex(frame)
  local n = redis.call('HINCRBY', KEYS[4], id, 1)
  if n >= max_attempts then
    redis.call('LPUSH', KEYS[3], frame)
    redis.call('HDEL', KEYS[4], id)
    dead = dead + 1
  else
    redis.call('RPUSH', KEYS[2], frame)
    moved = moved + 1
  end
end
if moved + dead > 0 then
  redis.call('EXPIRE', KEYS[4], tonumber(ARGV[3]))
end
if dead > 0 then
  redis.call('LTRIM', KEYS[3], 0, (tonumber(ARGV[4]) or 10000) - 1)
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]) or 604800)
end
local remaining = redis.call('LLEN', KEYS[1])
if remaining == 0 then
  redis.call('HDEL', KEYS[5], KEYS[1])
end
return {moved, dead, remaining}
