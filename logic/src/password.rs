//! Password hashing with Argon2id, off the async threads, bounded in concurrency and in queue.
//!
//! A register or login first takes a place in the hashing queue ([`Hasher::reserve`]): at most
//! `logic.max_concurrent_hashes` hash at once and `logic.max_queued_hashes` more wait. When every
//! place is taken the frame is answered with code 5 at once, so a sign-up or login flood never holds
//! more than that many of a worker's slots and bets and reads keep flowing.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use common::config::LogicConfig;
use protocol::ErrorCode;
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;

#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    /// Hashes running at once.
    permits: Arc<Semaphore>,
    /// Places in the queue: running plus waiting.
    places: Arc<Semaphore>,
    capacity: usize,
    /// A hash of a random password, verified against when a user does not exist, so a login
    /// takes as long for an unknown name as for a wrong password.
    decoy: Arc<OnceCell<String>>,
    stats: Arc<crate::Stats>,
}

/// A place in the hashing queue, held from before the first Redis check of a register or login
/// until its hash is done.
pub struct HashPlace {
    hasher: Hasher,
    _place: OwnedSemaphorePermit,
}

impl Hasher {
    pub fn new(cfg: &LogicConfig, stats: Arc<crate::Stats>) -> anyhow::Result<Hasher> {
        let params = Params::new(cfg.argon2_memory_kib, cfg.argon2_iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("invalid argon2 settings")?;
        let capacity = cfg.max_concurrent_hashes + cfg.max_queued_hashes;
        Ok(Hasher {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Arc::new(Semaphore::new(cfg.max_concurrent_hashes)),
            places: Arc::new(Semaphore::new(capacity)),
            capacity,
            decoy: Arc::new(OnceCell::new()),
            stats,
        })
    }

    /// Takes a place in the hashing queue, or answers code 5 ("busy, retry in a second") when all
    /// are taken.
    pub fn reserve(&self) -> Result<HashPlace, AppError> {
        let Ok(place) = self.places.clone().try_acquire_owned() else {
            metrics::counter!("matchday_logic_password_refused_total", "reason" => "queue_full").increment(1);
            return Err(AppError::new(
                ErrorCode::RateLimited,
                "the server is busy with sign-ups and logins; try again in a second",
            )
            .with_details(serde_json::json!({ "retry_after_s": 1 })));
        };
        let held = (self.capacity - self.places.available_permits()) as u64;
        self.stats.password_queue_peak.fetch_max(held, Ordering::Relaxed);
        Ok(HashPlace { hasher: self.clone(), _place: place })
    }

    /// Runs `work` on the blocking pool once one of the concurrent-hash permits is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> Result<T, argon2::password_hash::Error> + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let argon = self.argon.clone();
        let out = tokio::task::spawn_blocking(move || work(argon)).await.map_err(AppError::internal)?;
        self.stats.password_hashes.fetch_add(1, Ordering::Relaxed);
        out.map_err(AppError::internal)
    }

    async fn hash_now(&self, password: String) -> Result<String, AppError> {
        self.run(move |argon| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            argon.hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
        })
        .await
    }
}

impl HashPlace {
    /// The PHC string of `password` with a fresh salt.
    pub async fn hash(self, password: String) -> Result<String, AppError> {
        self.hasher.hash_now(password).await
    }

    /// Whether `password` matches `phc` (a stored hash). `None` (or an empty hash) verifies against a
    /// decoy and fails.
    pub async fn verify(self, password: String, phc: Option<String>) -> Result<bool, AppError> {
        let h = &self.hasher;
        // An account without a password (a guest's, a deleted one's) has an empty hash.
        let (phc, real) = match phc.filter(|p| !p.is_empty()) {
            Some(p) => (p, true),
            None => {
                let decoy = h.decoy.get_or_try_init(|| h.hash_now(format!("{:x}", rand::random::<u128>()))).await?;
                (decoy.clone(), false)
            }
        };
        let ok = h
            .run(move |argon| {
                PasswordHash::new(&phc).map(|parsed| argon.verify_password(password.as_bytes(), &parsed).is_ok())
            })
            .await?;
        Ok(ok && real)
    }
}
