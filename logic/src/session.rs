//! Session tokens. The client holds a random token; Redis holds only its digest (the session id),
//! so a copy of Redis does not give anyone a usable token. `session_open.lua` also indexes each
//! session under its user (`sessions:{uid}`), so that a ban can revoke them all.

use sha2::{Digest, Sha256};

/// A new random token (256 bits, hex).
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The session id of a token: the first 128 bits of its SHA-256, hex.
pub fn session_id(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_ids_stable() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(session_id(&a), session_id(&a));
        assert_ne!(session_id(&a), session_id(&b));
        assert_eq!(session_id(&a).len(), 32);
    }
}
