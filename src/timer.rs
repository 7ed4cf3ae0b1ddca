//! Coarse timeouts for the deadlines every request carries: hyper's header-read timeout
//! and the upstream timeout.
//!
//! Why not tokio's timer: registering a `tokio::time::Sleep` can wake the runtime's own
//! driver through its eventfd (tokio unparks the driver whenever a new deadline may come
//! before the one it parked for), and hyper makes a new header-read sleep for every request
//! on a keep-alive connection. Measured with `perf` at 32 connections: 0.7 eventfd
//! `write(2)`s per proxied request, on top of the four socket calls a request needs
//! (benches/README.md). Here a sleep is an entry in a slab that one sweeper task visits at
//! the earliest deadline, and at most once per [`TICK`]: registering and cancelling take an
//! uncontended lock and no system call, and the sweeper only hears of a new sleep when it
//! is due before the next visit (rare: every request's deadline is later than the ones
//! already waiting). The price is precision: a deadline fires up to one tick late, which
//! timeouts of hundreds of milliseconds and more do not notice. An idle proxy with open
//! keep-alive connections wakes once per header-read timeout, not once per tick.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;
use tokio::sync::Notify;

/// The shortest time between two sweeps: the most a deadline fires late.
pub const TICK: Duration = Duration::from_millis(50);

/// A source of coarse sleeps. Clones share one slab and one sweeper task, which ends once
/// the last clone and the last sleep are gone.
#[derive(Clone)]
pub struct CoarseTimer {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the sweeper when a sleep is due before its next visit, and when the last
    /// clone is gone (so that it ends).
    wake_sweeper: Arc<Notify>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.wake_sweeper.notify_one();
    }
}

#[derive(Default)]
struct State {
    sleeps: Slab<Entry>,
    /// The sweeper's next visit; `None` while no sleep waits.
    next_sweep: Option<Instant>,
}

struct Entry {
    deadline: Instant,
    waker: Option<Waker>,
}

impl CoarseTimer {
    /// A timer whose sweeper runs on the current tokio runtime (so: call it inside one).
    // No `Default`: it would hide that this spawns a task and needs a runtime.
    #[allow(clippy::new_without_default)]
    pub fn new() -> CoarseTimer {
        let wake_sweeper = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            wake_sweeper: wake_sweeper.clone(),
        });
        tokio::spawn(sweeper(Arc::downgrade(&shared), wake_sweeper));
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
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves nothing half-done worth refusing over.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the wakers of the sleeps due at `now` and plans the next visit: the earliest
    /// deadline still waiting, but not sooner than a tick from now.
    fn sweep(&self, now: Instant) -> Vec<Waker> {
        let mut state = self.lock();
        let mut due = Vec::new();
        let mut earliest: Option<Instant> = None;
        for (_, entry) in state.sleeps.iter_mut() {
            if entry.deadline <= now {
                due.extend(entry.waker.take());
            } else if entry.waker.is_some() {
                earliest = Some(earliest.map_or(entry.deadline, |e| e.min(entry.deadline)));
            }
        }
        state.next_sweep = earliest.map(|deadline| deadline.max(now + TICK));
        due
    }
}

/// Visits the slab when the earliest deadline comes, waking the sleeps that are due.
async fn sweeper(shared: Weak<Shared>, wake: Arc<Notify>) {
    loop {
        let next_sweep = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let due = shared.sweep(Instant::now());
            due.into_iter().for_each(Waker::wake);
            let next = shared.lock().next_sweep;
            next
        };
        // A sleep registered since the sweep left a permit: `notified` returns at once.
        match next_sweep {
            None => wake.notified().await,
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => {}
                    () = wake.notified() => {}
                }
            }
        }
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
        let mut state = this.shared.lock();
        match this.key.and_then(|key| state.sleeps.get_mut(key)) {
            Some(entry) => match &entry.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => entry.waker = Some(cx.waker().clone()),
            },
            None => {
                this.key = Some(state.sleeps.insert(Entry {
                    deadline: this.deadline,
                    waker: Some(cx.waker().clone()),
                }));
                let sooner = state.next_sweep.is_none_or(|at| this.deadline < at);
                if sooner {
                    // Recorded here so that a burst of such sleeps wakes the sweeper once.
                    state.next_sweep = Some(this.deadline);
                }
                drop(state);
                if sooner {
                    this.shared.wake_sweeper.notify_one();
                }
            }
        }
        Poll::Pending
    }
}

impl CoarseSleep {
    fn cancel(&mut self) {
        if let Some(key) = self.key.take() {
            self.shared.lock().sleeps.try_remove(key);
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
            timer.shared.lock().sleeps.is_empty(),
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
    async fn dropped_sleeps_leave_the_slab_and_the_sweeper_waits_again() {
        let timer = CoarseTimer::new();
        for _ in 0..3 {
            let mut sleep = Box::pin(timer.sleep_until(Instant::now() + Duration::from_secs(60)));
            assert!(futures_util::poll!(sleep.as_mut()).is_pending());
            assert_eq!(timer.shared.lock().sleeps.len(), 1);
            drop(sleep);
            assert!(timer.shared.lock().sleeps.is_empty());
            // The sweeper wakes for nothing at the planned visit, then waits for a sleep.
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
        assert!(timer.shared.lock().sleeps.is_empty());
    }

    #[tokio::test]
    async fn the_sweeper_waits_for_the_earliest_deadline_not_every_tick() {
        let timer = CoarseTimer::new();
        let mut far = Box::pin(timer.sleep_until(Instant::now() + Duration::from_secs(60)));
        assert!(futures_util::poll!(far.as_mut()).is_pending());
        // Several ticks pass: the planned visit stays at the far deadline.
        tokio::time::sleep(4 * TICK).await;
        let next = timer.shared.lock().next_sweep.expect("a visit is planned");
        assert!(next >= Instant::now() + Duration::from_secs(59), "{next:?}");
    }

    #[tokio::test]
    async fn a_sooner_deadline_after_a_later_one_still_fires_on_time() {
        let timer = CoarseTimer::new();
        let mut far = Box::pin(timer.sleep_until(Instant::now() + Duration::from_secs(60)));
        assert!(futures_util::poll!(far.as_mut()).is_pending());
        tokio::time::sleep(2 * TICK).await; // the sweeper now plans to wake in a minute
        let started = Instant::now();
        timer
            .sleep_until(started + Duration::from_millis(100))
            .await;
        assert!(started.elapsed() < Duration::from_millis(100) + 4 * TICK);
        assert!(futures_util::poll!(far.as_mut()).is_pending());
    }

    #[tokio::test]
    async fn the_sweeper_ends_with_the_last_timer() {
        let timer = CoarseTimer::new();
        let weak = Arc::downgrade(&timer.shared);
        drop(timer);
        tokio::time::sleep(2 * TICK).await;
        assert!(weak.upgrade().is_none());
    }
}
