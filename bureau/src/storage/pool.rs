//! A small blocking connection pool, shared by both backends.
//!
//! Connections are made on demand up to a maximum and handed back on drop; a
//! caller waits (bounded) when all are busy. A connection whose last use failed
//! at the transport level is dropped rather than returned.

use crate::error::{Error, Result};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How long a request waits for a connection before it is answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Pool<C> {
    idle: Mutex<State<C>>,
    available: Condvar,
    max: usize,
    connect: Box<dyn Fn() -> Result<C> + Send + Sync>,
}

struct State<C> {
    idle: Vec<C>,
    open: usize,
}

impl<C> Pool<C> {
    pub fn new(max: usize, connect: impl Fn() -> Result<C> + Send + Sync + 'static) -> Self {
        Self {
            idle: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            available: Condvar::new(),
            max: max.max(1),
            connect: Box::new(connect),
        }
    }

    /// Runs `f` with a connection. `f` returns whether the connection is still
    /// good alongside its result.
    pub fn with<T>(&self, f: impl FnOnce(&mut C) -> (Result<T>, bool)) -> Result<T> {
        let mut conn = self.acquire()?;
        let (result, healthy) = f(&mut conn);
        let mut state = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if healthy {
            state.idle.push(conn);
        } else {
            state.open -= 1;
        }
        self.available.notify_one();
        result
    }

    fn acquire(&self) -> Result<C> {
        let mut state = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(conn);
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return (self.connect)().inspect_err(|_| {
                    let mut state = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                    state.open -= 1;
                });
            }
            let (next, timeout) = self
                .available
                .wait_timeout(state, ACQUIRE_TIMEOUT)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            if timeout.timed_out() && state.idle.is_empty() && state.open >= self.max {
                return Err(Error::Busy);
            }
        }
    }
}
