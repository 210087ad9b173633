//! Uploaded avatars (206): the pictures' object store and what a picture may be. The store is
//! pluggable ([`AvatarStore`]); the one built in keeps each picture as a file in
//! `logic.avatar_dir` (shared with the processes that serve it: `matchday web` at `/avatars/`),
//! named by its owner and content — `{uid}-{first 16 hex of its SHA-256}.{ext}` — so a name never
//! changes meaning and may be cached for ever. A picture must be PNG, JPEG or WebP (the declared
//! type and the file's own signature agree) and at most `logic.avatar_max_bytes`.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// The pictures a player may upload: content type, extension, and the file signature.
const KINDS: &[(&str, &str)] = &[("image/png", "png"), ("image/jpeg", "jpg"), ("image/webp", "webp")];

/// Where uploaded pictures are kept.
#[derive(Clone, Debug)]
pub enum AvatarStore {
    /// Files in a folder on local disk.
    LocalDisk { dir: PathBuf },
}

impl AvatarStore {
    /// Stores `bytes` as `name` (written whole, then renamed into place: a reader never sees half a
    /// picture).
    pub async fn put(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            AvatarStore::LocalDisk { dir } => {
                tokio::fs::create_dir_all(dir).await?;
                let part = dir.join(format!(".{name}.part"));
                tokio::fs::write(&part, bytes).await?;
                tokio::fs::rename(&part, dir.join(name)).await
            }
        }
    }

    /// Forgets `name` (a replaced picture); one that is not there is fine.
    pub async fn remove(&self, name: &str) -> std::io::Result<()> {
        match self {
            AvatarStore::LocalDisk { dir } => match tokio::fs::remove_file(dir.join(name)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }
}

/// The file extension of a picture of `content_type` whose bytes are `data`, or why it is refused.
pub fn check(content_type: &str, data: &[u8], max_bytes: usize) -> Result<&'static str, String> {
    let Some((_, ext)) = KINDS.iter().find(|(t, _)| *t == content_type) else {
        return Err(format!("content_type: one of {}", KINDS.iter().map(|k| k.0).collect::<Vec<_>>().join(", ")));
    };
    if data.is_empty() || data.len() > max_bytes {
        return Err(format!("data: 1 to {max_bytes} bytes"));
    }
    let signed = match *ext {
        "png" => data.starts_with(b"\x89PNG\r\n\x1a\n"),
        "jpg" => data.starts_with(b"\xff\xd8\xff"),
        _ => data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP",
    };
    if !signed {
        return Err(format!("data: not a {content_type} file"));
    }
    Ok(ext)
}

/// The stored name of user `uid`'s picture `data`.
pub fn name(uid: u64, data: &[u8], ext: &str) -> String {
    format!("{uid}-{}.{ext}", &hex::encode(Sha256::digest(data))[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_checked_by_type_signature_and_size() {
        let png = b"\x89PNG\r\n\x1a\n0000";
        assert_eq!(check("image/png", png, 100), Ok("png"));
        assert!(check("image/jpeg", png, 100).unwrap_err().contains("not a image/jpeg"));
        assert!(check("image/gif", png, 100).unwrap_err().starts_with("content_type"));
        assert!(check("image/png", png, 5).unwrap_err().starts_with("data: 1 to 5"));
        assert_eq!(check("image/webp", b"RIFF\0\0\0\0WEBPVP8 ", 100), Ok("webp"));
        assert_eq!(name(7, png, "png"), name(7, png, "png"));
        assert_ne!(name(7, png, "png"), name(8, png, "png"));
    }
}
