//! A real RabbitMQ broker standing in for API-M's event hub (INTERFACE.md §9): Debian's
//! `rabbitmq-server` run without systemd on free ports of 127.0.0.1, with its own node name,
//! Erlang distribution port, epmd port and temporary directory, so parallel test binaries
//! never meet.
//!
//! - [`RabbitMq::shared`]: one broker per test binary, started on first use. Tests isolate
//!   themselves by taking a vhost of their own ([`RabbitMq::vhost`]): `amq.topic` and every
//!   binding are per vhost.
//! - [`RabbitMq::start`]: a broker of its own, for a test that stops it
//!   ([`RabbitMq::stop`], then [`RabbitMq::start_again`] on the same port) or wants a second
//!   one (failover).
//!
//! Publish as API-M does with [`RabbitMq::publish`] (a connection per message) or a
//! [`Publisher`] (one connection for many).
//!
//! Each broker runs under a small shell watchdog reading the test process's pipe: when the
//! test binary exits (even killed), the pipe closes and the watchdog stops the broker and its
//! epmd, so no shared broker outlives its tests.

mod publisher;

use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lapin::uri::AMQPUri;
use lapin::{Connection, ConnectionProperties};
use tokio::sync::OnceCell;

pub use self::publisher::Publisher;
use crate::Pki;

/// The broker itself, not Debian's `/usr/sbin` wrapper (which switches to the `rabbitmq`
/// user and its fixed directories).
pub const RABBITMQ_SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const RABBITMQCTL: &str = "/usr/lib/rabbitmq/bin/rabbitmqctl";
/// The user every test connects as (created by the definitions loaded at boot).
pub const USER: &str = "tollgate";
/// Its password: distinctive, so a test can look for it in logs.
pub const PASSWORD: &str = "hub-s3cret-pw";
/// RabbitMQ's `rabbit_password_hashing_sha256` form of [`PASSWORD`]: base64 of a 4-byte
/// salt (01 02 03 04) followed by SHA-256(salt ‖ password).
const PASSWORD_HASH: &str = "AQIDBLnIUwUgtw15vRiq8K3zdTDTD4woZ4FuzaskTI74Kd+C";
/// Vhosts `t0`…: one per test of the shared broker.
const VHOSTS: usize = 24;
/// Boot takes seconds alone and much longer on a busy machine.
const START_WITHIN: Duration = Duration::from_secs(180);
/// How long one publish or `rabbitmqctl` call may take.
const CALL_WITHIN: Duration = Duration::from_secs(60);

static SHARED: OnceCell<RabbitMq> = OnceCell::const_new();
static NEXT_VHOST: AtomicUsize = AtomicUsize::new(0);
static NEXT_NODE: AtomicUsize = AtomicUsize::new(0);

/// One `rabbitmq-server` on `127.0.0.1:port` (AMQP) and `127.0.0.1:tls_port` (AMQPS, with a
/// certificate for `127.0.0.1` from a test CA of its own).
pub struct RabbitMq {
    port: u16,
    tls_port: u16,
    pki: Pki,
    dist_port: u16,
    epmd_port: u16,
    node: String,
    dir: tempfile::TempDir,
    /// The watchdog; closing its stdin stops the broker.
    watchdog: Option<(Child, ChildStdin)>,
}

// === impl RabbitMq ===

