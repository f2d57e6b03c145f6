//! A real `redis-server` for end-to-end tests: started on a free port of 127.0.0.1 without
//! persistence, killed on drop, and able to go away and come back on the same port (an
//! outage). [`RedisServer::command`] speaks just enough RESP to look at what replicas wrote.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where the Debian package installs the server (`.ci/install-tools.sh` installs it).
pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// How long a started server may take to answer PING.
const START_WITHIN: Duration = Duration::from_secs(10);
/// How long one command may take.
const COMMAND_WITHIN: Duration = Duration::from_secs(2);

/// A `redis-server` child process on `127.0.0.1:port`.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

/// A RESP2 value, as Redis answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
}

// === impl RedisServer ===

impl RedisServer {
    /// Starts a server on a free port and waits until it answers PING. Panics (the test fails,
    /// it is never skipped) when [`REDIS_SERVER`] is not installed.
    pub async fn start() -> RedisServer {
        assert!(
            Path::new(REDIS_SERVER).exists(),
            "{REDIS_SERVER} is missing: the Redis rate-limit tests need a real redis-server \
             (apt-get install redis-server; .ci/install-tools.sh does this)"
        );
        let mut last = String::new();
        // The free port is released before Redis binds it; another process may take it first.
        for _ in 0..5 {
            let mut server = RedisServer { port: free_port(), child: None, dir: tempfile::tempdir().unwrap() };
            match server.spawn().await {
                Ok(()) => return server,
                Err(error) => last = error,
            }
        }
        panic!("redis-server did not start: {last}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `redis://127.0.0.1:<port>/`, for `[rate_limit] redis_url`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL: its clients see their connections drop) and reaps it.
    /// Nothing happens when it is not running.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers PING.
    pub async fn restart(&mut self) {
        self.stop();
        if let Err(error) = self.spawn().await {
            panic!("redis-server did not come back on port {}: {error}", self.port);
        }
    }

    /// Whether the server answers `PING` with `+PONG` right now (raw inline command).
    pub async fn answers_ping(&self) -> bool {
        let exchange = async {
            let mut stream = TcpStream::connect(self.addr()).await.ok()?;
            stream.write_all(b"PING\r\n").await.ok()?;
            let mut answer = [0; 7];
            stream.read_exact(&mut answer).await.ok()?;
            Some(&answer == b"+PONG\r\n")
        };
        tokio::time::timeout(COMMAND_WITHIN, exchange).await.ok().flatten().unwrap_or(false)
    }

    /// Sends one command on a new connection and reads its answer.
    pub async fn command(&self, args: &[&str]) -> Result<Resp, String> {
        let exchange = async {
            let mut stream = TcpStream::connect(self.addr()).await.map_err(|e| e.to_string())?;
            stream.write_all(&encode(args)).await.map_err(|e| e.to_string())?;
            let mut buffer = Vec::new();
            loop {
                if let Some((value, _)) = parse(&buffer)? {
                    return Ok(value);
                }
                let mut chunk = [0; 4096];
                let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
                if read == 0 {
                    return Err("connection closed before a whole answer".into());
                }
                buffer.extend_from_slice(&chunk[..read]);
            }
        };
        tokio::time::timeout(COMMAND_WITHIN, exchange).await.map_err(|_| format!("{args:?}: no answer"))?
    }

    /// An integer answer (`ZCARD`, `DBSIZE`, ...).
    pub async fn integer(&self, args: &[&str]) -> Result<i64, String> {
        match self.command(args).await? {
            Resp::Integer(value) => Ok(value),
            other @ (Resp::Simple(_) | Resp::Error(_) | Resp::Bulk(_) | Resp::Array(_)) => {
                Err(format!("{args:?}: not an integer: {other:?}"))
            }
        }
    }

    /// Redis's own clock (`TIME`) in microseconds.
    pub async fn time_micros(&self) -> Result<u64, String> {
        let answer = self.command(&["TIME"]).await?;
        let parts = answer.strings();
        let number = |index: usize| parts.get(index).and_then(|text| text.parse::<u64>().ok());
        match (number(0), number(1)) {
            (Some(seconds), Some(micros)) => Ok(seconds * 1_000_000 + micros),
            _ => Err(format!("TIME: {answer:?}")),
        }
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let log = self.log_path();
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {REDIS_SERVER}: {e}"));
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + START_WITHIN;
        loop {
            if self.answers_ping().await {
                return self.check_own_process().await;
            }
            let exited = self.child.as_mut().and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(format!("exited with {status} on port {}; log:\n{}", self.port, self.log()));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!("no PONG on port {} within {START_WITHIN:?}; log:\n{}", self.port, self.log()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The server answering on the port is the child just started, not one that took the
    /// port between [`free_port`] and the bind.
    async fn check_own_process(&mut self) -> Result<(), String> {
        let pid = self.child.as_ref().map(Child::id).unwrap_or_default();
        let info = self.command(&["INFO", "server"]).await?.strings().concat();
        if info.lines().any(|line| line.trim() == format!("process_id:{pid}")) {
            return Ok(());
        }
        self.stop();
        Err(format!("port {} is served by another redis-server", self.port))
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

// === impl Resp ===

impl Resp {
    /// The text of a simple or bulk string answer, or of each such element of an array.
    pub fn strings(&self) -> Vec<String> {
        match self {
            Resp::Simple(text) => vec![text.clone()],
            Resp::Bulk(Some(bytes)) => vec![String::from_utf8_lossy(bytes).into_owned()],
            Resp::Array(Some(items)) => items.iter().flat_map(Resp::strings).collect(),
            Resp::Error(_) | Resp::Integer(_) | Resp::Bulk(None) | Resp::Array(None) => Vec::new(),
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A command as a RESP array of bulk strings.
fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One value from the front of `input` and the bytes it took; `None` while incomplete.
fn parse(input: &[u8]) -> Result<Option<(Resp, usize)>, String> {
    let Some(end) = input.windows(2).position(|pair| pair == b"\r\n") else { return Ok(None) };
    let line = String::from_utf8_lossy(&input[1..end]).into_owned();
    let after = end + 2;
    let number = || line.parse::<i64>().map_err(|e| format!("bad RESP length {line:?}: {e}"));
    match input.first() {
        Some(b'+') => Ok(Some((Resp::Simple(line), after))),
        Some(b'-') => Ok(Some((Resp::Error(line), after))),
        Some(b':') => Ok(Some((Resp::Integer(number()?), after))),
        Some(b'$') => {
            let Ok(len) = usize::try_from(number()?) else { return Ok(Some((Resp::Bulk(None), after))) };
            if input.len() < after + len + 2 {
                return Ok(None);
            }
            Ok(Some((Resp::Bulk(Some(input[after..after + len].to_vec())), after + len + 2)))
        }
        Some(b'*') => {
            let Ok(count) = usize::try_from(number()?) else { return Ok(Some((Resp::Array(None), after))) };
            let mut items = Vec::with_capacity(count);
            let mut used = after;
            for _ in 0..count {
                let Some((item, len)) = parse(&input[used..])? else { return Ok(None) };
                items.push(item);
                used += len;
            }
            Ok(Some((Resp::Array(Some(items)), used)))
        }
        other => Err(format!("not RESP: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_answers_and_waits_for_whole_ones() {
        let input = b"*2\r\n$10\r\n1700000000\r\n:42\r\n";
        let expected = Resp::Array(Some(vec![Resp::Bulk(Some(b"1700000000".to_vec())), Resp::Integer(42)]));
        assert_eq!(parse(input), Ok(Some((expected, input.len()))));
        assert_eq!(parse(&input[..12]), Ok(None));
        assert_eq!(parse(b"$-1\r\n"), Ok(Some((Resp::Bulk(None), 5))));
        assert_eq!(parse(b"-ERR x\r\n"), Ok(Some((Resp::Error("ERR x".into()), 8))));
        assert!(parse(b"?\r\n").is_err());
        assert_eq!(encode(&["GET", "k"]), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }
}
