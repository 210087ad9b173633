//! Password hashing with Argon2id, off the async threads and bounded in concurrency.

use std::sync::Arc;

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use common::config::LogicConfig;
use tokio::sync::{OnceCell, Semaphore};

use crate::error::AppError;

#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when a user does not exist, so a login
    /// takes as long for an unknown name as for a wrong password.
    decoy: Arc<OnceCell<String>>,
}

impl Hasher {
    pub fn new(cfg: &LogicConfig) -> anyhow::Result<Hasher> {
        let params = Params::new(cfg.argon2_memory_kib, cfg.argon2_iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("invalid argon2 settings")?;
        Ok(Hasher {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Arc::new(Semaphore::new(cfg.max_concurrent_hashes)),
            decoy: Arc::new(OnceCell::new()),
        })
    }

    /// The PHC string of `password` with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            argon.hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
    }

    /// Whether `password` matches `phc` (a stored hash). `None` verifies against a decoy and fails.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, AppError> {
        let (phc, real) = match phc {
            Some(p) => (p, true),
            None => {
                let decoy = self.decoy.get_or_try_init(|| self.hash(format!("{:x}", rand::random::<u128>()))).await?;
                (decoy.clone(), false)
            }
        };
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let argon = self.argon.clone();
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc).map(|parsed| argon.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
        Ok(ok && real)
    }
}
