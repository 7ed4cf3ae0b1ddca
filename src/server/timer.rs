//! Coarse timeouts for the deadlines every request carries: hyper's header-read timeout
//! and the upstream timeout.
//!
//! Why not tokio's timer: registering a `tokio::time::Sleep` can wake the runtime's own
//! driver through its eventfd (tokio unparks the driver whenever a new deadline may come
//! before the one it parked for), and hyper makes a new header-read sleep for every request
//! on a keep-alive connection. Measured with `perf` at 32 connections: 0.7 eventfd
//! `write(2)`s per proxied request, on top of the four socket calls a request needs
//! (benches/README.md). Here a sleep is an entry in a slab that one ticker task sweeps every
//! [`TICK`]: registering and cancelling take an uncontended lock and no system call. The
//! price is precision: a deadline fires up to one tick late, which timeouts of hundreds of
//! milliseconds and more do not notice.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;
use tokio::sync::Notify;

/// How often expired deadlines are swept: the most a deadline fires late.
pub const TICK: Duration = Duration::from_millis(50);

/// A source of coarse sleeps. Clones share one slab and one ticker task, which ends once
/// the last clone and the last sleep are gone.
#[derive(Clone)]
pub struct CoarseTimer {
    shared: Arc<Shared>,
}

struct Shared {
    sleeps: Mutex<Slab<Entry>>,
    /// Wakes the ticker when the first sleep arrives (with none waiting it does not tick)
    /// and when the last clone is gone (so that it ends).
    wake_ticker: Arc<Notify>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.wake_ticker.notify_one();
    }
}

struct Entry {
    deadline: Instant,
    waker: Option<Waker>,
}

impl CoarseTimer {
    /// A timer whose ticker runs on the current tokio runtime (so: call it inside one).
    // No `Default`: it would hide that this spawns a task and needs a runtime.
    #[allow(clippy::new_without_default)]
    pub fn new() -> CoarseTimer {
        let wake_ticker = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            sleeps: Mutex::default(),
            wake_ticker: wake_ticker.clone(),
        });
        tokio::spawn(tick(Arc::downgrade(&shared), wake_ticker));
        CoarseTimer { shared }
    }

    pub fn sleep_until(&self, deadline: Instant) -> CoarseSleep {
        CoarseSleep {
            deadline,
            key: None,
            shared: self.shared.clone(),
        }
    }

    /// `future`, or `Err(Elapsed)` once `limit` has passed (give or take a tick).
    pub fn timeout<F: Future>(&self, limit: Duration, future: F) -> Timeout<F> {
        Timeout {
            future,
            sleep: self.sleep_until(Instant::now() + limit),
        }
    }
}

pin_project_lite::pin_project! {
    /// See [`CoarseTimer::timeout`]. A plain struct rather than an `async fn` with
    /// `select!`, which would hold the wrapped future twice (argument and selected copy).
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: CoarseSleep,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        Pin::new(this.sleep).poll(cx).map(|()| Err(Elapsed))
    }
}

/// The deadline passed before the future finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slab<Entry>> {
        // A panic while holding this lock leaves nothing half-done worth refusing over.
        self.sleeps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Sweeps the slab every tick, waking the sleeps whose deadline has passed.
async fn tick(shared: Weak<Shared>, wake: Arc<Notify>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let idle = match shared.upgrade() {
            Some(shared) => shared.lock().is_empty(),
            None => return,
        };
        if idle {
            // A sleep registered since the check left a permit: this returns at once.
            wake.notified().await;
            continue;
        }
        interval.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let now = Instant::now();
        let due: Vec<Waker> = shared
            .lock()
            .iter_mut()
            .filter(|(_, entry)| entry.deadline <= now)
            .filter_map(|(_, entry)| entry.waker.take())
            .collect();
        drop(shared);
        due.into_iter().for_each(Waker::wake);
    }
}

