//! Pagination, and a helper that returns every row of a list exactly once.
//!
//! Message Pro's lists compute the SQL offset as `page × limit` for page ≥ 2 (spec §1.8), so
//! page 2 skips rows `limit…2·limit−1` and walking pages loses data. There is no total count and
//! no maximum `limit`. [`fetch_all`] therefore always asks for page 1 and doubles `limit` until a
//! short page comes back: that page holds every row, each once.

use std::future::Future;

use crate::client::Params;
use crate::error::Result;

/// `page` and `limit` of a list call (platform defaults: page 1, limit 10).
///
/// Beware the platform quirk: page 2 starts at row `2 × limit`, not `limit`. Prefer
/// [`fetch_all`] or the `all_*` methods to read a whole list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: u32,
    /// Rows per page.
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, limit: 10 }
    }
}

impl PageRequest {
    /// A page of `limit` rows.
    pub fn new(page: u32, limit: u32) -> Self {
        Self { page, limit }
    }

    /// The first `limit` rows (newest first for most lists).
    pub fn first(limit: u32) -> Self {
        Self { page: 1, limit }
    }

    pub(crate) fn params(self) -> Params {
        Params::new()
            .add("limit", self.limit)
            .add("page", self.page)
    }
}

/// Initial `limit` used by [`fetch_all`] through the `all_*` methods.
pub const DEFAULT_FETCH_ALL_LIMIT: u32 = 500;

/// Returns every row of a list endpoint exactly once: requests page 1 with `initial_limit`
/// rows and doubles the limit until fewer rows than asked come back.
///
/// ```no_run
/// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
/// let contacts = messagepro::fetch_all(500, |p| client.get_contacts(p)).await?;
/// # Ok(()) }
/// ```
pub async fn fetch_all<T, F, Fut>(initial_limit: u32, mut list: F) -> Result<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Vec<T>>>,
{
    let mut limit = initial_limit.max(1);
    loop {
        let rows = list(PageRequest::first(limit)).await?;
        if rows.len() < limit as usize || limit == u32::MAX {
            return Ok(rows);
        }
        tracing::debug!(limit, "list is longer than the limit, doubling it");
        limit = limit.saturating_mul(2);
    }
}
