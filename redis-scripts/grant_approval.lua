-- grant_approval.lua — maker–checker for large grants (gm.grant_approval_above): one admin asks,
-- another approves or rejects. Each step writes the record and its audit record at once, and a
-- request is decided once: a second decision changes nothing and answers the first (gm then applies
-- an approved grant with an idempotency id, so approving twice credits once).
--
-- KEYS[1]  {g}:approval:{id}  hash { id, uid, amount, reason, request_id, maker, state (pending,
--                             approved, rejected), created_at, checker, decided_at, result }
-- KEYS[2]  {g}:approvals      zset id -> created_at (ms), for listing (the newest ARGV[10] kept)
-- KEYS[3]  q:outbox:{g}       (audit records)
-- ARGV[1]  action: "ask", "approve", "reject" or "result"
-- ARGV[2]  now, Unix ms
-- ARGV[3]  the staff member acting
-- ARGV[4]  audit record (MessagePack change record), or ""
-- ask:     ARGV[5] id  ARGV[6] uid  ARGV[7] amount  ARGV[8] reason  ARGV[9] request id or ""
--          ARGV[10] how many the list keeps  ARGV[11] how long a record is kept, s
-- result:  ARGV[5] what came of the approved grant (JSON text)
--
-- Reply:   Asked      {0}                  ask: recorded, pending
--          Decided    {1, state}           approve / reject: decided now (approved, rejected)
--          Already    {2, state, checker}  approve / reject: decided before, by checker: nothing
--                                          written
--          OwnRequest {3}                  approve: the one who asked may not approve: nothing written
--          NoApproval {4}                  no such request (or no longer kept): nothing written
--          Recorded   {5}                  result: kept with the approved request
--          Exists     {6}                  ask: a request of that id exists: nothing written
-- Errors:  "ERR bad action" for another ARGV[1].
-- Cost:    ask: EXISTS, HSET, EXPIRE, ZADD, ZREMRANGEBYRANK, LPUSH; approve / reject: HMGET, HSET,
--          LPUSH; result: HGET, HSET.
local action, now, actor = ARGV[1], ARGV[2], ARGV[3]
local function audit() if ARGV[4] ~= '' then redis.call('LPUSH', KEYS[3], ARGV[4]) end end
if action == 'ask' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return {6} end
  redis.call('HSET', KEYS[1], 'id', ARGV[5], 'uid', ARGV[6], 'amount', ARGV[7], 'reason', ARGV[8],
    'request_id', ARGV[9], 'maker', actor, 'state', 'pending', 'created_at', now)
  redis.call('EXPIRE', KEYS[1], ARGV[11])
  redis.call('ZADD', KEYS[2], now, ARGV[5])
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[10]) - 1)
  audit()
  return {0}
end
if action == 'result' then
  if redis.call('HGET', KEYS[1], 'state') ~= 'approved' then return {4} end
  redis.call('HSET', KEYS[1], 'result', ARGV[5])
  return {5}
end
if action ~= 'approve' and action ~= 'reject' then return redis.error_reply('ERR bad action') end
local r = redis.call('HMGET', KEYS[1], 'state', 'maker', 'checker')
if not r[1] then return {4} end
if r[1] ~= 'pending' then return {2, r[1], r[3] or ''} end
if action == 'approve' and r[2] == actor then return {3} end
local state = action == 'approve' and 'approved' or 'rejected'
redis.call('HSET', KEYS[1], 'state', state, 'checker', actor, 'decided_at', now)
audit()
return {1, state}
