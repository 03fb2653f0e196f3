//! The handle a user actor holds for one connected device: the device's
//! outbound queue, bounded in frames and in bytes, and its close signal.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::protocol::{CloseCode, ServerFrame};

/// A device connection as seen by its user actor. Cloning shares the queue.
#[derive(Clone)]
pub struct DeviceLink {
    shared: Arc<LinkShared>,
}

/// How much one device's outbound queue may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueBounds {
    /// Frames `push` accepts before the device counts as a slow consumer.
    pub frames: usize,
    /// Bytes `push` accepts before the device counts as a slow consumer.
    pub bytes: usize,
    /// Extra bytes catch-up (`push_catch_up`) may add on top of `bytes`.
    pub catch_up_bytes: usize,
}

/// Encoded frames waiting to be written (each marked live or catch-up), and
/// their total size.
struct Queue {
    /// A `VecDeque` allocates nothing while empty, which is what an idle
    /// device's queue is.
    frames: VecDeque<(Bytes, Lane)>,
    bytes: usize,
    /// Live frames queued: the frame cap counts these only. (Counting the
    /// catch-up frames too closed a device resuming with more than the cap in
    /// deltas with 4008 on every attempt: the presence frame after its
    /// `welcome` never fit.)
    live: usize,
    /// Bytes of the live frames queued: the live byte budget counts these;
    /// everything queued together stays within the budget plus the catch-up
    /// allowance.
    live_bytes: usize,
}

/// Which budget a queued frame counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    Live,
    CatchUp,
}

