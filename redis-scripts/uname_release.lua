-- uname_release.lua — let go of a username: after an account's deletion (210) its name stays held
-- for `logic.deleted_name_hold_days` (the index kept, marked deleted, expiring; a register or a link
-- of the name meanwhile is 1002), or with 0 s it is free at once (a link that claimed a name and
-- then failed). Only the user the index points at lets it go.
--
-- KEYS[1]  uname:{lowercased name}   hash { uid, reg [, deleted] }
-- ARGV[1]  uid
-- ARGV[2]  seconds to keep holding the name (0: delete the index now)
--
-- Reply:   Released  {0}   done
--          NotHeld   {1}   the index does not point at uid (gone, or another user's): nothing written
-- Errors:  none for valid input.
-- Cost:    HGET, then DEL or HSET and EXPIRE.
if redis.call('HGET', KEYS[1], 'uid') ~= ARGV[1] then return {1} end
if tonumber(ARGV[2]) == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'deleted', 1)
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return {0}
