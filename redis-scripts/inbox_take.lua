-- inbox_take.lua — take every push kept for an offline user, atomically (connect delivers them
-- right after the login or resume reply).
--
-- KEYS[1]  inbox:{uid}   list of client frames, newest first
--
-- Reply:   Taken  {frame, ...}  the frames, newest first (the caller sends them in reverse: oldest
--                 first); the list is gone
-- Errors:  none.
local frames = redis.call('LRANGE', KEYS[1], 0, -1)
if #frames > 0 then
  redis.call('DEL', KEYS[1])
end
return frames
