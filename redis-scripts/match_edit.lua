-- match_edit.lua — edit a match (or one of its markets) where that is safe: its descriptive fields
-- (title, teams, stream link, a market's name) in any state but closed; its start time and type
-- only before it has started (the indexes, the delayed start and reminder, and its markets follow);
-- its betting terms (options, limits) only before betting ever opened (pending or not started),
-- when no bet can hold them — then the odds fields follow the options and `odds_ver` rises. Every
-- edit raises the record's version, queues a `match_updated` event (905 to the match's watchers
-- and bettors) and the record's change record (MySQL), atomically. Nothing is written when the edit
-- is refused.
--
-- KEYS[1]  match:{mid}   (a match, or a market: a record with `parent`)
-- KEYS[2]  matches:pending
-- KEYS[3]  matches:list:all       KEYS[4]  matches:list:{type}       (the type as read)
-- KEYS[5]  matches:doing:all      KEYS[6]  matches:doing:{type}
-- KEYS[7]  matches:finished:all   KEYS[8]  matches:finished:{type}
-- KEYS[9]  matches:list:{new type} (KEYS[4] again when the type does not change)
-- KEYS[10] q:notify:{g}           KEYS[11] q:outbox:{g}              KEYS[12] sched
-- KEYS[13..] match:{id} of each of the match's markets (their type and start time follow the match's)
-- ARGV[1]  the type the caller read (must be the stored one)
-- ARGV[2]  states that take an edit at all, comma separated
-- ARGV[3]  states that take a new start time or type (besides: not started)
-- ARGV[4]  states that take new betting terms
-- ARGV[5]  now, Unix ms
-- ARGV[6]  audit record (MessagePack change record), or ""
-- ARGV[7]  new start time (Unix ms), or ""
-- ARGV[8]  new type, or ""
-- ARGV[9]  "1" when the fields below change the betting terms (options, min_stake, max_stake)
-- ARGV[10] reminder lead time, ms before the start (0 = no reminder)
-- ARGV[11..] field, value, ... (title, team_a, team_b, stream_url, market, options, min_stake, max_stake)
--
-- Reply:   Edited       {0, ver}          edited: the record's new version
--          NotEditable  {1, state, why}   refused: why is "closed" (archived), "started" (the start
--                                         time or type of a match that started or ended) or
--                                         "opened" (betting terms once betting opened)
--          NotFound     {2}               no such match
-- Errors:  "ERR type mismatch" when ARGV[1] is not the stored type (read again and retry).
-- Cost:    HMGET, HSET, HGETALL, 2 LPUSH; with new terms HKEYS, HDEL, HSET; a move 7 ZREM, 2 ZADD and
--          2 sched ZADD, and per market HINCRBY, HSET, HGETALL, LPUSH: once per staff edit.
local m = redis.call('HMGET', KEYS[1], 'state', 'live', 'type', 'start_at', 'ver', 'parent', 'odds_ver', 'id')
if not m[1] then return {2} end
if m[3] ~= ARGV[1] then return redis.error_reply('ERR type mismatch') end
local function has(list, s)
  for x in string.gmatch(list, '[^,]+') do
    if tonumber(x) == s then return true end
  end
  return false
end
local state, live = tonumber(m[1]), m[2] == '1'
local moves = ARGV[7] ~= '' or ARGV[8] ~= ''
if not has(ARGV[2], state) then return {1, state, 'closed'} end
if moves and (live or not has(ARGV[3], state)) then return {1, state, 'started'} end
if ARGV[9] == '1' and not has(ARGV[4], state) then return {1, state, 'opened'} end

local now, ver, mid = tonumber(ARGV[5]), tonumber(m[5]) + 1, m[8]
local parent = (m[6] and m[6] ~= '') and tonumber(m[6]) or nil
local update = {'ver', ver, 'updated_at', now}
for i = 11, #ARGV do update[#update + 1] = ARGV[i] end
local start, kind = tonumber(m[4]), m[3]
if ARGV[7] ~= '' then
  start = tonumber(ARGV[7])
  update[#update + 1] = 'start_at'
  update[#update + 1] = ARGV[7]
end
if ARGV[8] ~= '' then
  kind = ARGV[8]
  update[#update + 1] = 'type'
  update[#update + 1] = ARGV[8]
end
if ARGV[9] == '1' then
  -- New terms: the odds fields are the new options', and bets on the old terms are refused (1005).
  local stale = {}
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 5) == 'odds:' then stale[#stale + 1] = f end
  end
  if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
  update[#update + 1] = 'odds_ver'
  update[#update + 1] = tonumber(m[7]) + 1
end
redis.call('HSET', KEYS[1], unpack(update))
if ARGV[9] == '1' then
  local odds = {}
  for _, o in ipairs(cjson.decode(redis.call('HGET', KEYS[1], 'options'))) do
    odds[#odds + 1] = 'odds:' .. o.key
    odds[#odds + 1] = string.format('%d', o.odds)
  end
  if #odds > 0 then redis.call('HSET', KEYS[1], unpack(odds)) end
end
if moves and not parent then
  -- Not started (checked above): pending, or in the upcoming list.
  for i = 2, 8 do redis.call('ZREM', KEYS[i], mid) end
  if state == -1 then
    redis.call('ZADD', KEYS[2], start, mid)
  else
    redis.call('ZADD', KEYS[3], start, mid)
    redis.call('ZADD', KEYS[9], start, mid)
  end
  -- The start and the reminder at the new time; one due at the old time finds the match's start
  -- time moved and does nothing (pushsvr's auto_start and reminder check it).
  local lead = tonumber(ARGV[10])
  redis.call('ZADD', KEYS[12], start, cmsgpack.pack({kind = 'auto_start', match_id = tonumber(mid)}))
  if lead > 0 then
    redis.call('ZADD', KEYS[12], start - lead, cmsgpack.pack({kind = 'reminder', match_id = tonumber(mid)}))
  end
  for i = 13, #KEYS do
    local mver = redis.call('HINCRBY', KEYS[i], 'ver', 1)
    redis.call('HSET', KEYS[i], 'type', kind, 'start_at', start, 'updated_at', now)
    local flat = redis.call('HGETALL', KEYS[i])
    local snapshot = {}
    for j = 1, #flat, 2 do snapshot[flat[j]] = flat[j + 1] end
    redis.call('LPUSH', KEYS[11], cmsgpack.pack({ts = now, table = 'match', key = snapshot.id, ver = mver, fields = snapshot}))
  end
end
redis.call('LPUSH', KEYS[10], cmsgpack.pack({kind = 'match_updated', match_id = parent or tonumber(mid), ts = now}))
local flat = redis.call('HGETALL', KEYS[1])
local snapshot = {}
for i = 1, #flat, 2 do snapshot[flat[i]] = flat[i + 1] end
redis.call('LPUSH', KEYS[11], cmsgpack.pack({ts = now, table = 'match', key = mid, ver = ver, fields = snapshot}))
if ARGV[6] ~= '' then
  redis.call('LPUSH', KEYS[11], ARGV[6])
end
return {0, ver}
