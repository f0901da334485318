//! Sync with devices: push (ops applied exactly once) and pull (the change feed).

pub mod feed;
mod inspection_ops;
pub mod pull;
pub mod push;
