//! A small blocking connection pool, shared by both backends.
//!
//! Connections are made on demand up to a maximum and handed back on drop; a
//! caller waits (bounded) when all are busy. A connection whose last use failed
//! at the transport level, or whose user panicked, is dropped rather than
//! returned, and its slot is freed either way.

use crate::error::{Error, Result};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long a request waits for a connection before it is answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Pool<C> {
    state: Mutex<State<C>>,
    available: Condvar,
    max: usize,
    connect: Box<dyn Fn() -> Result<C> + Send + Sync>,
}

struct State<C> {
    idle: Vec<C>,
    /// Connections in existence: idle, lent out, or being made.
    open: usize,
}

impl<C> Pool<C> {
    pub fn new(max: usize, connect: impl Fn() -> Result<C> + Send + Sync + 'static) -> Self {
        Self {
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            available: Condvar::new(),
            max: max.max(1),
            connect: Box::new(connect),
        }
    }

    /// Runs `f` with a connection. `f` returns whether the connection is still
    /// good alongside its result. If `f` panics, the connection is dropped (it may
    /// be mid-transaction) and its slot freed, so a panic never shrinks the pool.
    pub fn with<T>(&self, f: impl FnOnce(&mut C) -> (Result<T>, bool)) -> Result<T> {
        let mut lent = Lent {
            pool: self,
            conn: Some(self.acquire()?),
            healthy: false,
        };
        let (result, healthy) = f(lent.conn.as_mut().expect("connection is lent"));
        lent.healthy = healthy;
        result
    }

    fn lock(&self) -> MutexGuard<'_, State<C>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn acquire(&self) -> Result<C> {
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(conn);
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return (self.connect)().inspect_err(|_| self.release(None));
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

    /// Takes every idle connection out of the pool (for closing them elsewhere).
    pub fn take_idle(&self) -> Vec<C> {
        let mut state = self.lock();
        state.open -= state.idle.len();
        std::mem::take(&mut state.idle)
    }

    /// Hands a connection back (`Some`) or gives up its slot (`None`).
    fn release(&self, conn: Option<C>) {
        let mut state = self.lock();
        match conn {
            Some(conn) => state.idle.push(conn),
            None => state.open -= 1,
        }
        drop(state);
        self.available.notify_one();
    }
}

/// A connection out of the pool; going back (or its slot freed) on drop, which
/// also runs when the borrower panics.
struct Lent<'p, C> {
    pool: &'p Pool<C>,
    conn: Option<C>,
    healthy: bool,
}

impl<C> Drop for Lent<'_, C> {
    fn drop(&mut self) {
        let conn = self.conn.take().filter(|_| self.healthy);
        self.pool.release(conn);
    }
}
