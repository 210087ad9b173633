-- daily_bonus.lua — 501 claim the daily sign-in bonus.
--
-- Request `{}` (logged in) → `{ claimed, bonus, balance, streak, next_at }`:
--   claimed  true when this request credited the bonus; false when today's was already credited
--            (a repeat, a retry, a second device): the answer is then the same bonus and the
--            balance after it, and nothing moves.
--   bonus    coins of today's bonus (lib/bonus.lua: 100 + 10 per day in a row, at most 200)
--   streak   days in a row the user signed in, today included
--   next_at  when tomorrow's bonus can be claimed (Unix ms, 00:00 UTC)
-- When the claim is new, a 951 push `{ "bonus_ready": true }` is scheduled for next_at.
--
-- The once-per-day guard is the credit's idempotency record (`once = "day:<day>"`): ctx.credit
-- runs wallet_change.lua, which credits, writes the ledger and records the id in one atomic step,
-- so retries and concurrent requests credit once. The streak is recorded first and is itself
-- idempotent per day, so every attempt of the day computes the same amount.

local bonus = require('lib.bonus')

local DAY_MS = 24 * 3600 * 1000

return {
  msg_ids = { 501 },

  handle = function(ctx, head, body)
    if not ctx.uid then ctx.fail(4) end
    local today = ctx.today()
    local streak = ctx.script('signin_streak', { bonus.DAYS_KEY, bonus.BOARD_KEY }, { ctx.uid, today })[1]
    local amount = bonus.amount(streak)
    local balance, repeated = ctx.credit(amount, 'daily_bonus', 'day:' .. today)
    local next_at = (today + 1) * DAY_MS
    if not repeated then
      -- (max: the day may have turned since `today` was read)
      ctx.schedule(math.max(0, next_at - ctx.now_ms()), bonus.READY_PUSH, { bonus_ready = true })
      ctx.log('debug', 'user ' .. ctx.uid .. ' claimed ' .. amount .. ' (streak ' .. streak .. ')')
    end
    return { claimed = not repeated, bonus = amount, balance = balance, streak = streak, next_at = next_at }
  end,
}
