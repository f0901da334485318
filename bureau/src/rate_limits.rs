//! Rate limits: token buckets, keyed by who asks, in this process.
//!
//! - Enrollment (challenges and enrollments) is limited per client address.
//! - Failed authentication is counted per address. Past the limit, a device
//!   token that does not authenticate is answered `429` instead of `401`, while
//!   a valid one from the same address still passes: carriers put many phones
//!   behind one address. The admin token is refused outright from an address
//!   past its limit, valid or not, so guessing it is slowed for real.
//! - An enrolled device's requests are limited per device (its token), never
//!   per address, for the same reason.
//!
//! A bucket holds a minute's allowance and refills continuously. Why our own: the
//! arithmetic is a few lines, where a crate such as `governor` brings its own
//! clock and concurrent map. Several bureau processes keep separate buckets, so
//! behind a load balancer the limits add up per process.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Buckets kept before full (idle) ones are dropped.
const MAX_KEYS: usize = 10_000;

pub struct RateLimits {
    enrollment: Buckets<IpAddr>,
    auth_failures: Buckets<IpAddr>,
    devices: Buckets<String>,
}

impl RateLimits {
    pub fn new(
        enroll_per_minute: u32,
        auth_failures_per_minute: u32,
        device_per_minute: u32,
    ) -> Self {
        Self {
            enrollment: Buckets::new(enroll_per_minute),
            auth_failures: Buckets::new(auth_failures_per_minute),
            devices: Buckets::new(device_per_minute),
        }
    }

    /// One enrollment request from `address`; `Err(wait)` when over the limit.
    pub fn enrollment(&self, address: Option<IpAddr>) -> Result<(), Duration> {
        address.map_or(Ok(()), |a| self.enrollment.take(a))
    }

    /// One failed authentication from `address`; `Err(wait)` once past the limit.
    pub fn auth_failure(&self, address: Option<IpAddr>) -> Result<(), Duration> {
        address.map_or(Ok(()), |a| self.auth_failures.take(a))
    }

    /// `Err(wait)` while `address` has no failed authentication left.
    pub fn auth_failures_exhausted(&self, address: Option<IpAddr>) -> Result<(), Duration> {
        address.map_or(Ok(()), |a| self.auth_failures.check(a))
    }

    /// One request of device `device_id`; `Err(wait)` when over the limit.
    pub fn device(&self, device_id: &str) -> Result<(), Duration> {
        self.devices.take(device_id.to_owned())
    }
}

struct Buckets<K> {
    per_minute: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: Hash + Eq> Buckets<K> {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::default(),
        }
    }

    /// Takes one token from `key`'s bucket, or says how long until one is there.
    fn take(&self, key: K) -> Result<(), Duration> {
        self.with(key, |bucket| {
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                Ok(())
            } else {
                Err(())
            }
        })
    }

    /// Whether `key`'s bucket has a token, taking none.
    fn check(&self, key: K) -> Result<(), Duration> {
        self.with(key, |bucket| {
            if bucket.tokens >= 1.0 {
                Ok(())
            } else {
                Err(())
            }
        })
    }

    fn with(
        &self,
        key: K,
        decide: impl FnOnce(&mut Bucket) -> Result<(), ()>,
    ) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS {
            let full = self.per_minute;
            buckets.retain(|_, b| self.refilled(*b, now).tokens < full);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.per_minute,
            at: now,
        });
        *bucket = self.refilled(*bucket, now);
        decide(bucket).map_err(|()| {
            let per_second = self.per_minute / 60.0;
            Duration::from_secs_f64((1.0 - bucket.tokens) / per_second)
        })
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> Bucket {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        Bucket {
            tokens: (bucket.tokens + elapsed * self.per_minute / 60.0).min(self.per_minute),
            at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_a_minute_and_says_how_long_to_wait() {
        let buckets = Buckets::new(3);
        for _ in 0..3 {
            buckets.take("a").unwrap();
        }
        let wait = buckets.take("a").unwrap_err();
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(buckets.check("a").is_err());
        buckets.take("b").unwrap();
    }

    #[test]
    fn idle_buckets_are_dropped_when_there_are_too_many() {
        let buckets = Buckets::new(1);
        for key in 0..MAX_KEYS + 10 {
            let _ = buckets.check(key);
        }
        assert!(buckets.buckets.lock().unwrap().len() <= MAX_KEYS);
        // An exhausted one is kept: dropping it would lift its limit.
        let tight = Buckets::new(1);
        tight.take(usize::MAX).unwrap();
        for key in 0..MAX_KEYS + 10 {
            let _ = tight.check(key);
        }
        assert!(tight.take(usize::MAX).is_err());
    }
}
