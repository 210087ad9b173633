-- user_ban.lua — ban a user: mark them banned, revoke every session of theirs, and tell the connect
-- node of each live connection of theirs to close it (1008 "banned"), atomically. Once marked, no
-- session can be opened or resumed (session_open.lua answers 1009), so what this script revokes is
-- everything there is. Idempotent: banning a banned user changes nothing about the ban (its reason,
-- who, when) and writes no change or audit record, but still revokes and closes whatever it finds.
--
-- The caller reads sessions:{uid} and online:{uid} first (to name the session keys and each
-- connection's node keys, and to encode each connection's close element: connection ids do not fit
-- a Lua number), and passes what it read. If either index holds an entry it was not passed, the user
-- is marked (so neither index can gain a session from now on) but nothing else is done: the caller
-- reads again and calls again.
--
-- KEYS[1]          user:{uid}          hash; gets banned = 1, ban_reason, banned_by, banned_at, ban_ver
-- KEYS[2]          sessions:{uid}      zset sid -> expiry
-- KEYS[3]          online:{uid}        hash conn id -> node id
-- KEYS[4]          q:outbox:{s}   (the user's shard)            change records (user_ban) and the audit record
-- KEYS[4+s]        session:{sid_s}     for each sid read (s = 1..S)
-- KEYS[3+S+2c]     node:connect:{N_c}  heartbeat of the node of connection c (c = 1..C)
-- KEYS[4+S+2c]     q:push:{N_c}        push list of that node
-- KEYS[5+S+2C]     wallet:{uid}        hash; gets banned = 1 (the mirror place_bet.lua reads), last
-- ARGV[1]  uid
-- ARGV[2]  reason (staff's words)
-- ARGV[3]  who (staff name)
-- ARGV[4]  now, Unix ms
-- ARGV[5]  TTL of a push list, ms (refreshed on every push; a dead node's list expires)
-- ARGV[6]  audit record (MessagePack change record), or ""
-- ARGV[7]  S, sessions read    ARGV[8]  C, connections read
-- ARGV[9..8+S]              the sids read
-- ARGV[9+S..8+S+C]          the connection ids read
-- ARGV[9+S+C..8+S+2C]       their node ids
-- ARGV[9+S+2C..8+S+3C]      each connection's close element [route, frame] for its q:push
--
-- Reply:   Banned        {0, marked, revoked, closed, removed}  banned: revoked = sessions
--                        revoked, closed = connections closed, removed = stale connections removed;
--                        marked = 1 when this call banned the user, 0 when they were banned already
--          IndexChanged  {-1, marked}   an index changed since the caller read it: read again,
--                                       call again
--          NoUser        {1007}         no such user: nothing written
-- Errors:  none for valid input.
-- Cost:    EXISTS, HGET, ZRANGE, HGETALL, DEL; marking adds HINCRBY, 2 HSET, 1 or 2 LPUSH; then a
--          DEL per session and EXISTS, LPUSH, PEXPIRE (or HDEL) per connection.
if redis.call('EXISTS', KEYS[1]) == 0 then return {1007} end
local uid, now = ARGV[1], tonumber(ARGV[4])
local marked = 0
if redis.call('HGET', KEYS[1], 'banned') ~= '1' then
  local ver = redis.call('HINCRBY', KEYS[1], 'ban_ver', 1)
  redis.call('HSET', KEYS[1], 'banned', 1, 'ban_reason', ARGV[2], 'banned_by', ARGV[3], 'banned_at', ARGV[4])
  redis.call('HSET', KEYS[#KEYS], 'banned', 1)
  redis.call('LPUSH', KEYS[4], cmsgpack.pack({ts = now, table = 'user_ban', key = uid, ver = ver,
    fields = {banned = 1, reason = ARGV[2], by = ARGV[3], at = now}}))
  if ARGV[6] ~= '' then
    redis.call('LPUSH', KEYS[4], ARGV[6])
  end
  marked = 1
end

local s, c = tonumber(ARGV[7]), tonumber(ARGV[8])
local sids = {}
for i = 1, s do sids[ARGV[8 + i]] = true end
for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if not sids[sid] then return {-1, marked} end
end
local read = {}
for i = 1, c do read[ARGV[8 + s + i]] = ARGV[8 + s + c + i] end
local online = redis.call('HGETALL', KEYS[3])
local now_online = {}
for j = 1, #online, 2 do
  if read[online[j]] ~= online[j + 1] then return {-1, marked} end
  now_online[online[j]] = true
end

local revoked = 0
for i = 1, s do
  revoked = revoked + redis.call('DEL', KEYS[4 + i])
end
redis.call('DEL', KEYS[2])

local closed, removed = 0, 0
local ttl = tonumber(ARGV[5])
for i = 1, c do
  local conn = ARGV[8 + s + i]
  if now_online[conn] then -- (a connection gone since the read is skipped)
    if redis.call('EXISTS', KEYS[3 + s + 2 * i]) == 1 then
      redis.call('LPUSH', KEYS[4 + s + 2 * i], ARGV[8 + s + 2 * c + i])
      redis.call('PEXPIRE', KEYS[4 + s + 2 * i], ttl)
      closed = closed + 1
    else
      redis.call('HDEL', KEYS[3], conn)
      removed = removed + 1
    end
  end
end
return {0, marked, revoked, closed, removed}
