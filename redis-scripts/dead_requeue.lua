-- dead_requeue.lua — give frames on a dead list another chance, after the cause was fixed: each
-- frame named goes back to the queue it died on, newest end, as new work. The caller read the
-- frames (the oldest first) and says what to push for each: the frame itself, or for dbsvr's dead
-- records ({reason, record, ts}) the change record inside (decoded by the caller: Redis's cmsgpack
-- does not read MessagePack's bin type). A frame no longer on the dead list (requeued by another
-- call meanwhile, or trimmed) is skipped, so a repeated requeue moves nothing twice.
--
-- KEYS[1]  the dead list (q:dead:{queue})
-- KEYS[2]  the queue (producers LPUSH, consumers take from the right)
-- ARGV[1], ARGV[2], ...  pairs: a frame byte for byte as the dead list holds it, what to push
--
-- Reply:   Moved  {moved}  frames moved (those still on the dead list)
-- Errors:  "ERR odd arguments" when ARGV does not hold pairs (nothing moved).
-- Cost:    per frame LREM (a scan of the dead list, capped at queue.dead_max) and LPUSH: rare,
--          staff-driven.
if #ARGV % 2 ~= 0 then return redis.error_reply('ERR odd arguments') end
local moved = 0
for i = 1, #ARGV, 2 do
  if redis.call('LREM', KEYS[1], -1, ARGV[i]) == 1 then
    redis.call('LPUSH', KEYS[2], ARGV[i + 1])
    moved = moved + 1
  end
end
return {moved}
