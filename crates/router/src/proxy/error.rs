use std::error::Error;
use std::fmt;

/// Why a request could not be proxied. Each variant is one row of client.md's error table.
/// The underlying error is logged (at debug, with the target) where it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// No target could be connected to (refused, unreachable, connect timeout, TLS handshake
    /// failure), so no request byte was sent: 503 `102503`.
    #[error("no upstream target could be connected to")]
    Connect,
    /// No response head arrived within the endpoint's `timeout`: 504 `102504`.
    #[error("no upstream response within the endpoint timeout")]
    Timeout,
    /// The exchange failed after the connection was made (reset, closed, protocol error):
    /// 503 `102503`.
    #[error("the upstream exchange failed after connecting")]
    Reset,
    /// The client's request body was malformed or broke off while it was being sent: 400
    /// `400`. The client's fault, not counted as an upstream error.
    #[error("the client's request body was malformed")]
    ClientBody,
}

/// The underlying error of a failed attempt, for logs: it displays its whole source chain.
#[derive(Debug)]
pub(super) struct Cause(Box<dyn Error + Send + Sync>);

// === impl ProxyError ===

impl ProxyError {
    /// The metric label of this error: `connect`, `timeout`, `reset` or `client_body`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProxyError::Connect => "connect",
            ProxyError::Timeout => "timeout",
            ProxyError::Reset => "reset",
            ProxyError::ClientBody => "client_body",
        }
    }

    /// Whether the upstream is to blame (the client's malformed body is not).
    pub fn is_upstream_fault(&self) -> bool {
        !matches!(self, ProxyError::ClientBody)
    }
}

// === impl Cause ===

impl Cause {
    pub(super) fn new(error: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Cause(error.into())
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}
