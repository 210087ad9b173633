-- announce.lua — queue an announcement for pushsvr: now (q:notify:{g}) or at a time (the sched zset,
-- which pushsvr moves to q:notify:{g} when due); record the staff action.
--
-- KEYS[1]  q:notify:{g}
-- KEYS[2]  sched           zset, score = due time (ms), member = the event (unique: it carries an id)
-- KEYS[3]  q:outbox:{g}
-- ARGV[1]  the event (MessagePack map, kind = "announcement")
-- ARGV[2]  due time, Unix ms, or "0" for now
-- ARGV[3]  audit record (MessagePack change record), or ""
--
-- Reply:   Queued     {1}  queued now (q:notify:{g})
--          Scheduled  {2}  scheduled (the sched zset)
-- Errors:  none.
local at = tonumber(ARGV[2]) or 0
local reply = 1
if at > 0 then
  redis.call('ZADD', KEYS[2], at, ARGV[1])
  reply = 2
else
  redis.call('LPUSH', KEYS[1], ARGV[1])
end
if ARGV[3] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[3])
end
return reply
