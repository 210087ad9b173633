-- match_create.lua — create a match in state -1 (pending approval) and index it; idempotent by
-- external id for data-feed imports. The match id is allocated by the caller (INCR seq:match).
--
-- KEYS[1]  match:{mid}               hash (the new match)
-- KEYS[2]  matches:pending           zset, score = start time
-- KEYS[3]  match:ext:{external_id}   string -> mid (any key when ARGV[2] is "")
-- KEYS[4]  q:outbox:{g}
-- KEYS[5]  sched   (delayed events: a reminder to bettors, and closing betting at the start time)
-- ARGV[1]  mid
-- ARGV[2]  external id, or "" for a match created by hand
-- ARGV[3]  start time, Unix ms
-- ARGV[4]  now, Unix ms
-- ARGV[5]  audit record (MessagePack change record), or ""
-- ARGV[6]  reminder lead time, ms before the start (0 = no reminder)
-- ARGV[7..] field, value, ... of the match (type, title, team_a, team_b, options, min_stake, ...)
-- The odds of each option are also kept as a field `odds:{key}` (what place_bet.lua reads, with no
-- JSON to decode per bet); match_odds.lua keeps them in step with `options`.
--
-- Reply:   Created          {0, mid}   created
--          AlreadyImported  {1, mid}   the external id was imported before, as match mid: nothing
--                                      written
-- Errors:  "ERR match exists" if KEYS[1] exists already (an id allocated twice: a bug).
if ARGV[2] ~= '' then
  local existing = redis.call('GET', KEYS[3])
  if existing then return {1, tonumber(existing)} end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('ERR match exists')
end
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'state', -1, 'live', 0, 'odds_ver', 1, 'result', '',
  'external_id', ARGV[2], 'start_at', ARGV[3], 'created_at', ARGV[4], 'updated_at', ARGV[4], 'ver', 1,
  unpack(fields))
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), ARGV[1])
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[3], ARGV[1])
end
local flat = redis.call('HGETALL', KEYS[1])
local snapshot = {}
for i = 1, #flat, 2 do snapshot[flat[i]] = flat[i + 1] end
redis.call('LPUSH', KEYS[4], cmsgpack.pack({ts = tonumber(ARGV[4]), table = 'match', key = ARGV[1], ver = 1, fields = snapshot}))
if snapshot.options then
  local odds = {}
  for _, o in ipairs(cjson.decode(snapshot.options)) do
    odds[#odds + 1] = 'odds:' .. o.key
    odds[#odds + 1] = string.format('%d', o.odds)
  end
  if #odds > 0 then redis.call('HSET', KEYS[1], unpack(odds)) end
end
if ARGV[5] ~= '' then
  redis.call('LPUSH', KEYS[4], ARGV[5])
end
local start, lead, mid = tonumber(ARGV[3]), tonumber(ARGV[6]), tonumber(ARGV[1])
redis.call('ZADD', KEYS[5], start, cmsgpack.pack({kind = 'auto_start', match_id = mid}))
if lead > 0 then
  redis.call('ZADD', KEYS[5], start - lead, cmsgpack.pack({kind = 'reminder', match_id = mid}))
end
return {0, mid}
