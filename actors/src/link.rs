//! The handle a user actor holds for one connected device: a bounded
//! outbound queue in front of the device actor's mailbox.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use ractor::ActorRef;

use crate::device::DeviceMsg;
use crate::protocol::{CloseCode, ServerFrame};

/// A device connection as seen by its user actor. Cloning shares the queue.
#[derive(Clone)]
pub struct DeviceLink {
    actor: ActorRef<DeviceMsg>,
    shared: Arc<LinkShared>,
}

/// Counters shared by the device actor, its reader and its user actor.
pub(crate) struct LinkShared {
    /// Frames pushed and not yet written.
    pub(crate) queued: AtomicUsize,
    /// Ops forwarded by the reader and not yet acknowledged or refused.
    pub(crate) inflight: AtomicUsize,
    /// Close code to send when the device actor stops (0 = normal).
    pub(crate) close_code: AtomicU16,
    /// Queue capacity.
    pub(crate) cap: usize,
    /// Set when the device actor stopped; wakes the reader.
    pub(crate) stopped: tokio::sync::Notify,
    /// Wakes a device actor stuck in a socket write so it can stop now.
    pub(crate) abort: tokio::sync::Notify,
}

/// The device did not read its frames fast enough and is being disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("outbound queue full: slow consumer disconnected")]
pub struct SlowConsumer;

impl DeviceLink {
    pub(crate) fn new(actor: ActorRef<DeviceMsg>, shared: Arc<LinkShared>) -> Self {
        Self { actor, shared }
    }

    pub(crate) fn shared(&self) -> &Arc<LinkShared> {
        &self.shared
    }

    /// Queue an already-encoded frame. When the queue is full the device is
    /// disconnected with close code 4008 and the frame is dropped; the device
    /// resumes from its version vector when it reconnects, so nothing is lost.
    pub fn push(&self, text: Bytes) -> Result<(), SlowConsumer> {
        let before = self.shared.queued.fetch_add(1, Ordering::AcqRel);
        if before >= self.shared.cap {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!("baton_slow_consumer_disconnects_total").increment(1);
            self.close(CloseCode::SlowConsumer);
            return Err(SlowConsumer);
        }
        self.send(text)
    }

    /// Queue a frame outside the cap. Only for catch-up after `welcome`,
    /// whose size is bounded by the log retention and snapshot chunking.
    pub fn push_catch_up(&self, text: Bytes) {
        self.shared.queued.fetch_add(1, Ordering::AcqRel);
        let _ = self.send(text);
    }

    /// Encode and queue a frame.
    pub fn push_frame(&self, frame: &ServerFrame) -> Result<(), SlowConsumer> {
        self.push(Bytes::from(frame.to_text()))
    }

    fn send(&self, text: Bytes) -> Result<(), SlowConsumer> {
        if self.actor.cast(DeviceMsg::Push(text)).is_err() {
            // The device actor is gone; its detach message is on the way.
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
        }
        Ok(())
    }

    /// One op of this device was acknowledged or refused.
    pub fn op_done(&self) {
        let _ = self
            .shared
            .inflight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// Disconnect the device with `code` (after the frames already queued, or
    /// at once if the socket is stuck).
    pub fn close(&self, code: CloseCode) {
        let _ = self.shared.close_code.compare_exchange(
            0,
            code.code(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if code == CloseCode::SlowConsumer {
            // The queue is stuck: interrupt the write in progress, skip what
            // is queued and stop now.
            self.shared.abort.notify_one();
            self.actor.stop(None);
        } else {
            let _ = self.actor.cast(DeviceMsg::Close);
        }
    }
}

impl LinkShared {
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            queued: AtomicUsize::new(0),
            inflight: AtomicUsize::new(0),
            close_code: AtomicU16::new(0),
            cap,
            stopped: tokio::sync::Notify::new(),
            abort: tokio::sync::Notify::new(),
        })
    }
}