/// State shared by a device's session task, its link holders and the hub.
pub(crate) struct LinkShared {
    queue: Mutex<Queue>,
    bounds: QueueBounds,
    /// Ops forwarded by the session and not yet acknowledged or refused.
    pub(crate) inflight: AtomicUsize,
    /// A `resync` was forwarded and its snapshot is not queued yet: further
    /// `resync` frames are merged into it.
    snapshot_pending: AtomicBool,
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
    /// A new link whose outbound queue holds at most `bounds`.
    pub(crate) fn new(bounds: QueueBounds) -> Self {
        Self {
            shared: Arc::new(LinkShared {
                queue: Mutex::new(Queue {
                    frames: VecDeque::new(),
                    bytes: 0,
                    live: 0,
                    live_bytes: 0,
                }),
                bounds: QueueBounds {
                    frames: bounds.frames.max(1),
                    ..bounds
                },
                inflight: AtomicUsize::new(0),
                snapshot_pending: AtomicBool::new(false),
                close_code: AtomicU16::new(0),
                wake: Notify::new(),
                abort: Notify::new(),
            }),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<LinkShared> {
        &self.shared
    }

    /// Queue an already-encoded live frame. When the live frames queued
    /// reach their cap (in frames or in bytes; catch-up frames queued before
    /// them do not count, except against the total of budget plus allowance)
    /// the device is disconnected with close code 4008 and the frame is dropped; the device resumes from its version vector when it
    /// reconnects, so nothing is lost.
    pub fn push(&self, text: Bytes) -> Result<(), SlowConsumer> {
        let bounds = self.shared.bounds;
        self.enqueue(text, Lane::Live, |q, len| {
            q.live < bounds.frames
                && q.live_bytes + len <= bounds.bytes
                && q.bytes + len <= bounds.bytes + bounds.catch_up_bytes
        })
    }

    /// Queue a catch-up frame (welcome, deltas, snapshot chunks, `synced`).
    /// Catch-up is not held to the frame cap (a resume may send up to the log
    /// retention in deltas) but to the byte budget plus the catch-up
    /// allowance; beyond it the device is disconnected with 4008.
    pub fn push_catch_up(&self, text: Bytes) {
        let max = self.shared.bounds.bytes + self.shared.bounds.catch_up_bytes;
        let _ = self.enqueue(text, Lane::CatchUp, |q, len| q.bytes + len <= max);
    }

    fn enqueue(
        &self,
        text: Bytes,
        lane: Lane,
        fits: impl FnOnce(&Queue, usize) -> bool,
    ) -> Result<(), SlowConsumer> {
        if self.shared.close_requested() == Some(CloseCode::SlowConsumer) {
            return Err(SlowConsumer);
        }
        {
            let mut queue = self.shared.lock();
            if !fits(&queue, text.len()) {
                drop(queue);
                metrics::counter!("baton_slow_consumer_disconnects_total").increment(1);
                self.close(CloseCode::SlowConsumer);
                return Err(SlowConsumer);
            }
            queue.bytes += text.len();
            if lane == Lane::Live {
                queue.live += 1;
                queue.live_bytes += text.len();
            }
            queue.frames.push_back((text, lane));
        }
        self.shared.wake.notify_one();
        Ok(())
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

    /// The snapshot a `resync` asked for is being queued: the next `resync`
    /// asks for a new one.
    pub fn snapshot_queued(&self) {
        self.shared.snapshot_pending.store(false, Ordering::Release);
    }

    /// Disconnect the device with `code`: after the frames already queued,
    /// or at once (interrupting a stuck write) for a slow consumer.
    pub fn close(&self, code: CloseCode) {
        self.shared.request_close(code);
    }
}

impl LinkShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next frame to write, releasing the queue's memory once it is empty.
    pub(crate) fn pop(&self) -> Option<Bytes> {
        let mut queue = self.lock();
        let next = queue.frames.pop_front();
        if let Some((frame, lane)) = &next {
            queue.bytes -= frame.len();
            if *lane == Lane::Live {
                queue.live -= 1;
                queue.live_bytes -= frame.len();
            }
        }
        if queue.frames.is_empty() && queue.frames.capacity() > 16 {
            queue.frames.shrink_to_fit();
        }
        next.map(|(frame, _)| frame)
    }

    /// Drop every queued frame (the device is being disconnected).
    pub(crate) fn clear(&self) {
        let mut queue = self.lock();
        queue.frames = VecDeque::new();
        queue.bytes = 0;
        queue.live = 0;
        queue.live_bytes = 0;
    }

    /// Mark a snapshot as requested. `false` when one is already pending (the
    /// new request is merged into it).
    pub(crate) fn request_snapshot(&self) -> bool {
        !self.snapshot_pending.swap(true, Ordering::AcqRel)
    }

    /// Request a close with `code` (the first request wins) and wake the
    /// session; a slow-consumer close also interrupts a stuck write.
    pub(crate) fn request_close(&self, code: CloseCode) {
        let first = self
            .close_code
            .compare_exchange(0, code.code(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first && code == CloseCode::SlowConsumer {
            self.abort.notify_one();
        }
        self.wake.notify_one();
    }

    /// The close code requested, if any.
    pub(crate) fn close_requested(&self) -> Option<CloseCode> {
        match self.close_code.load(Ordering::Acquire) {
            0 => None,
            n => Some(CloseCode::from_code(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(frames: usize, bytes: usize, catch_up_bytes: usize) -> DeviceLink {
        DeviceLink::new(QueueBounds {
            frames,
            bytes,
            catch_up_bytes,
        })
    }

    #[test]
    fn live_frames_fill_up_to_the_byte_budget_then_close_4008() {
        let l = link(100, 10, 0);
        assert!(l.push(Bytes::from_static(b"12345")).is_ok());
        assert!(
            l.push(Bytes::from_static(b"12345")).is_ok(),
            "exactly at the budget"
        );
        assert_eq!(l.push(Bytes::from_static(b"1")), Err(SlowConsumer));
        assert_eq!(l.shared().close_requested(), Some(CloseCode::SlowConsumer));
    }

    #[test]
    fn live_frames_are_also_capped_in_number() {
        let l = link(2, 1000, 0);
        assert!(l.push(Bytes::from_static(b"a")).is_ok());
        assert!(l.push(Bytes::from_static(b"b")).is_ok());
        assert_eq!(l.push(Bytes::from_static(b"c")), Err(SlowConsumer));
    }

    #[test]
    fn catch_up_gets_its_allowance_on_top_and_no_frame_cap() {
        let l = link(1, 4, 6);
        for _ in 0..10 {
            l.push_catch_up(Bytes::from_static(b"1"));
        }
        assert_eq!(l.shared().close_requested(), None, "10 bytes fit in 4 + 6");
        l.push_catch_up(Bytes::from_static(b"1"));
        assert_eq!(l.shared().close_requested(), Some(CloseCode::SlowConsumer));
    }

    #[test]
    fn catch_up_frames_do_not_use_up_the_live_frame_cap() {
        let l = link(2, 1_000, 100_000);
        for _ in 0..300 {
            l.push_catch_up(Bytes::from_static(b"delta"));
        }
        assert!(
            l.push(Bytes::from_static(b"presence")).is_ok(),
            "behind 300 deltas"
        );
        assert!(l.push(Bytes::from_static(b"ack")).is_ok());
        assert_eq!(l.push(Bytes::from_static(b"third")), Err(SlowConsumer));
    }

    #[test]
    fn written_live_frames_free_their_place() {
        let l = link(1, 1_000, 0);
        assert!(l.push(Bytes::from_static(b"a")).is_ok());
        assert_eq!(l.shared().pop().as_deref(), Some(&b"a"[..]));
        assert!(l.push(Bytes::from_static(b"b")).is_ok());
    }

    #[test]
    fn written_frames_give_their_bytes_back() {
        let l = link(100, 4, 0);
        assert!(l.push(Bytes::from_static(b"1234")).is_ok());
        assert_eq!(l.shared().pop().as_deref(), Some(&b"1234"[..]));
        assert!(l.push(Bytes::from_static(b"5678")).is_ok());
    }

    #[test]
    fn a_pending_snapshot_merges_further_requests_until_queued() {
        let l = link(1, 1, 0);
        assert!(l.shared().request_snapshot());
        assert!(!l.shared().request_snapshot());
        l.snapshot_queued();
        assert!(l.shared().request_snapshot());
    }
}
