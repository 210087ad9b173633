-- push_user.lua — deliver pushes to a user: to every connection of theirs on a live connect node,
-- or, when none is live, into their inbox (if asked) — decided atomically, so a user logging in at
-- the same moment gets the frames either on the new connection or from the inbox, never neither.
-- Connections on nodes whose heartbeat has expired are removed from the online index.
--
-- The caller reads online:{uid} first (to name each connection's node keys, and to encode each
-- connection's element: connection ids do not fit a Lua number), and passes what it read; if the
-- index has gained or moved a connection since, nothing is written and the caller reads again.
--
-- KEYS[1]        online:{uid}        hash conn id -> node id
-- KEYS[2]        inbox:{uid}         list of client frames, newest first
-- KEYS[1+2i]     node:connect:{N_i}  heartbeat of the node of connection i (i = 1..C)
-- KEYS[2+2i]     q:push:{N_i}        push list of that node
-- ARGV[1]        inbox cap: keep at most this many frames; 0 = do not keep (online-only pushes)
-- ARGV[2]        TTL of a push list, ms (refreshed on every push; a dead node's list expires)
-- ARGV[3]        C, connections read     ARGV[4]  F, frames to deliver (>= 1)
-- ARGV[5..4+C]             the connection ids read
-- ARGV[5+C..4+2C]          their node ids
-- ARGV[5+2C..4+2C+F]       the client frames, oldest first (what goes into the inbox)
-- ARGV[5+2C+F..]           C*F elements [route, frame] for q:push, connection i's F elements
--                          at 5+2C+F+(i-1)*F .. 4+2C+F+i*F
--
-- Reply:   Delivered     {connections, kept, removed}  connections pushed to, frames kept in the
--                        inbox, stale connections removed
--          IndexChanged  {-1}  the online index changed since the caller read it: nothing written,
--                        read again
-- Errors:  none for valid input.
local cap, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local c, f = tonumber(ARGV[3]), tonumber(ARGV[4])
local read = {}
for i = 1, c do read[ARGV[4 + i]] = ARGV[4 + c + i] end
local online = redis.call('HGETALL', KEYS[1])
local now = {}
for j = 1, #online, 2 do
  if read[online[j]] ~= online[j + 1] then return {-1} end
  now[online[j]] = true
end

local pushed, removed = 0, 0
local frames = 4 + 2 * c
for i = 1, c do
  local conn = ARGV[4 + i]
  if now[conn] then -- (a connection gone since the read is skipped)
    if redis.call('EXISTS', KEYS[1 + 2 * i]) == 1 then
      local first = frames + f + (i - 1) * f
      for k = 1, f do
        redis.call('LPUSH', KEYS[2 + 2 * i], ARGV[first + k])
      end
      redis.call('PEXPIRE', KEYS[2 + 2 * i], ttl)
      pushed = pushed + 1
    else
      redis.call('HDEL', KEYS[1], conn)
      removed = removed + 1
    end
  end
end

local kept = 0
if pushed == 0 and cap > 0 then
  for k = 1, f do
    redis.call('LPUSH', KEYS[2], ARGV[frames + k])
  end
  redis.call('LTRIM', KEYS[2], 0, cap - 1)
  kept = f
end
return {pushed, kept, removed}
