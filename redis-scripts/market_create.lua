-- market_create.lua — add a market to a match: a catalogue record of its own (options, odds,
-- limits, state, result), so bets, settlement and refunds work on it as on a match, with `parent`
-- naming the match. It takes the match's type, start time and liveness, starts pending if the match
-- is (approving the match approves it), else not open (0: staff open it); it is in no index, and
-- the match lists it in its `markets` field (ids, comma separated, in the order added).
--
-- KEYS[1]  match:{id}       the new market's record (hash)
-- KEYS[2]  match:{parent}   the match
-- KEYS[3]  q:outbox:{g}
-- ARGV[1]  the market's id (allocated by the caller: INCR seq:match)
-- ARGV[2]  the match's id
-- ARGV[3]  states of the match that take a new market, comma separated
-- ARGV[4]  now, Unix ms
-- ARGV[5]  audit record (MessagePack change record), or ""
-- ARGV[6..] field, value, ... of the market (market, options, min_stake, max_stake)
-- The odds of each option are also kept as a field `odds:{key}` (what place_bet.lua reads).
--
-- Reply:   Created     {0, id}     created
--          NoMatch     {2}         no such match, or it is itself a market: nothing written
--          NotEditable {3, state}  the match is in a state that takes no new market: nothing written
-- Errors:  "ERR match exists" if KEYS[1] exists already (an id allocated twice: a bug).
-- Cost:    HMGET, EXISTS, 2 HSET (3 with odds), HGETALL, 1-2 LPUSH: once per market added.
local p = redis.call('HMGET', KEYS[2], 'state', 'live', 'type', 'start_at', 'markets', 'parent')
if not p[1] or (p[6] and p[6] ~= '') then return {2} end
local allowed = false
for s in string.gmatch(ARGV[3], '[^,]+') do
  if tonumber(s) == tonumber(p[1]) then allowed = true end
end
if not allowed then return {3, tonumber(p[1])} end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('ERR match exists')
end
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
local state = (tonumber(p[1]) == -1) and -1 or 0
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'parent', ARGV[2], 'type', p[3], 'title', '', 'team_a', '', 'team_b', '',
  'state', state, 'live', p[2], 'odds_ver', 1, 'result', '', 'external_id', '', 'start_at', p[4],
  'created_at', ARGV[4], 'updated_at', ARGV[4], 'ver', 1, unpack(fields))
local markets = (p[5] and p[5] ~= '') and (p[5] .. ',' .. ARGV[1]) or ARGV[1]
redis.call('HSET', KEYS[2], 'markets', markets)
local flat = redis.call('HGETALL', KEYS[1])
local snapshot = {}
for i = 1, #flat, 2 do snapshot[flat[i]] = flat[i + 1] end
redis.call('LPUSH', KEYS[3], cmsgpack.pack({ts = tonumber(ARGV[4]), table = 'match', key = ARGV[1], ver = 1, fields = snapshot}))
local odds = {}
for _, o in ipairs(cjson.decode(snapshot.options)) do
  odds[#odds + 1] = 'odds:' .. o.key
  odds[#odds + 1] = string.format('%d', o.odds)
end
if #odds > 0 then redis.call('HSET', KEYS[1], unpack(odds)) end
if ARGV[5] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[5])
end
return {0, tonumber(ARGV[1])}
