-- dead_letter.lua — move a frame that can never be handled from an inflight list to a dead list.
--
-- KEYS[1]  the consumer's inflight list
-- KEYS[2]  the dead list (q:dead:{queue}); newest at the left
-- ARGV[1]  the frame, byte for byte as it was taken
--
-- Reply:   1 if the frame was moved, 0 if it was no longer inflight (nothing written).
-- Errors:  none.
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then
  return 0
end
redis.call('LPUSH', KEYS[2], ARGV[1])
return 1
