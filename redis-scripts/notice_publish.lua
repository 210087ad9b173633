-- notice_publish.lua — put a notice on the board (gm): the notice, its place in gm's list and in its
-- audience's index (scored by its publish time: readers see it from then on), and pushsvr's event
-- for the live push (903) — now on q:notify:{g}, or at the publish time in the sched zset — with
-- the staff action's audit record, in one step. Notices older than the keep window leave the
-- indexes here; each notice's hash expires with it.
--
-- KEYS[1]  {g}:notice:{id}              hash (see docs/architecture.md)
-- KEYS[2]  {g}:notices                  zset id -> publish_at: every notice (gm's list)
-- KEYS[3]  {g}:notices:{audience}       zset id -> publish_at: all, user:{uid} or match
-- KEYS[4]  q:notify:{g}
-- KEYS[5]  {g}:sched                    zset due -> event
-- KEYS[6]  q:outbox:{g}                 the audit record
-- ARGV[1]  id          ARGV[2]  title ("" for none)    ARGV[3]  text
-- ARGV[4]  target: all, user or match                  ARGV[5]  target id (uid or match id; "" for all)
-- ARGV[6]  publish_at, Unix ms           ARGV[7]  now, Unix ms       ARGV[8]  keep, ms
-- ARGV[9]  created_by (staff name)       ARGV[10] the event (MessagePack {kind = "notice", id})
-- ARGV[11] the audit record (MessagePack change record), or ""
--
-- Reply:   Published  {1}   on the board now; the push queued
--          Scheduled  {2}   on the board from publish_at; the push then
--          Exists     {0}   a notice with this id exists: nothing written
-- Errors:  none for valid input.
-- Cost:    EXISTS, HSET, PEXPIREAT, ZADD ×2, ZREMRANGEBYSCORE ×2, LPUSH or ZADD, LPUSH.
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
local at, now, keep = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'title', ARGV[2], 'text', ARGV[3], 'target', ARGV[4],
  'target_id', ARGV[5], 'publish_at', ARGV[6], 'created_at', ARGV[7], 'created_by', ARGV[9], 'state', 'live')
redis.call('PEXPIREAT', KEYS[1], at + keep)
for i = 2, 3 do
  redis.call('ZADD', KEYS[i], at, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. (now - keep))
end
local reply = 1
if at > now then
  redis.call('ZADD', KEYS[5], at, ARGV[10])
  reply = 2
else
  redis.call('LPUSH', KEYS[4], ARGV[10])
end
if ARGV[11] ~= '' then redis.call('LPUSH', KEYS[6], ARGV[11]) end
return {reply}
