-- uname_claim.lua — a username for a user who exists already (209 link_account): the name index
-- points at the user unless another user holds the name. It runs in the name's shard; the user
-- lives in another (a guest's is its device's), so account_link.lua gives the user the name in a
-- second step. A claim that step does not follow is taken back by uname_release.lua with 0 s.
--
-- KEYS[1]  uname:{lowercased name}   hash { uid, reg }
-- ARGV[1]  uid
-- ARGV[2]  trace id of the claiming frame (kept as `reg`)
--
-- Reply:   Claimed        {0}      the index points at uid (now, or already did)
--          UsernameTaken  {1002}   another user holds the name (or held it: deleted, kept a while)
-- Errors:  none for valid input.
-- Cost:    HGET, HSET.
local held = redis.call('HGET', KEYS[1], 'uid')
if held and held ~= ARGV[1] then return {1002} end
if not held then redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'reg', ARGV[2]) end
return {0}
