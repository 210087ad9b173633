-- user_ban.lua — ban a user: mark them banned, revoke every session of theirs, and name each live
-- connection of theirs for the caller to close (1008 "banned"), atomically. Once marked, no
-- session can be opened or resumed (session_open.lua answers 1009), so what this script revokes is
-- everything there is. Idempotent: banning a banned user changes nothing about the ban (its reason,
-- who, when) and writes no change or audit record, but still revokes and closes whatever it finds.
--
-- Everything here is in the user's shard (one slot); the caller then appends each close frame to
-- its connection's node push list (`q:push:{N}`, the node's own slot: docs/scaling.md).
--
-- The caller reads sessions:{uid} and online:{uid} first, and each connection's node heartbeat
-- (`node:connect:{N}`), and passes what it read. If either index holds an entry it was not passed,
-- the user is marked (so neither index can gain a session from now on) but nothing else is done:
-- the caller reads again and calls again.
--
-- KEYS[1]          user:{uid}          hash; gets banned = 1, ban_reason, banned_by, banned_at, ban_ver
-- KEYS[2]          sessions:{uid}      zset sid -> expiry
-- KEYS[3]          online:{uid}        hash conn id -> node id
-- KEYS[4]          q:outbox:{s}   (the user's shard)            change records (user_ban) and the audit record
-- KEYS[4+s]        session:{sid_s}     for each sid read (s = 1..S)
-- KEYS[5+S]        wallet:{uid}        hash; gets banned = 1 (the mirror place_bet.lua reads), last
-- ARGV[1]  uid
-- ARGV[2]  reason (staff's words)
-- ARGV[3]  who (staff name)
-- ARGV[4]  now, Unix ms
-- ARGV[5]  audit record (MessagePack change record), or ""
-- ARGV[6]  S, sessions read    ARGV[7]  C, connections read
-- ARGV[8..7+S]              the sids read
-- ARGV[8+S..7+S+C]          the connection ids read
-- ARGV[8+S+C..7+S+2C]       their node ids
-- ARGV[8+S+2C..7+S+3C]      "1" if the connection's node was live when read, "0" if not
--
-- Reply:   Banned        {0, marked, revoked, removed, i...}  banned: revoked = sessions revoked,
--                        removed = stale connections removed, then the positions (1-based, in the
--                        order read) of the connections the caller is to close (live when read and
--                        still in the index); marked = 1 when this call banned the user, 0 when
--                        they were banned already
--          IndexChanged  {-1, marked}   an index changed since the caller read it: read again,
--                                       call again
--          NoUser        {1007}         no such user: nothing written
-- Errors:  none for valid input.
-- Cost:    EXISTS, HGET, ZRANGE, HGETALL, DEL; marking adds HINCRBY, 2 HSET, 1 or 2 LPUSH; then a
--          DEL per session and an HDEL per stale connection.
if redis.call('EXISTS', KEYS[1]) == 0 then return {1007} end
local uid, now = ARGV[1], tonumber(ARGV[4])
local marked = 0
if redis.call('HGET', KEYS[1], 'banned') ~= '1' then
  local ver = redis.call('HINCRBY', KEYS[1], 'ban_ver', 1)
  redis.call('HSET', KEYS[1], 'banned', 1, 'ban_reason', ARGV[2], 'banned_by', ARGV[3], 'banned_at', ARGV[4])
  redis.call('HSET', KEYS[#KEYS], 'banned', 1)
  redis.call('LPUSH', KEYS[4], cmsgpack.pack({ts = now, table = 'user_ban', key = uid, ver = ver,
    fields = {banned = 1, reason = ARGV[2], by = ARGV[3], at = now}}))
  if ARGV[5] ~= '' then
    redis.call('LPUSH', KEYS[4], ARGV[5])
  end
  marked = 1
end

local s, c = tonumber(ARGV[6]), tonumber(ARGV[7])
local sids = {}
for i = 1, s do sids[ARGV[7 + i]] = true end
for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if not sids[sid] then return {-1, marked} end
end
local read = {}
for i = 1, c do read[ARGV[7 + s + i]] = ARGV[7 + s + c + i] end
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

local reply, removed = {0, marked, revoked, 0}, 0
for i = 1, c do
  local conn = ARGV[7 + s + i]
  if now_online[conn] then -- (a connection gone since the read is skipped)
    if ARGV[7 + s + 2 * c + i] == '1' then
      reply[#reply + 1] = i
    else
      redis.call('HDEL', KEYS[3], conn)
      removed = removed + 1
    end
  end
end
reply[4] = removed
return reply
