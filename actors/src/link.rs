//! The handle a user actor holds for one connected device: the device's
//! bounded outbound queue and its close signal.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::protocol::{CloseCode, ServerFrame};

/// A device connection as seen by its user actor. Cloning shares the queue.
#[derive(Clone)]
pub struct DeviceLink {
    shared: Arc<LinkShared>,
}

/// State shared by a device's session task, its link holders and the hub.
pub(crate) struct LinkShared {
    /// Encoded frames waiting to be written. A `VecDeque` allocates nothing
    /// while empty, which is what an idle device's queue is.
    queue: Mutex<VecDeque<Bytes>>,
    /// Frames `push` accepts before the device counts as a slow consumer.
    cap: usize,
    /// Ops forwarded by the session and not yet acknowledged or refused.
    pub(crate) inflight: AtomicUsize,
    /// Close code requested (0 = none yet). The first request wins.
    close_code: AtomicU16,
    /// Wakes the session: frames were queued or a close was requested.
    pub(crate) wake: Notify,
    /// Interrupts a socket write in progress (slow consumer).
    pub(crate) abort: Notify,
}

/// The device did not read its frames fast enough and is being disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("outbound queue full: slow consumer disconnected")]
pub struct SlowConsumer;

impl DeviceLink {
    /// A new link with an outbound queue of `cap` frames.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            shared: Arc::new(LinkShared {
                queue: Mutex::new(VecDeque::new()),
                cap: cap.max(1),
                inflight: AtomicUsize::new(0),
                close_code: AtomicU16::new(0),
                wake: Notify::new(),
                abort: Notify::new(),
            }),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<LinkShared> {
        &self.shared
    }

    /// Queue an already-encoded frame. When the queue is full the device is
    /// disconnected with close code 4008 and the frame is dropped; the device
    /// resumes from its version vector when it reconnects, so nothing is lost.
    pub fn push(&self, text: Bytes) -> Result<(), SlowConsumer> {
        {
            let mut queue = self.shared.lock();
            if queue.len() >= self.shared.cap {
                drop(queue);
                metrics::counter!("baton_slow_consumer_disconnects_total").increment(1);
                self.close(CloseCode::SlowConsumer);
                return Err(SlowConsumer);
            }
            queue.push_back(text);
        }
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Queue a frame outside the cap. Only for catch-up after `welcome`,
    /// whose size is bounded by the log retention and snapshot chunking.
    pub fn push_catch_up(&self, text: Bytes) {
        self.shared.lock().push_back(text);
        self.shared.wake.notify_one();
    }

    /// Encode and queue a frame.
    pub fn push_frame(&self, frame: &ServerFrame) -> Result<(), SlowConsumer> {
        self.push(Bytes::from(frame.to_text()))
    }

    /// One op of this device was acknowledged or refused.
    pub fn op_done(&self) {
        let _ = self
            .shared
            .inflight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// Disconnect the device with `code`: after the frames already queued,
    /// or at once (interrupting a stuck write) for a slow consumer.
    pub fn close(&self, code: CloseCode) {
        let first = self
            .shared
            .close_code
            .compare_exchange(0, code.code(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first && code == CloseCode::SlowConsumer {
            self.shared.abort.notify_one();
        }
        self.shared.wake.notify_one();
    }
}

impl LinkShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Bytes>> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next frame to write, releasing the queue's memory once it is empty.
    pub(crate) fn pop(&self) -> Option<Bytes> {
        let mut queue = self.lock();
        let next = queue.pop_front();
        if queue.is_empty() && queue.capacity() > 16 {
            queue.shrink_to_fit();
        }
        next
    }

    /// The close code requested, if any.
    pub(crate) fn close_requested(&self) -> Option<CloseCode> {
        match self.close_code.load(Ordering::Acquire) {
            0 => None,
            n => Some(CloseCode::from_code(n)),
        }
    }
}
