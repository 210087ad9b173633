-- What happened to each account, for staff (gm `GET /api/users/{id}/history`): written by dbsvr
-- from the account scripts' `account_event` records, never updated. id = "{uid}:{user ver}" (or
-- "{uid}:p{profile ver}" for a profile change): one per change, so a record written twice is one
-- row. Staff actions on the account (bans, grants, password resets) are in gm_audit; coins in ledger.

CREATE TABLE account_events (
    id      VARCHAR(48)     NOT NULL PRIMARY KEY,
    uid     BIGINT UNSIGNED NOT NULL,
    kind    VARCHAR(32)     NOT NULL COMMENT 'registered, guest_created, password_changed, password_reset, profile_changed, linked, deleted',
    detail  VARCHAR(255)    NOT NULL DEFAULT '',
    ts      BIGINT UNSIGNED NOT NULL,
    KEY account_events_uid (uid, ts)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
