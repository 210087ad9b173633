-- requeue.lua — the reaper's move: return the inflight frames of a dead consumer to its queue.
-- Each frame's deliveries are counted (by SHA-1 of its bytes); a frame returned max_attempts times
-- goes to the dead list instead (a poison frame that keeps killing workers). Frames go back to the
-- consuming (right) end, so they are handled next, oldest first (inflight lists grow at the left,
-- so popping from the left and pushing to the right leaves the oldest rightmost). Bounded per call; call again while it reports
-- frames remaining.
--
-- KEYS[1]  the dead consumer's inflight list
-- KEYS[2]  the queue
-- KEYS[3]  the dead list
-- KEYS[4]  the deliveries hash (sha1(frame) -> times returned)
-- KEYS[5]  the consumers hash (inflight key -> heartbeat key); the entry is removed once empty
-- ARGV[1]  max attempts (integer >= 1)
-- ARGV[2]  the most frames to move in this call
-- ARGV[3]  TTL of the deliveries hash, seconds (refreshed on each use)
--
-- Reply:   {moved, dead, remaining}
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
local remaining = redis.call('LLEN', KEYS[1])
if remaining == 0 then
  redis.call('HDEL', KEYS[5], KEYS[1])
end
return {moved, dead, remaining}
