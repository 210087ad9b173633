-- login_guard.lua — the failed-login limit, checked and counted in one step BEFORE the password is
-- hashed, so a burst of logins cannot all pass the check before the first failure is recorded.
-- An "attempt" is counted as a failure up front; the caller then verifies the password and, on
-- success, calls again with "success", which takes the attempt back. Three counters, each in a window
-- that starts at its first failure:
--   pair     failures of this account from this address group: the account's lock as this address
--            sees it (a correct password from another address is not refused by it);
--   address  failures from this address group over all accounts (credential stuffing);
--   account  failures of this account from every address (guessing from many addresses).
-- The address and account limits do not apply to an (address, account) that logged in successfully
-- within the known-login TTL, so players behind one NAT keep logging in while others fail there.
--
-- KEYS[1]  loginfail:pair:{addr group}:{account}   string counter
-- KEYS[2]  loginfail:addr:{addr group}             string counter
-- KEYS[3]  loginfail:user:{account}                string counter
-- KEYS[4]  loginok:{addr group}:{account}          string marker: a recent successful login
-- ARGV[1]  "attempt" (check, then count a failure) or "success" (take the attempt back, clear the pair,
--          mark the (address, account) known)
-- ARGV[2]  the failure window, ms
-- ARGV[3]  pair limit      ARGV[4]  address limit      ARGV[5]  account limit   (integers >= 1)
-- ARGV[6]  how long a success keeps the (address, account) known, ms
--
-- Reply:   Allowed  {0}                         attempt counted (go on and verify the password);
--                                                or success recorded
--          Refused  {5, retry_after_ms, which}  refused, nothing counted; which = "pair",
--                                                "address" or "account"
-- Errors:  "ERR bad mode" for any other ARGV[1] (nothing written).
local window = tonumber(ARGV[2])
if ARGV[1] == 'success' then
  for i = 2, 3 do
    if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('DECR', KEYS[i]) <= 0 then
      redis.call('DEL', KEYS[i])
    end
  end
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[6])
  return {0}
end
if ARGV[1] ~= 'attempt' then
  return redis.error_reply('ERR bad mode')
end
local known = redis.call('EXISTS', KEYS[4]) == 1
local checks = {{1, 'pair', tonumber(ARGV[3])}, {2, 'address', tonumber(ARGV[4])}, {3, 'account', tonumber(ARGV[5])}}
for _, c in ipairs(checks) do
  if c[1] == 1 or not known then
    local n = tonumber(redis.call('GET', KEYS[c[1]]) or '0')
    if n >= c[3] then
      return {5, math.max(redis.call('PTTL', KEYS[c[1]]), 1), c[2]}
    end
  end
end
for i = 1, 3 do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('PEXPIRE', KEYS[i], window)
  end
end
return {0}