impl RabbitMq {
    /// The broker shared by this test binary, started on first use.
    pub async fn shared() -> &'static RabbitMq {
        SHARED.get_or_init(RabbitMq::start).await
    }

    /// A broker of its own, ready for AMQP. Panics (the test fails, it is never skipped)
    /// when [`RABBITMQ_SERVER`] is not installed.
    pub async fn start() -> RabbitMq {
        assert!(
            Path::new(RABBITMQ_SERVER).exists(),
            "{RABBITMQ_SERVER} is missing: the event-hub tests need a real RabbitMQ \
             (apt-get install rabbitmq-server; .ci/install-tools.sh does this)"
        );
        let mut last = String::new();
        // Free ports are released before the broker binds them; another process may win.
        for _ in 0..3 {
            let mut broker = RabbitMq::configured();
            match broker.boot().await {
                Ok(()) => return broker,
                Err(error) => last = error,
            }
        }
        panic!("rabbitmq-server did not start: {last}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// A vhost no other test of this binary uses (on the shared broker).
    pub fn vhost(&self) -> String {
        let n = NEXT_VHOST.fetch_add(1, Ordering::Relaxed);
        assert!(n < VHOSTS, "more than {VHOSTS} vhosts taken: raise VHOSTS in tests/harness/rabbitmq/mod.rs");
        format!("t{n}")
    }

    /// `amqp://tollgate:<password>@127.0.0.1:<port>/<vhost>`.
    pub fn url(&self, vhost: &str) -> String {
        format!("amqp://{USER}:{PASSWORD}@127.0.0.1:{}/{vhost}", self.port)
    }

    /// `amqps://tollgate:<password>@127.0.0.1:<tls_port>/<vhost>`, verified with [`RabbitMq::ca_pem`].
    pub fn tls_url(&self, vhost: &str) -> String {
        format!("amqps://{USER}:{PASSWORD}@127.0.0.1:{}/{vhost}", self.tls_port)
    }

    /// The CA that issued the AMQPS listener's certificate.
    pub fn ca_pem(&self) -> &str {
        self.pki.ca_pem()
    }

    /// The same URL without credentials, as the hub shows it.
    pub fn shown_url(&self, vhost: &str) -> String {
        format!("amqp://127.0.0.1:{}/{vhost}", self.port)
    }

    /// Publishes `body` to `amq.topic` with routing key `topic`, as API-M does, on a
    /// connection of its own, and waits for the broker's confirm. Returns whether any queue
    /// was bound to take it (the message is published `mandatory`, so an unroutable one
    /// comes back).
    pub async fn publish(&self, vhost: &str, topic: &str, body: &[u8]) -> bool {
        let publisher = self.publisher(vhost).await;
        let routed = publisher.publish(topic, body).await;
        publisher.close().await;
        routed
    }

    /// A [`Publisher`] on `vhost`, connected.
    pub async fn publisher(&self, vhost: &str) -> Publisher {
        let open = async { Publisher::open(self.connect(vhost).await?, vhost).await };
        match tokio::time::timeout(CALL_WITHIN, open).await {
            Ok(Ok(publisher)) => publisher,
            other => panic!("cannot publish on vhost {vhost}: {:?}", other.map(|result| result.map(drop))),
        }
    }

    /// Runs `rabbitmqctl` against this broker and returns its output.
    pub async fn ctl(&self, args: &[&str]) -> String {
        let mut command = tokio::process::Command::new(RABBITMQCTL);
        self.environment(command.as_std_mut());
        let output = tokio::time::timeout(CALL_WITHIN, command.args(args).kill_on_drop(true).output())
            .await
            .unwrap_or_else(|_| panic!("rabbitmqctl {args:?}: no answer within {CALL_WITHIN:?}"))
            .unwrap_or_else(|e| panic!("cannot run {RABBITMQCTL}: {e}"));
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "rabbitmqctl {args:?}: {text}{}", String::from_utf8_lossy(&output.stderr));
        text
    }

    /// `messages_unacknowledged` summed over the queues of `vhost`.
    pub async fn unacked(&self, vhost: &str) -> u64 {
        let listing =
            self.ctl(&["list_queues", "-p", vhost, "--quiet", "--no-table-headers", "messages_unacknowledged"]).await;
        listing.split_whitespace().filter_map(|count| count.parse::<u64>().ok()).sum()
    }

    /// Closes every client connection of `vhost` (as a broker-side failure would).
    pub async fn close_connections(&self, vhost: &str) {
        self.ctl(&["close_all_connections", "-p", vhost, "closed by the test"]).await;
    }

    /// Stops the broker (SIGTERM: clients are told the broker is shutting down) and its
    /// epmd, and waits until both are gone. Nothing happens when it is not running.
    pub fn stop(&mut self) {
        if let Some((mut child, stdin)) = self.watchdog.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }

    /// [`RabbitMq::stop`] without blocking the runtime, so the test's own servers (a fake
    /// API-M, upstreams, issuers) keep answering while the broker shuts down.
    pub async fn stop_in_background(&mut self) {
        if let Some((mut child, stdin)) = self.watchdog.take() {
            drop(stdin);
            let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        }
    }

    /// Starts the broker again on the same ports with the same data, and waits for AMQP.
    pub async fn start_again(&mut self) {
        self.stop();
        if let Err(error) = self.boot().await {
            panic!("rabbitmq-server did not come back on port {}: {error}", self.port);
        }
    }

    /// The broker's log (for failure messages).
    pub fn log(&self) -> String {
        let log = self.dir.path().join("log").join(format!("{}.log", self.node));
        std::fs::read_to_string(log).unwrap_or_default()
    }

    fn configured() -> RabbitMq {
        let n = NEXT_NODE.fetch_add(1, Ordering::Relaxed);
        let broker = RabbitMq {
            port: free_port(),
            tls_port: free_port(),
            pki: Pki::new(),
            dist_port: free_port(),
            epmd_port: free_port(),
            node: format!("tollgate{}n{n}@localhost", std::process::id()),
            dir: tempfile::tempdir().unwrap(),
            watchdog: None,
        };
        broker.write_configuration();
        broker
    }

    fn write_configuration(&self) {
        let dir = self.dir.path();
        let definitions = dir.join("definitions.json");
        std::fs::write(&definitions, definitions_json()).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, self.pki.ca_pem()).unwrap();
        let (cert, key) = self.pki.issue(&["127.0.0.1"]).write(dir, "server");
        let conf = format!(
            "listeners.tcp.default = 127.0.0.1:{}\nlisteners.ssl.default = 127.0.0.1:{}\n\
             ssl_options.cacertfile = {}\nssl_options.certfile = {}\nssl_options.keyfile = {}\n\
             ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n\
             loopback_users = none\n\
             definitions.import_backend = local_filesystem\ndefinitions.local.path = {}\n",
            self.port,
            self.tls_port,
            ca.display(),
            cert.display(),
            key.display(),
            definitions.display()
        );
        std::fs::write(dir.join("rabbitmq.conf"), conf).unwrap();
        std::fs::write(dir.join("enabled_plugins"), "[].\n").unwrap();
        std::fs::write(dir.join("rabbitmq-env.conf"), "").unwrap();
    }

    /// Every variable the broker, its epmd and `rabbitmqctl` need; nothing read from
    /// `/etc/rabbitmq` or the user's home.
    fn environment(&self, command: &mut Command) {
        let dir = self.dir.path();
        command
            .env("HOME", dir)
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", dir.join("advanced.config"))
            .env("RABBITMQ_CONF_ENV_FILE", dir.join("rabbitmq-env.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"));
    }

    async fn boot(&mut self) -> Result<(), String> {
        self.spawn_watchdog();
        let deadline = tokio::time::Instant::now() + START_WITHIN;
        loop {
            if self.accepts_amqp().await {
                return Ok(());
            }
            let exited = self.watchdog.as_mut().and_then(|(child, _)| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.watchdog = None;
                return Err(format!("exited with {status} on port {}; log:\n{}", self.port, self.log()));
            }
            if tokio::time::Instant::now() >= deadline {
                self.stop();
                return Err(format!("no AMQP on port {} within {START_WITHIN:?}; log:\n{}", self.port, self.log()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The watchdog starts the broker, waits for its stdin to close, then stops the broker
    /// and the epmd it started.
    fn spawn_watchdog(&mut self) {
        let script = format!(
            "{RABBITMQ_SERVER} >{out} 2>&1 & server=$!\n\
             cat >/dev/null\n\
             kill -TERM $server 2>/dev/null; wait $server\n\
             epmd -port {epmd} -kill >/dev/null 2>&1\n",
            out = self.dir.path().join("server.out").display(),
            epmd = self.epmd_port,
        );
        let mut command = Command::new("/bin/sh");
        command.args(["-c", &script]).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
        self.environment(&mut command);
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start /bin/sh: {e}"));
        let stdin = child.stdin.take().unwrap();
        self.watchdog = Some((child, stdin));
    }

    /// Whether an AMQP handshake as [`USER`] succeeds right now.
    async fn accepts_amqp(&self) -> bool {
        match tokio::time::timeout(Duration::from_secs(5), self.connect("%2f")).await {
            Ok(Ok(connection)) => {
                let _ = connection.close(200, "ready".into()).await;
                true
            }
            Ok(Err(_)) | Err(_) => false,
        }
    }

    /// A connection as [`USER`] to `vhost` (percent-encoded). The host is set after parsing:
    /// lapin's URI parser reads an IP host as `localhost`.
    async fn connect(&self, vhost: &str) -> lapin::Result<Connection> {
        let mut uri: AMQPUri = self.url(vhost).parse().unwrap();
        uri.authority.host = "127.0.0.1".to_owned();
        Connection::connect_uri(uri, ConnectionProperties::default()).await
    }
}

impl Drop for RabbitMq {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for RabbitMq {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "RabbitMq({} on 127.0.0.1:{}, in {})", self.node, self.port, self.dir.path().display())
    }
}

/// The user, its permissions and the vhosts, loaded at every boot.
fn definitions_json() -> String {
    let vhosts: Vec<String> = std::iter::once("/".to_owned()).chain((0..VHOSTS).map(|n| format!("t{n}"))).collect();
    let permission = |vhost: &String| serde_json::json!({"user": USER, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"});
    serde_json::json!({
        "users": [{"name": USER, "password_hash": PASSWORD_HASH,
                   "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]}],
        "vhosts": vhosts.iter().map(|name| serde_json::json!({"name": name})).collect::<Vec<_>>(),
        "permissions": vhosts.iter().map(permission).collect::<Vec<_>>(),
    })
    .to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
