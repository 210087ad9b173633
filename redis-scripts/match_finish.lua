-- match_finish.lua — finish a settled (or refunded) match in the catalogue, once every shard has
-- settled its part (settle_batch.lua): the match goes through its final states (3 → 4 settled → 9
-- credited, every payout having been delivered by the batches; or 6/7 → 8 refunded), from the
-- doing/list indexes to finished, with an event per state and the record's change record; the
-- shards' totals (bets settled, coins paid) are written to the record. Run by each resultcenter
-- part that finds every shard empty: the first one finishes, the others find it finished. A market
-- of a match (`parent`) is finished the same way but is in no index; its events name the match
-- (match_id) and the market (market_id).
--
-- KEYS[1]  match:{mid}            (the catalogue record, {g})
-- KEYS[2]  q:notify:{g}           KEYS[3]  q:outbox:{g}
-- KEYS[4]  matches:doing:all      KEYS[5]  matches:doing:{type}
-- KEYS[6]  matches:finished:all   KEYS[7]  matches:finished:{type}
-- KEYS[8]  matches:list:all       KEYS[9]  matches:list:{type}
-- ARGV[1]  the final steps in order, "state:action" comma separated ("4:settled,9:credited" for
--          settle, "8:refunded" for refund); each step's event names its action
-- ARGV[2]  states the first final transition is allowed from, comma separated ("3", or "6,7")
-- ARGV[3]  bets settled, summed over the shards (integer string)
-- ARGV[4]  coins paid, summed over the shards (integer string)
-- ARGV[5]  now, Unix ms
--
-- Reply:   Finished     {0, from, to}  finished now
--          NotFinishable {1, state}    the match is not in a state these steps start from (another
--                                      part finished it first, or it is not settling): nothing written
--          NotFound     {2}            no such match
-- Errors:  none for valid input.
-- Cost:    HMGET, HSET, a ZREM per index and 2 ZADD, HGETALL, one LPUSH per step and one to the
--          outbox: about 15 commands, once per match.
local m = redis.call('HMGET', KEYS[1], 'state', 'ver', 'start_at', 'id', 'parent')
if not m[1] then return {2} end
local state = tonumber(m[1])
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if tonumber(s) == state then allowed = true end
end
if not allowed then return {1, state} end
local now, mid = tonumber(ARGV[5]), tonumber(m[4])
local parent = (m[5] and m[5] ~= '') and tonumber(m[5]) or nil
local from, final = state, state
for code, action in string.gmatch(ARGV[1], '(-?%d+):([%a_]+)') do
  final = tonumber(code)
  redis.call('LPUSH', KEYS[2], cmsgpack.pack({kind = 'match_state', match_id = parent or mid, market_id = mid,
    state = final, from = from, action = action, ts = now}))
  from = final
end
local ver = tonumber(m[2]) + 1
redis.call('HSET', KEYS[1], 'state', final, 'ver', ver, 'updated_at', now, 'settled', ARGV[3], 'paid', ARGV[4])
if not parent then
  for i = 4, 9 do redis.call('ZREM', KEYS[i], mid) end
  redis.call('ZADD', KEYS[6], tonumber(m[3]), mid)
  redis.call('ZADD', KEYS[7], tonumber(m[3]), mid)
end
local flat = redis.call('HGETALL', KEYS[1])
local snapshot = {}
for i = 1, #flat, 2 do snapshot[flat[i]] = flat[i + 1] end
redis.call('LPUSH', KEYS[3], cmsgpack.pack({ts = now, table = 'match', key = m[4], ver = ver, fields = snapshot}))
return {0, state, final}
