//! A per-source token bucket for the web API's unauthenticated endpoints: each source address
//! may make `rate` requests per second with bursts of `burst`; the answer to a request past
//! that says how long to wait. The table is bounded: buckets that have refilled are forgotten
//! (they hold nothing a fresh bucket would not), and at [`MAX_SOURCES`] busy sources a new one is
//! refused until some refill.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most sources tracked at once.
pub const MAX_SOURCES: usize = 65_536;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by source address.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `rate` requests per second per source, bursts of `burst` (both at least 1).
    pub fn new(rate: u32, burst: u32) -> Self {
        RateLimiter { rate: f64::from(rate.max(1)), burst: f64::from(burst.max(1)), buckets: Mutex::default() }
    }

    /// Takes one token for `ip`, or says how long until one is there.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_SOURCES && !buckets.contains_key(&ip) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst);
            if buckets.len() >= MAX_SOURCES {
                return Err(Duration::from_secs(1));
            }
        }
        let bucket = buckets.entry(ip).or_insert(Bucket { tokens: self.burst, at: now });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }

    #[cfg(test)]
    fn sources(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_per_source() {
        let limiter = RateLimiter::new(2, 3);
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(a, t0).is_ok());
        }
        let wait = limiter.check_at(a, t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500), "{wait:?}");
        assert!(limiter.check_at(b, t0).is_ok(), "another source has its own bucket");
        assert!(limiter.check_at(a, t0 + Duration::from_millis(500)).is_ok(), "refilled after 1/rate");
        assert!(limiter.check_at(a, t0 + Duration::from_millis(500)).is_err());
        assert_eq!(limiter.sources(), 2);
    }

    #[test]
    fn check_takes_a_token_now() {
        let limiter = RateLimiter::new(1, 1);
        let a: IpAddr = [127, 0, 0, 2].into();
        assert!(limiter.check(a).is_ok());
        let wait = limiter.check(a).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
    }

    #[test]
    fn zero_rate_and_burst_mean_one() {
        let limiter = RateLimiter::new(0, 0);
        let a: IpAddr = [127, 0, 0, 2].into();
        let t0 = Instant::now();
        assert!(limiter.check_at(a, t0).is_ok());
        assert_eq!(limiter.check_at(a, t0), Err(Duration::from_secs(1)));
    }

    #[test]
    fn a_full_table_forgets_refilled_sources_and_refuses_newcomers_while_all_are_busy() {
        let limiter = RateLimiter::new(2, 4);
        let t0 = Instant::now();
        let source = |i: usize| IpAddr::from(std::net::Ipv6Addr::from(i as u128));
        for i in 0..MAX_SOURCES {
            assert!(limiter.check_at(source(i), t0).is_ok());
        }
        let newcomer: IpAddr = [127, 0, 0, 9].into();
        assert_eq!(limiter.check_at(newcomer, t0), Err(Duration::from_secs(1)));
        for _ in 0..2 {
            assert!(limiter.check_at(source(0), t0).is_ok(), "a known source is still served");
        }
        assert!(limiter.check_at(newcomer, t0 + Duration::from_millis(250)).is_err(), "none has refilled yet");
        // Half a second on (two tokens a second), every source but the one that took three
        // tokens is full again: forgotten.
        assert!(limiter.check_at(newcomer, t0 + Duration::from_millis(500)).is_ok());
        assert_eq!(limiter.sources(), 2);
    }

    #[test]
    fn the_wait_is_for_the_missing_part_of_a_token() {
        let limiter = RateLimiter::new(2, 1);
        let a: IpAddr = [127, 0, 0, 2].into();
        let t0 = Instant::now();
        assert!(limiter.check_at(a, t0).is_ok());
        // 100 ms later 0.2 of a token is back: 0.8 is missing, 0.4 s at two a second.
        let wait = limiter.check_at(a, t0 + Duration::from_millis(100)).unwrap_err();
        assert!((wait.as_secs_f64() - 0.4).abs() < 1e-6, "{wait:?}");
    }
}