/// A sleep registered with a [`CoarseTimer`]; cancelled when dropped.
pub struct CoarseSleep {
    deadline: Instant,
    key: Option<usize>,
    shared: Arc<Shared>,
}

impl Future for CoarseSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if Instant::now() >= this.deadline {
            this.cancel();
            return Poll::Ready(());
        }
        let mut sleeps = this.shared.lock();
        match this.key.and_then(|key| sleeps.get_mut(key)) {
            Some(entry) => match &entry.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => entry.waker = Some(cx.waker().clone()),
            },
            None => {
                let was_empty = sleeps.is_empty();
                this.key = Some(sleeps.insert(Entry {
                    deadline: this.deadline,
                    waker: Some(cx.waker().clone()),
                }));
                drop(sleeps);
                if was_empty {
                    this.shared.wake_ticker.notify_one();
                }
            }
        }
        Poll::Pending
    }
}

impl CoarseSleep {
    fn cancel(&mut self) {
        if let Some(key) = self.key.take() {
            self.shared.lock().try_remove(key);
        }
    }
}

impl Drop for CoarseSleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl hyper::rt::Sleep for CoarseSleep {}

impl hyper::rt::Timer for CoarseTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(self.sleep_until(Instant::now() + duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(CoarseTimer::sleep_until(self, deadline))
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sleep_ends_after_its_deadline_and_at_most_a_tick_or_two_late() {
        let timer = CoarseTimer::new();
        let started = Instant::now();
        timer
            .sleep_until(started + Duration::from_millis(120))
            .await;
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(120), "{took:?}");
        assert!(took < Duration::from_millis(120) + 4 * TICK, "{took:?}");
    }

    #[tokio::test]
    async fn timeout_returns_the_output_when_the_future_is_first() {
        let timer = CoarseTimer::new();
        let out = timer.timeout(Duration::from_secs(5), async { 7 }).await;
        assert_eq!(out, Ok(7));
        assert!(
            timer.shared.lock().is_empty(),
            "the finished timeout's sleep is cancelled"
        );
    }

    #[tokio::test]
    async fn timeout_elapses_when_the_future_never_finishes() {
        let timer = CoarseTimer::new();
        let started = Instant::now();
        let out = timer
            .timeout(Duration::from_millis(100), std::future::pending::<()>())
            .await;
        assert_eq!(out, Err(Elapsed));
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    #[tokio::test]
    async fn dropped_sleeps_leave_the_slab_and_the_ticker_sleeps_again() {
        let timer = CoarseTimer::new();
        for _ in 0..3 {
            let mut sleep = Box::pin(timer.sleep_until(Instant::now() + Duration::from_secs(60)));
            assert!(futures_util::poll!(sleep.as_mut()).is_pending());
            assert_eq!(timer.shared.lock().len(), 1);
            drop(sleep);
            assert!(timer.shared.lock().is_empty());
            // The ticker notices the empty slab and waits for the next first sleep.
            tokio::time::sleep(2 * TICK).await;
        }
        let started = Instant::now();
        timer.sleep_until(started + Duration::from_millis(60)).await;
        assert!(started.elapsed() < Duration::from_millis(60) + 4 * TICK);
    }

    #[tokio::test]
    async fn many_sleeps_each_wake_their_own_task() {
        let timer = CoarseTimer::new();
        let started = Instant::now();
        let tasks: Vec<_> = (1..=20u64)
            .map(|i| {
                let timer = timer.clone();
                tokio::spawn(async move {
                    timer
                        .sleep_until(started + Duration::from_millis(10 * i))
                        .await;
                    started.elapsed() >= Duration::from_millis(10 * i)
                })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap());
        }
        assert!(timer.shared.lock().is_empty());
    }

    #[tokio::test]
    async fn the_ticker_ends_with_the_last_timer() {
        let timer = CoarseTimer::new();
        let weak = Arc::downgrade(&timer.shared);
        drop(timer);
        tokio::time::sleep(2 * TICK).await;
        assert!(weak.upgrade().is_none());
    }
}
