//! [`Id`]: a page's numeric path id (`/admin/webhooks/{id}`). axum's `Path<i64>` answers a
//! path that is not a number (`/admin/webhooks/new`) with a plain-text 400 in English; for a
//! person that address simply does not exist, so this extractor answers the console's
//! translated 404 page instead.

use axum::extract::{FromRequestParts, Path};
use http::request::Parts;

use crate::error::AppError;

/// The `{id}` of the path, as a number; anything else is [`AppError::NotFound`].
#[derive(Debug, Clone, Copy)]
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Path::<i64>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Id(id))
            .map_err(|_| AppError::NotFound)
    }
}
