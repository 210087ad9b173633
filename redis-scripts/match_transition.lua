-- match_transition.lua — change a match's state by one row of the transition table
-- (protocol::matches::TRANSITIONS, whose row the caller passes), move it between the indexes, queue
-- a settlement job if the row has one, emit a "match state" event, and record the change — atomically.
-- Nothing is written when the transition is not allowed. A market of a match (a record with
-- `parent`: market_create.lua) changes state the same way but is in no index, and its event names
-- its match (match_id) and itself (market_id).
--
-- KEYS[1]  match:{mid}
-- KEYS[2]  matches:pending
-- KEYS[3]  matches:list:all       KEYS[4]  matches:list:{type}
-- KEYS[5]  matches:doing:all      KEYS[6]  matches:doing:{type}
-- KEYS[7]  matches:finished:all   KEYS[8]  matches:finished:{type}
-- KEYS[9]  q:notify:{g}               KEYS[10] q:settle:{g}            KEYS[11] q:outbox:{g}
-- ARGV[1]  action name (for the event and the job)
-- ARGV[2]  allowed from-states, comma separated ("0,1")
-- ARGV[3]  the new state
-- ARGV[4]  liveness rule: "starts" (only before the start; marks the match started), "required"
--          (only once it has started), or "any"
-- ARGV[5]  job for resultcenter: "settle", "refund" or ""
-- ARGV[6]  winner option key to record as the result, or ""
-- ARGV[7]  now, Unix ms
-- ARGV[8]  the match's type (must equal its stored type; names the per-type indexes)
-- ARGV[9]  index family of the new state if the match has not started: pending|list|doing|finished
-- ARGV[10] index family of the new state if it has started
-- ARGV[11] audit record (MessagePack change record), or ""
--
-- Reply:   Done      {0, from, to}     done
--          Illegal   {1, state, live}  not allowed from the current state (live: 1 if started)
--          NotFound  {2}               no such match
-- Errors:  "ERR type mismatch" when ARGV[8] is not the match's type (nothing written).
local m = redis.call('HMGET', KEYS[1], 'state', 'live', 'type', 'start_at', 'ver', 'parent')
if not m[1] then return {2} end
if m[3] ~= ARGV[8] then return redis.error_reply('ERR type mismatch') end
local state, live = tonumber(m[1]), tonumber(m[2]) == 1
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if tonumber(s) == state then allowed = true end
end
if not allowed or (ARGV[4] == 'starts' and live) or (ARGV[4] == 'required' and not live) then
  return {1, state, live and 1 or 0}
end

if ARGV[4] == 'starts' then live = true end
local to, ver, now = tonumber(ARGV[3]), tonumber(m[5]) + 1, tonumber(ARGV[7])
local mid = redis.call('HGET', KEYS[1], 'id')
local update = {'state', to, 'live', live and 1 or 0, 'ver', ver, 'updated_at', now}
if ARGV[6] ~= '' then
  update[#update + 1] = 'result'
  update[#update + 1] = ARGV[6]
end
redis.call('HSET', KEYS[1], unpack(update))
local parent = (m[6] and m[6] ~= '') and tonumber(m[6]) or nil
if not parent then
  for i = 2, 8 do redis.call('ZREM', KEYS[i], mid) end
  local family = live and ARGV[10] or ARGV[9]
  local score = tonumber(m[4])
  if family == 'pending' then
    redis.call('ZADD', KEYS[2], score, mid)
  else
    local base = ({list = 3, doing = 5, finished = 7})[family]
    redis.call('ZADD', KEYS[base], score, mid)
    redis.call('ZADD', KEYS[base + 1], score, mid)
  end
end
if ARGV[5] ~= '' then
  redis.call('LPUSH', KEYS[10], cmsgpack.pack({kind = ARGV[5], match_id = tonumber(mid), winner = ARGV[6], ts = now}))
end
redis.call('LPUSH', KEYS[9], cmsgpack.pack({kind = 'match_state', match_id = parent or tonumber(mid),
  market_id = tonumber(mid), state = to, from = state, action = ARGV[1], ts = now}))
local flat = redis.call('HGETALL', KEYS[1])
local snapshot = {}
for i = 1, #flat, 2 do snapshot[flat[i]] = flat[i + 1] end
redis.call('LPUSH', KEYS[11], cmsgpack.pack({ts = now, table = 'match', key = mid, ver = ver, fields = snapshot}))
if ARGV[11] ~= '' then
  redis.call('LPUSH', KEYS[11], ARGV[11])
end
return {0, state, to}
