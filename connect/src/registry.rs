//! The connections of this node, by connection id, and what each is bound to.

use std::borrow::Cow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use dashmap::DashMap;
use tokio_util::sync::CancellationToken;

use crate::send_queue::{Refused, SendQueue};

/// Something for a connection's writer.
#[derive(Debug)]
pub enum Outgoing {
    /// A MessagePack frame `[head, body]`; sent as is, or as JSON text to a JSON client.
    Frame(Bytes),
    /// A WebSocket ping (heartbeat).
    Ping,
    /// Close with this code and reason, then stop.
    Close(u16, Cow<'static, str>),
}

/// Per-connection state shared by its reader, its writer and the reply consumer.
#[derive(Debug, Default)]
pub struct ConnState {
    /// The user and session the connection is logged in as.
    session: Mutex<Option<(u64, String)>>,
    /// Whether the client's latest frame was JSON text (answers follow its choice).
    pub json: AtomicBool,
    /// Whether the connection has ever been bound to a user (its login deadline is then met).
    bound: AtomicBool,
    /// A close asked for by the server (a ban), read by the connection's reader once kicked.
    close: Mutex<Option<(u16, Cow<'static, str>)>>,
}

impl ConnState {
    pub fn session(&self) -> Option<(u64, String)> {
        self.session.lock().expect("session lock").clone()
    }

    /// Sets (or clears) the session; returns the previous one.
    pub fn set_session(&self, s: Option<(u64, String)>) -> Option<(u64, String)> {
        if s.is_some() {
            self.bound.store(true, Ordering::Relaxed);
        }
        std::mem::replace(&mut *self.session.lock().expect("session lock"), s)
    }

    /// Whether the connection has been bound to a user (logged in or resumed) at some point; a
    /// logout does not undo it.
    pub fn was_bound(&self) -> bool {
        self.bound.load(Ordering::Relaxed)
    }

    /// The close asked for with [`ConnHandle::close`], if any (taken).
    pub fn take_close(&self) -> Option<(u16, Cow<'static, str>)> {
        self.close.lock().expect("close lock").take()
    }
}

/// A connection as the rest of the node sees it.
#[derive(Clone, Debug)]
pub struct ConnHandle {
    pub send_queue: std::sync::Arc<SendQueue>,
    pub state: std::sync::Arc<ConnState>,
    /// Cancelled to make the connection close itself (slow consumer, shutdown, [`ConnHandle::close`]).
    pub kick: CancellationToken,
}

impl ConnHandle {
    /// Queues a frame without waiting. A client whose queue is full is not reading: it is kicked,
    /// and the frame dropped (false).
    pub fn send(&self, frame: Bytes) -> bool {
        match self.send_queue.push(Outgoing::Frame(frame)) {
            Ok(()) => true,
            Err(Refused::Full) => {
                tracing::warn!("outbound queue full: disconnecting a client that does not read");
                self.kick.cancel();
                false
            }
            Err(Refused::Closed) => false,
        }
    }

    /// Makes the connection close itself with `code` and `reason` (after what is queued for it).
    /// The first close asked for wins.
    pub fn close(&self, code: u16, reason: impl Into<Cow<'static, str>>) {
        self.state.close.lock().expect("close lock").get_or_insert((code, reason.into()));
        self.kick.cancel();
    }
}

/// All connections of the node.
#[derive(Debug)]
pub struct Registry {
    conns: DashMap<u64, ConnHandle>,
    next: AtomicU64,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    pub fn new() -> Registry {
        // Connection ids are unique across nodes: a random high half, a counter in the low half.
        Registry { conns: DashMap::new(), next: AtomicU64::new((rand::random::<u32>() as u64) << 32) }
    }

    pub fn next_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    pub fn insert(&self, id: u64, handle: ConnHandle) {
        self.conns.insert(id, handle);
    }

    pub fn remove(&self, id: u64) {
        self.conns.remove(&id);
    }

    pub fn get(&self, id: u64) -> Option<ConnHandle> {
        self.conns.get(&id).map(|c| c.clone())
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// Every connection (for broadcasts and shutdown).
    pub fn all(&self) -> Vec<ConnHandle> {
        self.conns.iter().map(|c| c.value().clone()).collect()
    }
}
