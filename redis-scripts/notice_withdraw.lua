-- notice_withdraw.lua — take a notice off the board (gm): it leaves its audience's index (no
-- reader lists it any more; a scheduled one's push, when due, finds it withdrawn and is dropped)
-- and stays in gm's list, marked withdrawn, with the staff action's audit record, in one step.
--
-- KEYS[1]  {g}:notice:{id}
-- KEYS[2]  {g}:notices:{audience}       the notice's audience index (from its target)
-- KEYS[3]  q:outbox:{g}
-- ARGV[1]  id      ARGV[2]  now, Unix ms      ARGV[3]  withdrawn_by (staff name)
-- ARGV[4]  the audit record (MessagePack change record), or ""
--
-- Reply:   Withdrawn         {0}   done
--          AlreadyWithdrawn  {1}   it was: nothing written
--          NoNotice          {2}   no such notice (or expired): nothing written
-- Errors:  none for valid input.
-- Cost:    HGET, HSET, ZREM, LPUSH.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {2} end
if state == 'withdrawn' then return {1} end
redis.call('HSET', KEYS[1], 'state', 'withdrawn', 'withdrawn_at', ARGV[2], 'withdrawn_by', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[4] ~= '' then redis.call('LPUSH', KEYS[3], ARGV[4]) end
return {0}
