-- ack.lua — acknowledge handled frames of one consumer and push their replies, atomically.
-- A batch: every frame is acked on its own terms, and a frame's reply is pushed only if the frame
-- was still in this consumer's inflight list: if the reaper has meanwhile returned it to the queue
-- (this consumer was thought dead), the frame will be handled again elsewhere and its reply here is
-- dropped, so every frame is answered exactly once.
-- Each frame is removed with `LREM inflight -1 frame`, searching from the right: claim.lua leaves
-- the oldest frames at the right end and frames are acked roughly oldest first, so the match is
-- found within the first few elements (O(1) in practice, O(inflight) at worst).
-- The replies of a batch are pushed with one LPUSH per reply list, in the order of their frames
-- (the list then reads as if each had been pushed alone, in turn), and each list that got one has
-- its lifetime set once.
--
-- KEYS[1]   the consumer's inflight list
-- KEYS[2..] the reply lists (q:l2c:{group}:{node}: in the group queue's slot) the batch's replies go to, each once
-- ARGV[1]   milliseconds each reply list lives after this batch's replies (its reader's liveness:
--           a dead connect node's replies expire); "0": no expiry
-- ARGV[2+3i], ARGV[3+3i], ARGV[4+3i]  frame i (i = 0, 1, ...): the frame, byte for byte as it was
--           taken; the reply list as an index into KEYS (2.. for KEYS[2..]), or 0 for no reply; the
--           reply element ([route, frame] MessagePack), "" when there is none
--
-- Reply:   {r1, r2, ...}  one per frame, in the order given:
--          Acked        {1}  the frame was acked (and its reply pushed)
--          NotInflight  {0}  the frame was no longer inflight: nothing written for it
-- Errors:  "ERR ack.lua: ..." when ARGV is not the TTL then whole triples, or a reply list index
--          names no KEYS entry (nothing written).
-- Cost:    per frame one LREM; per reply list that gets replies one LPUSH (one more per further
--          1000 replies) and, with a TTL, one PEXPIRE; one script call per batch.
local CHUNK = 1000 -- elements per LPUSH, well below Lua's unpack limit
local n = (#ARGV - 1) / 3
if n ~= math.floor(n) or n < 0 then
  return redis.error_reply('ERR ack.lua: ARGV must be the TTL, then (frame, list, element) triples')
end
for i = 0, n - 1 do
  local list = tonumber(ARGV[3 + 3 * i])
  if list == nil or (list ~= 0 and (list < 2 or list > #KEYS or list ~= math.floor(list))) then
    return redis.error_reply('ERR ack.lua: frame ' .. (i + 1) .. ' names no reply list in KEYS')
  end
end
local ttl = tonumber(ARGV[1]) or 0
local out = {}
local replies = {} -- KEYS index -> the replies for that list, in the order of their frames
for i = 0, n - 1 do
  if redis.call('LREM', KEYS[1], -1, ARGV[2 + 3 * i]) == 0 then
    out[i + 1] = 0
  else
    out[i + 1] = 1
    local list = tonumber(ARGV[3 + 3 * i])
    if list ~= 0 then
      local pending = replies[list]
      if pending == nil then
        pending = {}
        replies[list] = pending
      end
      pending[#pending + 1] = ARGV[4 + 3 * i]
    end
  end
end
for list = 2, #KEYS do
  local pending = replies[list]
  if pending ~= nil then
    for from = 1, #pending, CHUNK do
      redis.call('LPUSH', KEYS[list], unpack(pending, from, math.min(from + CHUNK - 1, #pending)))
    end
    if ttl > 0 then
      redis.call('PEXPIRE', KEYS[list], ttl)
    end
  end
end
return out
