-- sched_due.lua — move the delayed events that are due from `sched` to `q:notify:{g}`, atomically, so
-- each event is moved exactly once however many pushsvr processes poll.
--
-- KEYS[1]  sched      zset, score = due time (ms), member = the event (MessagePack)
-- KEYS[2]  q:notify:{g}   (LPUSHed like every producer, earliest due first, so consumers — who take
--                     from the right — handle them in due order, after what was queued before)
-- ARGV[1]  now, Unix ms
-- ARGV[2]  the most events to move in this call
--
-- Reply:   Moved  {moved}  the number of events moved (call again while it equals ARGV[2])
-- Errors:  none.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
for _, event in ipairs(due) do
  redis.call('ZREM', KEYS[1], event)
  redis.call('LPUSH', KEYS[2], event)
end
return #due
