-- Bans (gm `POST /api/users/{id}/ban` and `/unban`): the latest ban state of every user who was
-- ever banned, written by dbsvr from user_ban.lua's and user_unban.lua's change records. The
-- history (who banned or unbanned, when, why) is in gm_audit, actions user.ban and user.unban.
-- `ver` is the user's ban version (`ban_ver` in user:{uid}): a row only changes for a newer one.

CREATE TABLE user_bans (
    uid         BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    banned      TINYINT         NOT NULL COMMENT '1 banned, 0 unbanned',
    reason      VARCHAR(255)    NOT NULL COMMENT 'the ban reason; empty once unbanned',
    changed_by  VARCHAR(64)     NOT NULL COMMENT 'staff name of the latest ban or unban',
    changed_at  BIGINT UNSIGNED NOT NULL,
    ver         BIGINT UNSIGNED NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
