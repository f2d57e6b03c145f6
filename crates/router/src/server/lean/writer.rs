//! Writes a response: its head and what of its body is ready in one write, the rest as it
//! comes, framed as the head said.

use std::future::poll_fn;
use std::io::Write as _;
use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use http_body::{Body, Frame};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::LeanError;
use super::encode::Framing;
use crate::body::ResponseBody;

/// Bytes gathered before they are written even though more body is ready.
const WRITE_AT: usize = 16 * 1024;

/// Writes `head` (already in `out`) and `body` framed by `framing`, then flushes.
pub(super) async fn write<IO>(
    io: &mut IO,
    mut out: Vec<u8>,
    mut body: ResponseBody,
    framing: Framing,
) -> Result<(), LeanError>
where
    IO: AsyncWrite + Unpin,
{
    let mut frame = Framer::new(framing);
    if framing != Framing::Length(0) {
        loop {
            // The body's next frame if it is ready now, else what was gathered goes out first.
            let next = match poll_fn(|cx| Poll::Ready(Pin::new(&mut body).poll_frame(cx))).await {
                Poll::Ready(next) => next,
                Poll::Pending => {
                    send(io, &mut out).await?;
                    poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
                }
            };
            match next {
                Some(Ok(next)) => frame.data(next, &mut out)?,
                Some(Err(error)) => return Err(LeanError::Body(error)),
                None => break,
            }
            if out.len() >= WRITE_AT {
                send(io, &mut out).await?;
            }
        }
        frame.end(&mut out)?;
    }
    send(io, &mut out).await
}

async fn send<IO: AsyncWrite + Unpin>(io: &mut IO, out: &mut Vec<u8>) -> Result<(), LeanError> {
    if !out.is_empty() {
        io.write_all(out).await.map_err(LeanError::Io)?;
        out.clear();
    }
    io.flush().await.map_err(LeanError::Io)
}

/// Frames body data as the head said, checking a declared length.
#[derive(Debug)]
struct Framer {
    framing: Framing,
    written: u64,
}

impl Framer {
    fn new(framing: Framing) -> Self {
        Framer { framing, written: 0 }
    }

    /// Appends one frame's data (trailers are dropped, as hyper drops them without a `Trailer`).
    fn data(&mut self, frame: Frame<Bytes>, out: &mut Vec<u8>) -> Result<(), LeanError> {
        let Ok(data) = frame.into_data() else { return Ok(()) };
        if data.is_empty() {
            return Ok(());
        }
        self.written += data.len() as u64;
        match self.framing {
            Framing::Length(length) if self.written > length => return Err(LeanError::BodyLength),
            Framing::Chunked => {
                let _ = write!(out, "{:X}\r\n", data.len());
                out.extend_from_slice(&data);
                out.extend_from_slice(b"\r\n");
                return Ok(());
            }
            Framing::Length(_) | Framing::UntilClose => {}
        }
        out.extend_from_slice(&data);
        Ok(())
    }

    fn end(&self, out: &mut Vec<u8>) -> Result<(), LeanError> {
        match self.framing {
            Framing::Chunked => out.extend_from_slice(b"0\r\n\r\n"),
            Framing::Length(length) if self.written != length => return Err(LeanError::BodyLength),
            Framing::Length(_) | Framing::UntilClose => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunked_bodies_end_with_the_last_chunk() -> Result<(), LeanError> {
        let mut written = Vec::new();
        let head = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        write(&mut written, head, ResponseBody::full("hello"), Framing::Chunked).await?;
        assert_eq!(written, b"HTTP/1.1 200 OK\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        Ok(())
    }

    #[tokio::test]
    async fn a_body_longer_or_shorter_than_its_length_is_an_error() {
        for length in [4, 6] {
            let mut written = Vec::new();
            let wrote = write(&mut written, Vec::new(), ResponseBody::full("hello"), Framing::Length(length)).await;
            assert!(matches!(wrote, Err(LeanError::BodyLength)), "{length}");
        }
    }

    #[tokio::test]
    async fn a_bodiless_head_is_written_alone() -> Result<(), LeanError> {
        let mut written = Vec::new();
        write(&mut written, b"head".to_vec(), ResponseBody::full("ignored"), Framing::Length(0)).await?;
        assert_eq!(written, b"head");
        Ok(())
    }
}
