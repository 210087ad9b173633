-- streaks.lua — 502 the sign-in streak leaderboard.
--
-- Request `{ "limit"? }` (logged in; limit 1..20, default 10) →
--   `{ items = [{ rank, user_id, username, streak }], me = { rank, streak } }`
-- The users with the longest current run of daily sign-ins (daily_bonus.lua records them); a run
-- that missed a day no longer counts. `me.rank` is 0 when the caller has no current run.

local bonus = require('lib.bonus')

return {
  msg_ids = { 502 },

  handle = function(ctx, head, body)
    if not ctx.uid then ctx.fail(4) end
    local limit = body.limit or 10
    if math.type(limit) ~= 'integer' or limit < 1 or limit > 20 then
      ctx.fail(7, 'limit must be an integer between 1 and 20')
    end
    local r = ctx.script('streak_top', { bonus.DAYS_KEY, bonus.BOARD_KEY }, { ctx.today(), limit, ctx.uid })
    -- r = { my_rank, my_streak, uid1, streak1, uid2, streak2, ... }
    local items = {}
    for i = 3, #r, 2 do
      local uid = tonumber(r[i])
      local profile = ctx.profile(uid)
      items[#items + 1] = {
        rank = #items + 1,
        user_id = uid,
        username = profile and profile.username or '',
        streak = tonumber(r[i + 1]),
      }
    end
    return { items = items, me = { rank = r[1], streak = r[2] } }
  end,
}
