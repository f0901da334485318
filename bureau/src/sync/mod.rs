//! Sync with devices: push (ops applied exactly once) and pull (the change feed).

pub mod feed;
