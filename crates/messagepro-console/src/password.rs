//! Password hashing: argon2id with m = 19456 KiB, t = 2, p = 1 (OWASP's first recommended set),
//! run off the async workers so a login never stalls them. Unknown users are checked against a
//! dummy hash so a wrong username costs the same time as a wrong password.
//!
//! Verifications run on a rayon pool of their own, one thread per core, and each thread keeps its
//! 19 MiB of argon2 working memory for the next verification
//! (`hash_password_into_with_memory`). With a fresh allocation per verification, glibc kept
//! the freed blocks (its mmap threshold rises after the first one and the heap cannot give
//! them back): 10 verifications left the process 199 MiB bigger
//! (`a_flood_over_many_usernames_…` in `tests/auth.rs`). Now at most one block per core stays.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

fn hasher() -> Argon2<'static> {
    // Constant, valid parameters: `Params::new` cannot fail for them.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password (PHC string). Blocking: call through [`hash_async`] from async code.
pub fn hash(password: &SecretString) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// [`hash`] on the blocking pool.
pub async fn hash_async(password: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash(&SecretString::from(generate_password())).unwrap_or_default())
}

/// Computes the dummy hash now (at start), so the first login of an unknown user does not pay
/// for it — which would make that attempt measurably slower than a wrong password.
pub async fn warm_up() {
    let _ = tokio::task::spawn_blocking(|| dummy_hash().len()).await;
}

/// Verifies `password` against `stored` (or against a dummy hash when the user is unknown, and
/// then always answers `false`). Runs on the blocking pool.
pub async fn verify_async(password: SecretString, stored: Option<String>) -> bool {
    verify_holding(password, stored, None).await
}

/// [`verify_async`] holding `permit` (a slot of the [`crate::login_gate::VerifyGate`]) until the
/// verification ends — even when the caller's future is dropped first.
pub async fn verify_holding(
    password: SecretString,
    stored: Option<String>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
) -> bool {
    on_verify_pool(move || {
        let _permit = permit;
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = verify_reusing_memory(password.expose_secret().as_bytes(), &phc);
        ok && known
    })
    .await
    .unwrap_or(false)
}

thread_local! {
    /// This thread's argon2 working memory, kept for its next verification.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Verifies `password` against the PHC string `phc` as `PasswordVerifier` does (same algorithm,
/// version, parameters and salt; constant-time comparison of the outputs), in this thread's
/// kept memory.
fn verify_reusing_memory(password: &[u8], phc: &str) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(alg), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(h.algorithm),
        Params::try_from(&h),
        h.salt,
        h.hash,
    ) else {
        return false;
    };
    let Ok(version) = h.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let computed = BLOCKS.with_borrow_mut(|blocks| {
        blocks.resize(params.block_count(), argon2::Block::default());
        Argon2::new(alg, version, params)
            .hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..])
            .is_ok()
    });
    // `Output`'s equality is constant-time
    computed && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// The verification pool: one thread per core (see the module doc).
fn verify_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores)
            .thread_name(|i| format!("argon2-{i}"))
            .build()
            .map_err(|e| tracing::error!(error = %e, "cannot start the password pool"))
            .ok()
    })
    .as_ref()
}

/// Runs `f` on the verification pool (on the blocking pool if it could not start); `None` if
/// it panicked.
async fn on_verify_pool<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let Some(pool) = verify_pool() else {
        return tokio::task::spawn_blocking(f).await.ok();
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool.spawn(move || {
        let _ = tx.send(f());
    });
    rx.await.ok()
}

/// A random password for new users and resets: 16 characters from an alphabet without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The minimum length accepted for a password chosen by a person.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Whether a password chosen by a person (an admin creating a user, a user changing their
/// own) meets the rules: at least [`MIN_PASSWORD_LEN`] characters.
pub fn acceptable(password: &str) -> bool {
    password.chars().count() >= MIN_PASSWORD_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let h = hash_async(SecretString::from("correct horse"))
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_async(SecretString::from("correct horse"), Some(h.clone())).await);
        assert!(!verify_async(SecretString::from("wrong horse"), Some(h)).await);
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        assert!(!verify_async(SecretString::from(""), None).await);
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
    }
}
