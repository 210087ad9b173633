//! Users as stored in Redis (`user:{uid}`: username, created_at, nickname, avatar, ...), read back.

use std::collections::HashMap;

use fred::prelude::*;

use crate::Redis;

/// The names players are shown by, for each of `uids` found: the nickname, else the username. One
/// pipelined HMGET per user.
pub async fn display_names(redis: &Redis, uids: &[u64]) -> Result<HashMap<u64, String>, fred::error::Error> {
    if uids.is_empty() {
        return Ok(HashMap::new());
    }
    let pipe = redis.pool.next().pipeline();
    for uid in uids {
        let _: () = pipe.hmget(redis.keys.user(*uid), vec!["nickname", "username"]).await?;
    }
    let found: Vec<(Option<String>, Option<String>)> = Redis::each(pipe).await?;
    Ok(uids
        .iter()
        .zip(found)
        .filter_map(|(uid, (nick, name))| Some((*uid, nick.filter(|n| !n.is_empty()).or(name)?)))
        .collect())
}

/// How long a password reset code staff issue stays good (gm; the player uses it with 106), ms.
pub const RESET_CODE_TTL_MS: u64 = 3_600_000;
/// The letters of a reset code: no 0/O or 1/I to misread when staff read it out.
const RESET_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A new password reset code: 12 letters from [`RESET_ALPHABET`] (60 bits), shown as XXXX-XXXX-XXXX.
pub fn new_reset_code() -> String {
    let letters: Vec<char> =
        (0..12).map(|_| RESET_ALPHABET[rand::random_range(0..RESET_ALPHABET.len())] as char).collect();
    letters.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// What Redis keeps of a reset code: the SHA-256 (hex) of its letters, in any case, dashes and
/// spaces left out (as a player may type it).
pub fn reset_digest(code: &str) -> String {
    use sha2::{Digest, Sha256};
    let letters: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    hex::encode(Sha256::digest(letters.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_codes_are_read_back_however_they_are_typed() {
        let code = new_reset_code();
        assert_eq!((code.len(), code.matches('-').count()), (14, 2), "{code}");
        let typed = code.replace('-', " ").to_lowercase();
        assert_eq!(reset_digest(&typed), reset_digest(&code));
        assert_ne!(reset_digest(&new_reset_code()), reset_digest(&code));
    }
}
