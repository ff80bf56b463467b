//! Client-side load balancing: one lazily connected HTTP/2 channel per resolved address, picked
//! by the power of two choices (the less busy of two random ones), with addresses that failed to
//! connect set aside for a while (passive health checking, like outlier detection).
//!
//! tonic's own `Channel::balance_channel` would do the spreading, but it keeps routing calls to
//! an address that refuses connections, so a backend that is gone while DNS still lists it
//! fails a share of all calls. Here a failed address is avoided, and a call that never left
//! (the connection could not be opened) is sent to another address.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

/// How long an address that failed is avoided: doubling per consecutive failure, up to the max.
const FIRST_EJECTION: Duration = Duration::from_secs(1);
const MAX_EJECTION: Duration = Duration::from_secs(30);

/// One address and its connection.
pub(crate) struct Subchannel {
    pub addr: SocketAddr,
    pub channel: tonic::transport::Channel,
    in_flight: AtomicUsize,
    health: Mutex<Health>,
}

#[derive(Default)]
struct Health {
    failures: u32,
    ejected_until: Option<Instant>,
}

impl Subchannel {
    fn new(addr: SocketAddr, channel: tonic::transport::Channel) -> Self {
        Subchannel {
            addr,
            channel,
            in_flight: AtomicUsize::new(0),
            health: Mutex::default(),
        }
    }

    fn ejected(&self, now: Instant) -> bool {
        let health = self.health.lock().expect("health lock");
        health.ejected_until.is_some_and(|until| now < until)
    }

    /// Counts the call in flight until the guard drops.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// The connection failed: avoid this address for a while, longer each time in a row.
    pub fn failed(&self) {
        let mut health = self.health.lock().expect("health lock");
        health.failures = health.failures.saturating_add(1);
        let factor = 2u32.saturating_pow(health.failures - 1);
        let ejection = FIRST_EJECTION.saturating_mul(factor).min(MAX_EJECTION);
        health.ejected_until = Some(Instant::now() + ejection);
    }

    /// The address answered: it is healthy again.
    pub fn succeeded(&self) {
        let mut health = self.health.lock().expect("health lock");
        if health.failures > 0 {
            *health = Health::default();
        }
    }
}

