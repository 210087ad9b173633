-- match_copy.lua — bring one shard's copy of a match up to a version of the catalogue record: what
-- a bet and a settlement batch in that shard read (state, odds, limits, result), so they run in the
-- shard's own slot (docs/scaling.md). gm's transitions and odds changes copy the match to every
-- shard before they answer; resultcenter copies it again when a shard's copy lags its job. A copy
-- only moves forward: a version older than (or equal to) the one the shard holds writes nothing, so
-- copies arriving out of order or repeated leave the newest. The shard's own counters (`settled`,
-- `paid`: settle_batch.lua) are not touched.
--
-- KEYS[1]  {s}:match:{mid}   the shard's copy (hash)
-- ARGV[1]  the catalogue record's version (`ver`)
-- ARGV[2..] field, value, ... (state, live, odds_ver, options, min_stake, max_stake, result, odds:{key}, ...)
--
-- Reply:   Copied  {0, ver}    the copy holds this version now
--          Newer   {1, held}   the copy held this version or a newer one: nothing written
-- Errors:  "ERR bad version" when ARGV[1] is not a non-negative integer (nothing written).
-- Cost:    HGET, HSET of the fields: 2 commands.
local ver = tonumber(ARGV[1])
if not ver or ver < 0 or ver % 1 ~= 0 then return redis.error_reply('ERR bad version') end
local held = tonumber(redis.call('HGET', KEYS[1], 'ver') or '-1')
if held >= ver then return {1, held} end
local fields = {'ver', ARGV[1]}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
return {0, ver}
