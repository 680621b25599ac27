//! One-time form tokens: the double-submit guard of every send form (SMS, campaign, WhatsApp,
//! OTP). A token is issued with the form, bound to the user, and accepted once — checked in the
//! database, so it holds across restarts and across every instance sharing it. Empty, unknown,
//! foreign, used or day-old tokens are refused.

use rand::RngCore;

use crate::Core;

/// How long a form's token stays usable.
pub const MAX_AGE_MS: i64 = 24 * 3_600_000;

impl Core {
    /// A fresh token for a form shown to `user_id` (128 random bits, hex).
    pub async fn nonce_issue(&self, user_id: i64) -> Result<String, messagepro_store::StoreError> {
        let mut b = [0u8; 16];
        rand::rng().fill_bytes(&mut b);
        let nonce = hex::encode(b);
        let now = self.now_ms();
        self.inner.store.nonce_issue(&nonce, user_id, now).await?;
        Ok(nonce)
    }

    /// `true` the first time `user_id` submits `nonce`.
    pub async fn nonce_use(
        &self,
        user_id: i64,
        nonce: &str,
    ) -> Result<bool, messagepro_store::StoreError> {
        let now = self.now_ms();
        self.inner
            .store
            .nonce_use(nonce.trim(), user_id, MAX_AGE_MS, now)
            .await
    }

    /// Deletes tokens older than [`MAX_AGE_MS`].
    pub async fn nonce_purge(&self) -> Result<u64, messagepro_store::StoreError> {
        self.inner
            .store
            .nonce_purge(self.now_ms() - MAX_AGE_MS)
            .await
    }
}
