//! Password hashing: argon2id with m = 19456 KiB, t = 2, p = 1 (OWASP's first recommended set),
//! run on the blocking pool so a login never stalls the async workers. Unknown users are checked
//! against a dummy hash so a wrong username costs the same time as a wrong password.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
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
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = PasswordHash::new(&phc)
            .map(|h| {
                hasher()
                    .verify_password(password.expose_secret().as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && known
    })
    .await
    .unwrap_or(false)
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
