//! A connection's outbound queue: bounded, filled by its reader and the reply consumer, drained by
//! its writer. An empty queue holds no buffer — unlike tokio's mpsc, whose channel allocates a block
//! of 32 slots up front (1.8 KiB with the channel, here), a cost every idle connection would pay.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::registry::Outgoing;

/// Why an item was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The writer is `capacity` items behind: the client is not reading.
    Full,
    /// The connection is closing; nothing more goes out.
    Closed,
}

#[derive(Debug)]
pub struct SendQueue {
    queue: Mutex<Queue>,
    /// Wakes the writer (one waiter; a wake-up with nobody waiting is kept for the next wait).
    ready: Notify,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Outgoing>,
    closed: bool,
}

impl SendQueue {
    pub fn new(capacity: usize) -> SendQueue {
        SendQueue { queue: Mutex::new(Queue::default()), ready: Notify::new(), capacity }
    }

    /// Queues `item` without waiting, unless the queue is full or closed.
    pub fn push(&self, item: Outgoing) -> Result<(), Refused> {
        self.push_with(item, self.capacity)
    }

    /// Queues `item` even when the queue is full (a close frame goes after whatever is queued).
    pub fn push_over_capacity(&self, item: Outgoing) -> Result<(), Refused> {
        self.push_with(item, usize::MAX)
    }

    fn push_with(&self, item: Outgoing, capacity: usize) -> Result<(), Refused> {
        {
            let mut q = self.queue.lock().expect("send_queue lock");
            if q.closed {
                return Err(Refused::Closed);
            }
            if q.items.len() >= capacity {
                return Err(Refused::Full);
            }
            q.items.push_back(item);
        }
        self.ready.notify_one();
        Ok(())
    }

    /// No more items: the writer gets what is queued, then `None`.
    pub fn close(&self) {
        self.queue.lock().expect("send_queue lock").closed = true;
        self.ready.notify_one();
    }

    /// The next item, or None without waiting.
    pub fn try_recv(&self) -> Option<Outgoing> {
        let mut q = self.queue.lock().expect("send_queue lock");
        let item = q.items.pop_front();
        if q.items.is_empty() && q.items.capacity() > 0 {
            // Idle connections are most of them: an empty queue gives its buffer back.
            q.items = VecDeque::new();
        }
        item
    }

    /// The next item; None once the queue is closed and empty. One receiver only (the writer).
    pub async fn recv(&self) -> Option<Outgoing> {
        loop {
            if let Some(item) = self.try_recv() {
                return Some(item);
            }
            if self.queue.lock().expect("send_queue lock").closed {
                return None;
            }
            // A push between the check above and this wait left a permit: the wait ends at once.
            self.ready.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;

    fn frame(n: u8) -> Outgoing {
        Outgoing::Frame(Bytes::from(vec![n]))
    }

    fn is_frame(item: Option<Outgoing>, n: u8) -> bool {
        matches!(item, Some(Outgoing::Frame(b)) if b[..] == [n])
    }

    #[test]
    fn bounded_in_order_then_closed() {
        let send_queue = SendQueue::new(2);
        assert_eq!(send_queue.push(frame(1)), Ok(()));
        assert_eq!(send_queue.push(frame(2)), Ok(()));
        assert_eq!(send_queue.push(frame(3)), Err(Refused::Full));
        assert_eq!(send_queue.push_over_capacity(Outgoing::Close(1000, "bye".into())), Ok(()));
        send_queue.close();
        assert_eq!(send_queue.push(frame(4)), Err(Refused::Closed));
        assert_eq!(send_queue.push_over_capacity(Outgoing::Ping), Err(Refused::Closed));
        assert!(is_frame(send_queue.try_recv(), 1));
        assert!(is_frame(send_queue.try_recv(), 2));
        assert!(matches!(send_queue.try_recv(), Some(Outgoing::Close(1000, r)) if r == "bye"));
        assert!(send_queue.try_recv().is_none());
    }

    #[test]
    fn an_emptied_queue_frees_its_buffer() {
        let send_queue = SendQueue::new(256);
        for n in 0..100 {
            send_queue.push(frame(n)).unwrap();
        }
        while send_queue.try_recv().is_some() {}
        assert_eq!(send_queue.queue.lock().unwrap().items.capacity(), 0);
    }

    #[tokio::test]
    async fn the_writer_wakes_for_each_push_and_ends_on_close() {
        let send_queue = Arc::new(SendQueue::new(8));
        let writer = tokio::spawn({
            let send_queue = send_queue.clone();
            async move {
                let mut got = Vec::new();
                while let Some(item) = send_queue.recv().await {
                    got.push(item);
                }
                got.len()
            }
        });
        for n in 0..5 {
            send_queue.push(frame(n)).unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        send_queue.push(frame(5)).unwrap();
        send_queue.close();
        assert_eq!(tokio::time::timeout(Duration::from_secs(5), writer).await.unwrap().unwrap(), 6);
    }
}
