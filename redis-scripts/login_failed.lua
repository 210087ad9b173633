-- login_failed.lua — count one failed login against the account and against the address, in a
-- sliding-from-the-first-failure window, atomically (two logins failing at once both count).
--
-- KEYS[1]  login-failures counter of the account (string; keys.login_failures_user)
-- KEYS[2]  login-failures counter of the client address (string; keys.login_failures_addr)
-- ARGV[1]  the window in ms: a counter expires this long after the first failure it counts
--
-- Reply:   {failures of the account, failures of the address}, this one included.
-- Errors:  none for valid input; a window that is not a positive number is an error from PEXPIRE.
local window = tonumber(ARGV[1])
local counts = {}
for i = 1, 2 do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then
    redis.call('PEXPIRE', KEYS[i], window)
  end
  counts[i] = n
end
return counts
