-- match_odds.lua — change the odds of some options of a match and bump its odds version, so a bet
-- placed against the old odds is refused with "odds changed". Keeps the `odds:{key}` fields (read
-- by place_bet.lua) in step with `options`.
--
-- KEYS[1]  match:{mid}
-- KEYS[2]  q:outbox:{g}
-- ARGV[1]  states in which odds may change, comma separated
-- ARGV[2]  JSON object { option key: new odds (integer thousandths, > 1000) }
-- ARGV[3]  now, Unix ms
-- ARGV[4]  audit record (MessagePack change record), or ""
--
-- Reply:   Changed      {0, odds_ver}  done
--          NotEditable  {1, state}     odds cannot change in this state
--          NotFound     {2}            no such match
--          NoOption     {3, key}       no option with this key (nothing written)
-- Errors:  "ERR bad odds" for an odds value that is not an integer > 1000 (nothing written).
local m = redis.call('HMGET', KEYS[1], 'state', 'options', 'odds_ver', 'ver', 'id')
if not m[1] then return {2} end
local state = tonumber(m[1])
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if tonumber(s) == state then allowed = true end
end
if not allowed then return {1, state} end
local options = cjson.decode(m[2])
local changes = cjson.decode(ARGV[2])
for key, odds in pairs(changes) do
  if type(odds) ~= 'number' or odds <= 1000 or odds % 1 ~= 0 then
    return redis.error_reply('ERR bad odds')
  end
  local found = false
  for _, o in ipairs(options) do
    if o.key == key then found = true end
  end
  if not found then return {3, key} end
end
for _, o in ipairs(options) do
  if changes[o.key] then o.odds = changes[o.key] end
end
local odds_ver, ver, now = tonumber(m[3]) + 1, tonumber(m[4]) + 1, tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'options', cjson.encode(options), 'odds_ver', odds_ver, 'ver', ver, 'updated_at', now)
for key, odds in pairs(changes) do
  redis.call('HSET', KEYS[1], 'odds:' .. key, string.format('%d', odds))
end
local flat = redis.call('HGETALL', KEYS[1])
local snapshot = {}
for i = 1, #flat, 2 do snapshot[flat[i]] = flat[i + 1] end
redis.call('LPUSH', KEYS[2], cmsgpack.pack({ts = now, table = 'match', key = m[5], ver = ver, fields = snapshot}))
if ARGV[4] ~= '' then
  redis.call('LPUSH', KEYS[2], ARGV[4])
end
return {0, odds_ver}
