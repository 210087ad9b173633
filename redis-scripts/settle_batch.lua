-- settle_batch.lua — (being written) settle a batch of a match's open bets.
--
-- KEYS[1]  match:{mid}
-- Reply:   {settled, remaining, finished}
-- Errors:  none.
return {0, 0, 0}
