//! The Bink call budget: at most `bink.max_concurrent_calls` user calls at once, shared
//! fairly between client addresses (SPEC §9).
//!
//! A plain semaphore is first come, first served: 2,000 junk tokens from one address queue
//! 2,000 calls ahead of everyone else's sign-in. Here each client address (an IPv6 client
//! by its /64, which is what one subscriber gets) has its own queue, and a freed permit
//! goes to the next address in turn, not to the longest queue. One address may also hold
//! at most three quarters of the permits (all but one when there are fewer than eight), so
//! a newcomer finds a free permit at once even while a single address floods: its answer
//! then takes one Bink call, well within `bink.timeout`.
//!
//! Permits travel as [`Permit`] values that give themselves back on drop, so a waiter
//! that gives up (its `permit_wait` ran out, or its request was dropped) cannot leak one,
//! even when a permit was sent to it at that very moment.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;

/// Who a call is charged to: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(u128);

impl ClientKey {
    pub fn of(ip: IpAddr) -> ClientKey {
        // An IPv6 key keeps the /64 and has its low 64 bits zero; an IPv4 key has bit 32 set
        // there, so the two kinds never collide.
        let v4 = |v4: std::net::Ipv4Addr| ClientKey(1 << 32 | u128::from(u32::from(v4)));
        match ip {
            IpAddr::V4(addr) => v4(addr),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(addr) => v4(addr),
                None => ClientKey(u128::from(v6) & !u128::from(u64::MAX)),
            },
        }
    }
}

pub struct CallBudget {
    /// The most one client may hold at once.
    per_client: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    free: usize,
    /// Clients holding or waiting for permits (others are forgotten).
    clients: HashMap<ClientKey, Client>,
    /// Clients with waiters, in the order they get their next permit.
    turn: VecDeque<ClientKey>,
}

#[derive(Default)]
struct Client {
    held: usize,
    waiters: VecDeque<oneshot::Sender<Permit>>,
}

/// One Bink call's share of the budget; given back when dropped.
pub struct Permit {
    /// `None` once the budget has taken it back by hand (see `hand_out`).
    budget: Option<Arc<CallBudget>>,
    client: ClientKey,
}

/// The budget had no permit for this client within the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

impl CallBudget {
    pub fn new(permits: usize) -> Arc<CallBudget> {
        let permits = permits.max(1);
        // A quarter (at least one) kept for other clients, unless there is only one permit.
        let reserve = if permits > 1 { (permits / 4).max(1) } else { 0 };
        Arc::new(CallBudget {
            per_client: permits - reserve,
            state: Mutex::new(State {
                free: permits,
                ..State::default()
            }),
        })
    }

