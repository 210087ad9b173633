-- push_user.lua — decide where a user's pushes go: to their connections on live connect nodes, or,
-- when none is live, into their inbox (if asked) — decided atomically against the online index, so
-- a user logging in at the same moment gets the frames either on the new connection or from the
-- inbox, never neither. Connections on nodes whose heartbeat has expired are removed from the index.
-- Everything here is in the user's shard (one slot); the caller then appends the frames to each
-- live connection's node push list (`q:push:{N}`, the node's own slot: docs/scaling.md).
--
-- The caller reads online:{uid} first, and each node's heartbeat (`node:connect:{N}`), and passes
-- what it read; if the index has gained or moved a connection since, nothing is written and the
-- caller reads again.
--
-- KEYS[1]        online:{uid}        hash conn id -> node id
-- KEYS[2]        inbox:{uid}         list of client frames, newest first
-- ARGV[1]        inbox cap: keep at most this many frames; 0 = do not keep (online-only pushes)
-- ARGV[2]        C, connections read     ARGV[3]  F, frames (>= 1)
-- ARGV[4..3+C]             the connection ids read
-- ARGV[4+C..3+2C]          their node ids
-- ARGV[4+2C..3+3C]         "1" if the connection's node was live when read, "0" if not
-- ARGV[4+3C..3+3C+F]       the client frames, oldest first (what goes into the inbox)
--
-- Reply:   Delivered     {kept, removed, i...}  frames kept in the inbox, stale connections removed,
--                        then the positions (1-based, in the order read) of the connections the
--                        caller is to push to: live when read and still in the index
--          IndexChanged  {-1}  the online index changed since the caller read it: nothing written,
--                        read again
-- Errors:  none for valid input.
-- Cost:    HGETALL, and an HDEL per stale connection or LPUSH + LTRIM for the inbox.
local cap, c, f = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local read = {}
for i = 1, c do read[ARGV[3 + i]] = ARGV[3 + c + i] end
local online = redis.call('HGETALL', KEYS[1])
local now = {}
for j = 1, #online, 2 do
  if read[online[j]] ~= online[j + 1] then return {-1} end
  now[online[j]] = true
end
local reply, removed = {0, 0}, 0
for i = 1, c do
  local conn = ARGV[3 + i]
  if now[conn] then -- (a connection gone since the read is skipped)
    if ARGV[3 + 2 * c + i] == '1' then
      reply[#reply + 1] = i
    else
      redis.call('HDEL', KEYS[1], conn)
      removed = removed + 1
    end
  end
end
local kept = 0
if #reply == 2 and cap > 0 then
  for k = 1, f do
    redis.call('LPUSH', KEYS[2], ARGV[3 + 3 * c + k])
  end
  redis.call('LTRIM', KEYS[2], 0, cap - 1)
  kept = f
end
reply[1], reply[2] = kept, removed
return reply
