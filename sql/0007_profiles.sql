-- What players show others (docs/protocol.md "Accounts", msg 205): nickname and avatar, versioned on
-- their own (profile_set.lua), apart from the users row that holds name and password.

CREATE TABLE profiles (
    uid         BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    nickname    VARCHAR(96)     NOT NULL DEFAULT '',
    avatar_url  VARCHAR(512)    NOT NULL DEFAULT '',
    ver         BIGINT UNSIGNED NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
