//! TODO(bureau): routes being written.

use super::State;
use axum::Router;

pub fn routes() -> Router<State> {
    Router::new()
}