    /// A permit for `client`, waiting at most `wait` for its turn.
    pub async fn acquire(
        self: &Arc<Self>,
        client: ClientKey,
        wait: Duration,
    ) -> Result<Permit, Exhausted> {
        let receiver = {
            let mut guard = self.lock();
            let State {
                free,
                clients,
                turn,
            } = &mut *guard;
            let entry = clients.entry(client).or_default();
            if *free > 0 && entry.held < self.per_client && entry.waiters.is_empty() {
                entry.held += 1;
                *free -= 1;
                return Ok(self.permit(client));
            }
            let (sender, receiver) = oneshot::channel();
            entry.waiters.push_back(sender);
            if entry.waiters.len() == 1 {
                turn.push_back(client);
            }
            receiver
        };
        match tokio::time::timeout(wait, receiver).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out (a permit sent meanwhile is dropped with the receiver and goes back).
            _ => Err(Exhausted),
        }
    }

    fn permit(self: &Arc<Self>, client: ClientKey) -> Permit {
        Permit {
            budget: Some(self.clone()),
            client,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent between statements; a panic elsewhere cannot break it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Gives `client`'s permit back and hands free permits to waiting clients in turn.
    fn release(self: &Arc<Self>, client: ClientKey) {
        let mut state = self.lock();
        state.free += 1;
        if let Some(entry) = state.clients.get_mut(&client) {
            entry.held = entry.held.saturating_sub(1);
        }
        self.hand_out(&mut state);
        forget_if_idle(&mut state.clients, client);
    }

    fn hand_out(self: &Arc<Self>, state: &mut State) {
        let State {
            free,
            clients,
            turn,
        } = state;
        // Stop when every client still in turn was looked at without being served (each one
        // is at its cap): each step serves one, drops one from the turn, or counts a look.
        let mut idle_looks = 0;
        while *free > 0 && idle_looks < turn.len() {
            let Some(key) = turn.pop_front() else {
                break;
            };
            let Some(entry) = clients.get_mut(&key) else {
                continue;
            };
            let mut handed = false;
            while entry.held < self.per_client && !handed {
                let Some(waiter) = entry.waiters.pop_front() else {
                    break;
                };
                match waiter.send(self.permit(key)) {
                    Ok(()) => {
                        entry.held += 1;
                        *free -= 1;
                        handed = true;
                    }
                    // That waiter gave up; defuse the permit so that dropping it does not
                    // re-enter `release` (we hold the lock).
                    Err(mut permit) => permit.budget = None,
                }
            }
            if entry.waiters.is_empty() {
                // Out of the turn for good: not a look to repeat.
                forget_if_idle(clients, key);
            } else {
                turn.push_back(key);
                if !handed {
                    idle_looks += 1;
                }
            }
            if handed {
                idle_looks = 0;
            }
        }
    }

    #[cfg(test)]
    fn free(&self) -> usize {
        self.lock().free
    }
}

/// Drops a client that holds nothing and waits for nothing (an idle client costs nothing).
fn forget_if_idle(clients: &mut HashMap<ClientKey, Client>, key: ClientKey) {
    if clients
        .get(&key)
        .is_some_and(|c| c.held == 0 && c.waiters.is_empty())
    {
        clients.remove(&key);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(budget) = self.budget.take() {
            budget.release(self.client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(last: u8) -> ClientKey {
        ClientKey::of(IpAddr::from([10, 0, 0, last]))
    }

    const WAIT: Duration = Duration::from_millis(200);

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::of(a), ClientKey::of(b));
        assert_ne!(ClientKey::of(a), ClientKey::of(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(ClientKey::of(mapped), key(1));
        assert_ne!(
            ClientKey::of("::1".parse().unwrap()),
            ClientKey::of("0.0.0.1".parse().unwrap())
        );
    }

    #[tokio::test]
    async fn one_client_cannot_take_the_last_quarter() {
        let budget = CallBudget::new(8);
        let mut held = Vec::new();
        for _ in 0..6 {
            held.push(budget.acquire(key(1), WAIT).await.unwrap());
        }
        assert!(budget
            .acquire(key(1), Duration::from_millis(20))
            .await
            .is_err());
        // Another address is served at once.
        let other = tokio::time::timeout(Duration::from_millis(5), budget.acquire(key(2), WAIT));
        assert!(other.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn freed_permits_go_round_the_clients_not_to_the_longest_queue() {
        let budget = CallBudget::new(1);
        let first = budget.acquire(key(1), WAIT).await.unwrap();
        // Client 1 queues three more, then client 2 queues one.
        let mut queued = Vec::new();
        for c in [1, 1, 1, 2] {
            let budget = budget.clone();
            queued.push(tokio::spawn(async move {
                let permit = budget
                    .acquire(key(c), Duration::from_secs(5))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
                drop(permit);
                (c, std::time::Instant::now())
            }));
            tokio::task::yield_now().await;
        }
        drop(first);
        let mut done = Vec::new();
        for task in queued {
            done.push(task.await.unwrap());
        }
        done.sort_by_key(|&(_, at)| at);
        let order: Vec<u8> = done.iter().map(|&(c, _)| c).collect();
        // Client 2 goes second, not after all of client 1's queue.
        assert_eq!(order, [1, 2, 1, 1]);
        assert_eq!(budget.free(), 1);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_leaks_nothing() {
        let budget = CallBudget::new(2);
        let a = budget.acquire(key(1), WAIT).await.unwrap();
        let b = budget.acquire(key(2), WAIT).await.unwrap();
        assert_eq!(
            budget
                .acquire(key(3), Duration::from_millis(10))
                .await
                .err(),
            Some(Exhausted)
        );
        let waiting = {
            let budget = budget.clone();
            tokio::spawn(
                async move { budget.acquire(key(4), Duration::from_secs(5)).await.is_ok() },
            )
        };
        tokio::task::yield_now().await;
        drop(a);
        assert!(waiting.await.unwrap());
        drop(b);
        assert_eq!(budget.free(), 2);
        assert!(budget.lock().clients.is_empty());
    }
}
