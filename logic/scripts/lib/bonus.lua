-- lib/bonus.lua — the daily bonus rules, shared by the modules of this folder (require "lib.bonus").

local M = {}

-- Coins for a sign-in on the `streak`th day in a row: 100, then 10 more per day, at most 200.
function M.amount(streak)
  return math.min(100 + 10 * (streak - 1), 200)
end

-- The extension push sent when the next bonus can be claimed.
M.READY_PUSH = 951

-- Keys of this folder's Redis scripts (ext:<name>; see docs/lua.md).
M.DAYS_KEY = 'signin:days'
M.BOARD_KEY = 'signin:board'

return M
