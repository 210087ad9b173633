-- Personal staff accounts (docs/gm.md "Staff accounts"): created, changed and disabled by admins at
-- runtime (staff_set.lua). pw is the argon2id PHC string; totp_secret the base32 RFC 6238 secret.

CREATE TABLE staff (
    name        VARCHAR(64)     NOT NULL PRIMARY KEY,
    role        VARCHAR(16)     NOT NULL COMMENT 'viewer, operator, admin',
    pw          VARCHAR(255)    NOT NULL,
    totp_secret VARCHAR(64)     NOT NULL,
    disabled    TINYINT(1)      NOT NULL DEFAULT 0,
    created_by  VARCHAR(64)     NOT NULL,
    created_at  BIGINT UNSIGNED NOT NULL,
    updated_at  BIGINT UNSIGNED NOT NULL,
    ver         BIGINT UNSIGNED NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
