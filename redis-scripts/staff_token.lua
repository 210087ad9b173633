-- staff_token.lua — an API token for automation, made by an admin for a named staff member and
-- role, or revoked; with the audit record, atomically. Redis keeps the token's SHA-256 only (the
-- token itself is shown once); the record expires with the token.
--
-- KEYS[1]  {g}:staff_token:{sha256}  hash { id, owner, role, created_by, created_at, expires_at,
--                                    last_used }
-- KEYS[2]  {g}:staff_token_ids       hash id -> sha256
-- KEYS[3]  q:outbox:{g}
-- ARGV[1]  "create" or "revoke"
-- ARGV[2]  id    ARGV[3]  now, Unix ms    ARGV[4]  audit record (MessagePack change record) or ""
-- create:  ARGV[5] sha256  ARGV[6] owner  ARGV[7] role  ARGV[8] created_by  ARGV[9] expires_at (ms)
--
-- Reply:   Created  {0}   create: recorded
--          Revoked  {1}   revoke: the token stopped working
--          Exists   {2}   create: a token of that id or hash exists: nothing written
--          NoToken  {3}   revoke: no such token (revoked, expired or never made): nothing written
-- Errors:  "ERR bad mode" for another ARGV[1].
-- Cost:    create: HEXISTS, EXISTS, HSET ×2, PEXPIREAT, LPUSH; revoke: HGET, DEL, HDEL, LPUSH.
if ARGV[1] == 'create' then
  if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 or redis.call('EXISTS', KEYS[1]) == 1 then return {2} end
  redis.call('HSET', KEYS[1], 'id', ARGV[2], 'owner', ARGV[6], 'role', ARGV[7], 'created_by', ARGV[8],
    'created_at', ARGV[3], 'expires_at', ARGV[9])
  redis.call('PEXPIREAT', KEYS[1], ARGV[9])
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[5])
elseif ARGV[1] == 'revoke' then
  if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('HDEL', KEYS[2], ARGV[2])
    return {3}
  end
  redis.call('DEL', KEYS[1])
  redis.call('HDEL', KEYS[2], ARGV[2])
else
  return redis.error_reply('ERR bad mode')
end
if ARGV[4] ~= '' then redis.call('LPUSH', KEYS[3], ARGV[4]) end
if ARGV[1] == 'create' then return {0} end
return {1}