/// Keeps a subchannel's in-flight count for the length of a call.
pub(crate) struct InFlight(Arc<Subchannel>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The subchannels of every address the target resolves to.
pub(crate) struct Pool {
    connect: Box<dyn Fn(SocketAddr) -> tonic::transport::Channel + Send + Sync>,
    subchannels: RwLock<Arc<Vec<Arc<Subchannel>>>>,
}

impl Pool {
    /// `connect` makes the (lazy) channel of an address.
    pub fn new(
        addrs: &[SocketAddr],
        connect: impl Fn(SocketAddr) -> tonic::transport::Channel + Send + Sync + 'static,
    ) -> Self {
        let pool = Pool {
            connect: Box::new(connect),
            subchannels: RwLock::default(),
        };
        pool.update(addrs);
        pool
    }

    /// Follows a new resolution: keeps the connections of addresses still listed, opens new
    /// ones lazily, and drops the rest (their in-flight calls finish on their own).
    pub fn update(&self, addrs: &[SocketAddr]) {
        let current = self.subchannels.read().expect("pool lock").clone();
        let next: Vec<Arc<Subchannel>> = addrs
            .iter()
            .map(|&addr| match current.iter().find(|s| s.addr == addr) {
                Some(existing) => existing.clone(),
                None => Arc::new(Subchannel::new(addr, (self.connect)(addr))),
            })
            .collect();
        *self.subchannels.write().expect("pool lock") = Arc::new(next);
    }

    /// The addresses in the pool, for tests and `Debug`.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        let subchannels = self.subchannels.read().expect("pool lock").clone();
        subchannels.iter().map(|s| s.addr).collect()
    }

    /// Picks a subchannel for a call, not one of `tried`: the less busy of two random healthy
    /// ones; when none is healthy, any (a call may still get through). `None` when every
    /// address was tried.
    pub fn pick(&self, tried: &[SocketAddr]) -> Option<Arc<Subchannel>> {
        let subchannels = self.subchannels.read().expect("pool lock").clone();
        let now = Instant::now();
        let untried: Vec<&Arc<Subchannel>> = subchannels
            .iter()
            .filter(|s| !tried.contains(&s.addr))
            .collect();
        let healthy: Vec<&Arc<Subchannel>> = untried
            .iter()
            .copied()
            .filter(|s| !s.ejected(now))
            .collect();
        let choices = if healthy.is_empty() { untried } else { healthy };
        match choices.len() {
            0 => None,
            1 => Some(choices[0].clone()),
            n => {
                let a = fastrand::usize(..n);
                let b = (a + 1 + fastrand::usize(..n - 1)) % n;
                let (a, b) = (choices[a], choices[b]);
                let load = |s: &Subchannel| s.in_flight.load(Ordering::Relaxed);
                Some(if load(b) < load(a) { b } else { a }.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: u16) -> Pool {
        let addrs: Vec<SocketAddr> = (1..=n)
            .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
            .collect();
        Pool::new(&addrs, |addr| {
            tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                .unwrap()
                .connect_lazy()
        })
    }

    #[tokio::test]
    async fn picks_spread_over_every_address_and_prefer_the_less_busy() {
        let pool = pool(3);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100 {
            seen.insert(pool.pick(&[]).unwrap().addr);
        }
        assert_eq!(seen.len(), 3);

        let pool = self::pool(2);
        let busy = pool.pick(&[]).unwrap();
        let _calls: Vec<InFlight> = (0..5).map(|_| busy.begin()).collect();
        for _ in 0..20 {
            assert_ne!(
                pool.pick(&[]).unwrap().addr,
                busy.addr,
                "two choices of two"
            );
        }
    }

    #[tokio::test]
    async fn a_failed_address_is_avoided_until_its_ejection_ends_or_all_are_down() {
        let pool = pool(2);
        let bad = pool.pick(&[]).unwrap();
        bad.failed();
        for _ in 0..20 {
            assert_ne!(pool.pick(&[]).unwrap().addr, bad.addr);
        }
        // Excluding the healthy one leaves only the ejected one: better than nothing.
        let good = pool.pick(&[]).unwrap();
        assert_eq!(pool.pick(&[good.addr]).unwrap().addr, bad.addr);
        assert!(pool.pick(&[good.addr, bad.addr]).is_none());
        bad.succeeded();
        let picked: std::collections::HashSet<_> =
            (0..100).map(|_| pool.pick(&[]).unwrap().addr).collect();
        assert_eq!(picked.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn ejection_doubles_per_consecutive_failure_up_to_a_limit() {
        let pool = pool(1);
        let sub = pool.pick(&[]).unwrap();
        for (failures, expected) in [(1, 1), (2, 2), (3, 4), (10, 30)] {
            sub.succeeded();
            for _ in 0..failures {
                sub.failed();
            }
            let now = Instant::now();
            assert!(sub.ejected(now + Duration::from_secs(expected) - Duration::from_millis(1)));
            assert!(
                !sub.ejected(now + Duration::from_secs(expected)),
                "{failures}"
            );
        }
    }

    #[tokio::test]
    async fn update_keeps_listed_connections_and_drops_the_rest() {
        let pool = pool(2);
        let [a, b] = [pool.addrs()[0], pool.addrs()[1]];
        let kept = pool.pick(&[b]).unwrap();
        let c = SocketAddr::from(([127, 0, 0, 1], 9));
        pool.update(&[a, c]);
        assert_eq!(pool.addrs(), [a, c]);
        assert!(
            Arc::ptr_eq(&kept, &pool.pick(&[c]).unwrap()),
            "same subchannel for a"
        );
    }
}
