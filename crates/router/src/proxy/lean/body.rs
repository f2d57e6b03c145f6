//! A lean connection and the response body read straight from it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};

use bytes::{Bytes, BytesMut};
use http::uri::Authority;
use http_body::{Body, Frame, SizeHint};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::chunked::{ChunkError, Chunked, Step};
use super::head::Framing;
use super::{LeanError, LeanPool};
use crate::proxy::idle::State;

/// Free room below which the read buffer grows before a read.
const MIN_READ: usize = 2048;
/// How much the read buffer grows by.
const READ_CHUNK: usize = 16 * 1024;

/// One upstream connection with its buffers.
#[derive(Debug)]
pub(super) struct Connection {
    stream: TcpStream,
    /// Received and not yet consumed.
    pub(super) input: BytesMut,
    /// The request head being written (kept for its capacity).
    pub(super) output: Vec<u8>,
}

/// A response body streamed from its connection, which goes back to its pool once the body
/// is fully read (when it may be reused), and is closed when the body is dropped early.
#[derive(Debug)]
pub(crate) struct LeanBody {
    connection: Option<Box<Connection>>,
    reading: Reading,
    reusable: bool,
    home: Option<(Arc<LeanPool>, Authority)>,
}

/// How far a response body has been read from the connection's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reading {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
    Done,
}

// === impl Connection ===

impl Connection {
    pub(super) fn new(stream: TcpStream) -> Self {
        Connection { stream, input: BytesMut::new(), output: Vec::new() }
    }

    /// An idle connection is ready unless the upstream closed it or sent something unasked.
    /// Costs no system call unless the socket signalled something since the last read.
    pub(super) fn idle_state(&mut self) -> State {
        let mut cx = Context::from_waker(Waker::noop());
        match self.stream.poll_read_ready(&mut cx) {
            Poll::Pending => State::Ready,
            Poll::Ready(Err(_)) => State::Closed,
            // Readable: closed, unsolicited bytes, or a stale signal that this read clears.
            Poll::Ready(Ok(())) => match self.poll_fill(&mut cx) {
                Poll::Pending => State::Ready,
                Poll::Ready(_) => State::Closed,
            },
        }
    }

    pub(super) async fn write_output(&mut self) -> io::Result<()> {
        self.stream.write_all(&self.output).await
    }

    /// Reads what has arrived into `input`; `0` at end of stream.
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.input.capacity() - self.input.len() < MIN_READ {
            self.input.reserve(READ_CHUNK);
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.input)
    }

    pub(super) async fn fill(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_fill(cx)).await
    }
}

// === impl LeanBody ===

impl LeanBody {
    pub(super) fn new(
        connection: Box<Connection>,
        framing: Framing,
        reusable: bool,
        home: (Arc<LeanPool>, Authority),
    ) -> Self {
        let reading = Reading::new(framing);
        let mut body = LeanBody { connection: Some(connection), reading, reusable, home: Some(home) };
        if body.reading == Reading::Done {
            body.release();
        }
        body
    }

    /// The body is read: the connection goes back to its pool if it can carry another
    /// request (nothing left over in its buffer), else it is closed.
    fn release(&mut self) {
        let (Some(connection), Some((pool, authority))) = (self.connection.take(), self.home.take()) else { return };
        if self.reusable && connection.input.is_empty() {
            pool.checkin(&authority, connection);
        }
    }

    /// The next frame from what is buffered, `None` when more must be read first.
    fn buffered_frame(&mut self) -> Option<Result<Option<Bytes>, LeanError>> {
        let input = &mut self.connection.as_mut()?.input;
        match self.reading.step(input) {
            Ok(Step::Data(data)) => Some(Ok(Some(data))),
            Ok(Step::Done) => Some(Ok(None)),
            Ok(Step::NeedMore) => None,
            Err(error) => Some(Err(LeanError::Chunk(error))),
        }
    }
}

// === impl Reading ===

impl Reading {
    pub(super) fn new(framing: Framing) -> Self {
        match framing {
            Framing::Empty => Reading::Done,
            Framing::Length(length) => Reading::Length(length),
            Framing::Chunked => Reading::Chunked(Chunked::Size),
            Framing::UntilClose => Reading::UntilClose,
        }
    }

    /// Takes the next piece of the body off the front of `input`. A fixed-length body is
    /// `Done` as soon as its last byte is taken; one read until close never is (its end is
    /// the connection's).
    pub(super) fn step(&mut self, input: &mut BytesMut) -> Result<Step, ChunkError> {
        match self {
            Reading::Done => Ok(Step::Done),
            Reading::Length(_) | Reading::UntilClose if input.is_empty() => Ok(Step::NeedMore),
            Reading::Length(left) => {
                let take = usize::try_from(*left).unwrap_or(usize::MAX).min(input.len());
                let data = input.split_to(take).freeze();
                *left -= take as u64;
                if *left == 0 {
                    *self = Reading::Done;
                }
                Ok(Step::Data(data))
            }
            Reading::UntilClose => Ok(Step::Data(input.split().freeze())),
            Reading::Chunked(state) => {
                let step = state.step(input)?;
                if step == Step::Done {
                    *self = Reading::Done;
                }
                Ok(step)
            }
        }
    }
}

impl Body for LeanBody {
    type Data = Bytes;
    type Error = LeanError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, LeanError>>> {
        let this = self.get_mut();
        loop {
            if let Some(buffered) = this.buffered_frame() {
                if this.reading == Reading::Done {
                    this.release();
                }
                return Poll::Ready(buffered.map(|data| data.map(Frame::data)).transpose());
            }
            let Some(connection) = this.connection.as_mut() else { return Poll::Ready(None) };
            match ready!(connection.poll_fill(cx)) {
                Ok(0) if this.reading == Reading::UntilClose => {
                    this.reading = Reading::Done;
                    this.connection = None;
                    return Poll::Ready(None);
                }
                Ok(0) => {
                    this.connection = None;
                    return Poll::Ready(Some(Err(LeanError::Truncated)));
                }
                Ok(_) => {}
                Err(error) => {
                    this.connection = None;
                    return Poll::Ready(Some(Err(LeanError::Read(error))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.reading == Reading::Done || self.connection.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.reading {
            Reading::Length(left) => SizeHint::with_exact(left),
            Reading::Done => SizeHint::with_exact(0),
            Reading::Chunked(_) | Reading::UntilClose => SizeHint::default(),
        }
    }
}
