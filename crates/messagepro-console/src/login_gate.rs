//! Bounds how many password verifications run at once. One argon2id verification takes
//! 19 MiB and a core for tens of milliseconds; unbounded, 100 parallel logins took the process
//! from 691 MB to 2 GB (and the allocator does not give it back). The gate lets as many run as
//! the machine has cores, lets a few more wait a moment, and refuses the rest at once (the
//! login answers 503 with `Retry-After`), so memory stays flat under a flood and a person's
//! login waits at most [`VerifyGate::max_wait`].
//!
//! The permit is moved into the blocking task: a client that disconnects mid-login does not free
//! a slot while its verification still runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The verification gate (one per process, in [`crate::AppState`]).
#[derive(Debug)]
pub struct VerifyGate {
    running: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
    size: usize,
    max_wait: Duration,
    verifications: AtomicU64,
}

impl VerifyGate {
    /// `size` verifications at once, `queue` more waiting up to `max_wait`.
    pub fn new(size: usize, queue: usize, max_wait: Duration) -> VerifyGate {
        let size = size.max(1);
        VerifyGate {
            running: Arc::new(Semaphore::new(size)),
            waiting: Arc::new(Semaphore::new(queue)),
            size,
            max_wait,
            verifications: AtomicU64::new(0),
        }
    }

    /// Sized to the machine: one verification per available core, four times as many waiting
    /// for at most 2 s.
    pub fn for_machine() -> VerifyGate {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        VerifyGate::new(cores, cores * 4, Duration::from_secs(2))
    }

    /// How many verifications may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// How many verifications this gate has let through since the start.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// A slot to verify one password, or `None` when the gate is full (the caller answers 503).
    pub async fn enter(&self) -> Option<OwnedSemaphorePermit> {
        let permit = match self.running.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let _slot = self.waiting.clone().try_acquire_owned().ok()?;
                tokio::time::timeout(self.max_wait, self.running.clone().acquire_owned())
                    .await
                    .ok()?
                    .ok()?
            }
        };
        self.verifications.fetch_add(1, Ordering::Relaxed);
        Some(permit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_lets_size_through_queues_a_few_and_refuses_the_rest_at_once() {
        let gate = Arc::new(VerifyGate::new(2, 1, Duration::from_millis(300)));
        let a = gate.enter().await.expect("first slot");
        let _b = gate.enter().await.expect("second slot");
        // the third waits (queue of one) and gets the slot freed by `a`
        let g = gate.clone();
        let waiter = tokio::spawn(async move { g.enter().await.is_some() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // the fourth finds the queue full: refused without waiting
        let t = std::time::Instant::now();
        assert!(gate.enter().await.is_none());
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
        drop(a);
        assert!(waiter.await.unwrap(), "the waiter got the freed slot");
        assert_eq!(gate.verifications(), 3);
    }

    #[tokio::test]
    async fn a_waiter_gives_up_after_max_wait() {
        let gate = VerifyGate::new(1, 4, Duration::from_millis(100));
        let _a = gate.enter().await.unwrap();
        let t = std::time::Instant::now();
        assert!(gate.enter().await.is_none());
        assert!(t.elapsed() >= Duration::from_millis(100));
        assert_eq!(gate.verifications(), 1);
    }
}
