-- Columns wide enough for every value the services can produce (protocol/src/fields.rs names each
-- limit; tests/columns.rs checks them against this schema). A value longer than its column is
-- refused by MySQL, and dbsvr then moves the whole change record to the dead list: a credit that
-- Redis made would be missing from MySQL.
--
-- ledger.reason  32 -> 64:  ctx.credit takes a reason of up to 64 bytes (CREDIT_REASON_MAX).
-- ledger.ref    255 -> 512: a staff grant's ref is "{staff}: {reason}", up to 64 + 2 + 200 bytes
--                           (GRANT_REF_MAX).
-- grant_requests.request_id 64 -> 255: a Lua credit's id is "lua:{module}:{uid}:{once}", up to
--                           4 + 64 + 1 + 20 + 1 + 128 bytes (LUA_GRANT_ID_MAX). Widening keeps the
--                           ids of credits already made, so a `once` used before still credits once.
--
-- ledger is rewritten by this ALTER (reason crosses 255 bytes, the length prefix grows): on a large
-- ledger it takes a while and blocks writes to it; dbsvr keeps retrying and the outbox holds the
-- records meanwhile (nothing is lost).

ALTER TABLE ledger
    MODIFY reason VARCHAR(64)  NOT NULL,
    MODIFY ref    VARCHAR(512) NOT NULL;

ALTER TABLE grant_requests
    MODIFY request_id VARCHAR(255) NOT NULL;
