-- ack.lua — acknowledge a handled frame and push its reply, atomically.
-- The reply is pushed only if the frame was still in this consumer's inflight list: if the reaper
-- has meanwhile returned it to the queue (this consumer was thought dead), the frame will be
-- handled again elsewhere and this reply is dropped, so every frame is answered exactly once.
--
-- KEYS[1]  the consumer's inflight list
-- KEYS[2]  the reply list (q:l2c:{node}); ignored when ARGV[2] is empty
-- ARGV[1]  the frame, byte for byte as it was taken
-- ARGV[2]  the reply element ([route, frame] MessagePack), or "" for no reply
-- ARGV[3]  milliseconds the reply list lives after this reply (its reader's liveness: a dead
--          connect node's replies expire); "0" or absent: no expiry
--
-- Reply:   Acked        {1}  the frame was acked (and the reply pushed)
--          NotInflight  {0}  the frame was no longer inflight: nothing written
-- Errors:  none.
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then
  return 0
end
if ARGV[2] ~= '' then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  local ttl = tonumber(ARGV[3] or '0')
  if ttl and ttl > 0 then
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
end
return 1
