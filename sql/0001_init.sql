-- matchday's durable record. dbsvr writes it from the change records the Lua scripts append to
-- q:outbox; `matchday restore` rebuilds Redis from it. Times are Unix ms; coins are integers.
-- Mutable rows carry `ver` (the Redis record version): a row only changes for a newer version.

CREATE TABLE users (
    id          BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    username    VARCHAR(64)     NOT NULL,
    pw          VARCHAR(255)    NOT NULL COMMENT 'argon2id PHC string',
    created_at  BIGINT UNSIGNED NOT NULL,
    ver         BIGINT UNSIGNED NOT NULL,
    UNIQUE KEY users_username (username)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE wallets (
    uid      BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    balance  BIGINT          NOT NULL,
    ver      BIGINT UNSIGNED NOT NULL
) ENGINE = InnoDB;

-- One row per balance change, never updated. id = "{uid}:{wallet version}".
CREATE TABLE ledger (
    id       VARCHAR(64)     NOT NULL PRIMARY KEY,
    uid      BIGINT UNSIGNED NOT NULL,
    delta    BIGINT          NOT NULL,
    balance  BIGINT          NOT NULL COMMENT 'balance after the change',
    reason   VARCHAR(32)     NOT NULL,
    ref      VARCHAR(255)    NOT NULL,
    ts       BIGINT UNSIGNED NOT NULL,
    KEY ledger_uid (uid, ts)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE matches (
    id           BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    type         VARCHAR(32)     NOT NULL,
    title        VARCHAR(255)    NOT NULL,
    team_a       VARCHAR(128)    NOT NULL,
    team_b       VARCHAR(128)    NOT NULL,
    start_at     BIGINT UNSIGNED NOT NULL,
    state        TINYINT         NOT NULL,
    live         TINYINT         NOT NULL,
    options      TEXT            NOT NULL COMMENT 'JSON [{key, label, odds}]',
    odds_ver     BIGINT UNSIGNED NOT NULL,
    min_stake    BIGINT          NOT NULL,
    max_stake    BIGINT          NOT NULL,
    result       VARCHAR(64)     NOT NULL DEFAULT '',
    external_id  VARCHAR(128)    NOT NULL DEFAULT '',
    settled      BIGINT UNSIGNED NOT NULL DEFAULT 0,
    paid         BIGINT          NOT NULL DEFAULT 0,
    created_at   BIGINT UNSIGNED NOT NULL,
    updated_at   BIGINT UNSIGNED NOT NULL,
    ver          BIGINT UNSIGNED NOT NULL,
    KEY matches_state (state, start_at),
    KEY matches_external (external_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Every version of a match's state and odds: its history.
CREATE TABLE match_states (
    match_id  BIGINT UNSIGNED NOT NULL,
    ver       BIGINT UNSIGNED NOT NULL,
    state     TINYINT         NOT NULL,
    live      TINYINT         NOT NULL,
    odds_ver  BIGINT UNSIGNED NOT NULL,
    options   TEXT            NOT NULL,
    ts        BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (match_id, ver)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE bets (
    id          BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    uid         BIGINT UNSIGNED NOT NULL,
    match_id    BIGINT UNSIGNED NOT NULL,
    option_key  VARCHAR(64)     NOT NULL,
    stake       BIGINT          NOT NULL,
    odds        BIGINT          NOT NULL,
    state       VARCHAR(16)     NOT NULL COMMENT 'open, won, lost, refunded',
    payout      BIGINT          NULL,
    req_id      VARCHAR(64)     NOT NULL,
    ts          BIGINT UNSIGNED NOT NULL,
    settled_at  BIGINT UNSIGNED NULL,
    ver         BIGINT UNSIGNED NOT NULL,
    KEY bets_uid (uid, ts),
    KEY bets_match (match_id, state)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Paid orders (the provider's callbacks credit once per order id).
CREATE TABLE payments (
    order_id  VARCHAR(64)     NOT NULL PRIMARY KEY,
    uid       BIGINT UNSIGNED NOT NULL,
    amount    BIGINT          NOT NULL,
    balance   BIGINT          NOT NULL COMMENT 'balance right after the credit',
    ts        BIGINT UNSIGNED NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Staff grants sent with a request id (credited once per request id).
CREATE TABLE grant_requests (
    request_id  VARCHAR(64)     NOT NULL PRIMARY KEY,
    uid         BIGINT UNSIGNED NOT NULL,
    amount      BIGINT          NOT NULL,
    balance     BIGINT          NOT NULL,
    ts          BIGINT UNSIGNED NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Who did what through gm (and the payment provider), when.
CREATE TABLE gm_audit (
    id       VARCHAR(64)     NOT NULL PRIMARY KEY,
    who      VARCHAR(64)     NOT NULL,
    role     VARCHAR(16)     NOT NULL,
    action   VARCHAR(64)     NOT NULL,
    target   VARCHAR(128)    NOT NULL,
    payload  TEXT            NOT NULL COMMENT 'JSON',
    ts       BIGINT UNSIGNED NOT NULL,
    KEY gm_audit_ts (ts),
    KEY gm_audit_target (target)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Daily figures for analytics (UTC days since the epoch): registrations, bets and coins staked.
CREATE VIEW daily_figures AS
SELECT d.day,
       COALESCE(u.registrations, 0) AS registrations,
       COALESCE(b.bets, 0)          AS bets,
       COALESCE(b.volume, 0)        AS volume
FROM (SELECT FLOOR(created_at / 86400000) AS day FROM users
      UNION SELECT FLOOR(ts / 86400000) FROM bets) d
LEFT JOIN (SELECT FLOOR(created_at / 86400000) AS day, COUNT(*) AS registrations FROM users GROUP BY 1) u
       ON u.day = d.day
LEFT JOIN (SELECT FLOOR(ts / 86400000) AS day, COUNT(*) AS bets, SUM(stake) AS volume FROM bets GROUP BY 1) b
       ON b.day = d.day;
