use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::{Client, Pki};

/// A gateway configuration being put together in a temporary directory: `gateway.toml`,
/// `apis/` (the file source), and a server certificate for `localhost` from a test CA.
pub struct GatewaySetup {
    binary: PathBuf,
    dir: tempfile::TempDir,
    pki: Arc<Pki>,
    sections: Vec<String>,
    env: Vec<(String, String)>,
    http: bool,
    tls: bool,
    listener: Vec<String>,
}

/// A running `tollgate` process. Killed when dropped.
pub struct GatewayProcess {
    child: Child,
    pub https: SocketAddr,
    pub http: Option<SocketAddr>,
    pub admin: SocketAddr,
    pub dir: PathBuf,
    pki: Arc<Pki>,
    logs: Logs,
    _keep: Option<tempfile::TempDir>,
}

/// Captured output: operational logs (stderr) and access-log lines (stdout).
#[derive(Clone, Default)]
pub struct Logs {
    pub stderr: Arc<Mutex<Vec<String>>>,
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// Streams that reached end of file (the process closed them).
    closed: Arc<std::sync::atomic::AtomicUsize>,
}

impl GatewaySetup {
    /// `binary`: the `tollgate` executable (`env!("CARGO_BIN_EXE_tollgate")` in the tests).
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("apis")).unwrap();
        GatewaySetup {
            binary: binary.into(),
            dir,
            pki: Arc::new(Pki::new()),
            sections: Vec::new(),
            env: Vec::new(),
            http: true,
            tls: true,
            listener: Vec::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// Writes `apis/<name>` (YAML or JSON by extension).
    pub fn api_file(self, name: &str, text: &str) -> Self {
        std::fs::write(self.dir.path().join("apis").join(name), text).unwrap();
        self
    }

    /// Appends TOML (whole sections) to the generated `gateway.toml`.
    pub fn config(mut self, toml: &str) -> Self {
        self.sections.push(toml.to_owned());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// One more `key = value` line in the generated `[listener]` section.
    pub fn listener(mut self, line: &str) -> Self {
        self.listener.push(line.to_owned());
        self
    }

    /// No plain-HTTP listener.
    pub fn without_http(mut self) -> Self {
        self.http = false;
        self
    }

    /// No `[tls]` section: the gateway generates a self-signed certificate.
    pub fn without_tls(mut self) -> Self {
        self.tls = false;
        self
    }

    /// Writes the configuration; returns the path of `gateway.toml`.
    pub fn write_config(&self) -> PathBuf {
        let dir = self.dir.path();
        let mut toml = String::from("[listener]\nhttps = \"127.0.0.1:0\"\n");
        if self.http {
            toml.push_str("http = \"127.0.0.1:0\"\n");
        }
        for line in &self.listener {
            toml.push_str(line);
            toml.push('\n');
        }
        if self.tls && !self.sections.iter().any(|s| s.contains("[tls]")) {
            let (cert, key) = self.pki.issue(&["localhost", "127.0.0.1"]).write(dir, "server");
            toml.push_str(&format!("\n[tls]\ncert = {:?}\nkey = {:?}\n", cert, key));
        }
        toml.push_str("\n[admin]\naddress = \"127.0.0.1:0\"\n");
        if !self.sections.iter().any(|s| s.contains("[source]")) {
            toml.push_str(&format!("\n[source]\nkind = \"file\"\npath = {:?}\n", dir.join("apis")));
        }
        if !self.sections.iter().any(|s| s.contains("[shutdown]")) {
            toml.push_str("\n[shutdown]\ndrain_seconds = 0\ntimeout_seconds = 5\n");
        }
        for section in &self.sections {
            toml.push('\n');
            toml.push_str(section);
            toml.push('\n');
        }
        let path = dir.join("gateway.toml");
        std::fs::write(&path, toml).unwrap();
        path
    }

    /// Starts the gateway and waits until it reports its bound addresses.
    pub async fn start(self) -> GatewayProcess {
        let config = self.write_config();
        let mut gateway = spawn(&self.binary, &config, self.dir.path(), &self.env, self.pki.clone()).await;
        gateway._keep = Some(self.dir);
        gateway
    }

    /// Starts the gateway with `config` (a file of the repository, say) instead of the one
    /// this setup writes; its environment and directory are this setup's.
    pub async fn start_with_config(self, config: &Path) -> GatewayProcess {
        let mut gateway = spawn(&self.binary, config, self.dir.path(), &self.env, self.pki.clone()).await;
        gateway._keep = Some(self.dir);
        gateway
    }

    /// Starts another process on the same directory (e.g. a restart); the directory stays
    /// with this setup.
    pub async fn start_again(&self) -> GatewayProcess {
        let config = self.write_config();
        spawn(&self.binary, &config, self.dir.path(), &self.env, self.pki.clone()).await
    }
}

async fn spawn(binary: &Path, config: &Path, dir: &Path, env: &[(String, String)], pki: Arc<Pki>) -> GatewayProcess {
    let mut command = Command::new(binary);
    command
        .arg("--config")
        .arg(config)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // The gateway reads every TOLLGATE_* variable as configuration: pass only the test's own.
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("TOLLGATE_")) {
        command.env_remove(key);
    }
    command.env("RUST_LOG", std::env::var("TOLLGATE_TEST_LOG").unwrap_or_else(|_| "info".into()));
    command.env("TOKIO_WORKER_THREADS", "2");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let logs = Logs::default();
    let (started_tx, mut started) = watch::channel(None::<String>);
    capture(child.stderr.take().unwrap(), logs.stderr.clone(), logs.closed.clone(), Some(started_tx));
    capture(child.stdout.take().unwrap(), logs.stdout.clone(), logs.closed.clone(), None);
    let line = tokio::time::timeout(Duration::from_secs(60), started.wait_for(Option::is_some)).await;
    let line = match line {
        Ok(Ok(line)) => line.clone().unwrap_or_default(),
        _ => panic!("gateway did not start; stderr:\n{}", logs.stderr.lock().unwrap().join("\n")),
    };
    GatewayProcess {
        child,
        https: field(&line, "https").unwrap(),
        http: field(&line, "http"),
        admin: field(&line, "admin").unwrap(),
        dir: dir.to_owned(),
        pki,
        logs,
        _keep: None,
    }
}

/// Reads lines into `sink`; the first line announcing the bound addresses goes to `started`.
fn capture(
    stream: impl AsyncRead + Unpin + Send + 'static,
    sink: Arc<Mutex<Vec<String>>>,
    closed: Arc<std::sync::atomic::AtomicUsize>,
    started: Option<watch::Sender<Option<String>>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(started) = &started
                && line.contains("gateway started")
                && started.borrow().is_none()
            {
                started.send_replace(Some(line.clone()));
            }
            if std::env::var_os("TOLLGATE_TEST_ECHO").is_some() {
                eprintln!("[gateway] {line}");
            }
            sink.lock().unwrap().push(line);
        }
        closed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
}

/// `name=127.0.0.1:1234` from a log line.
fn field(line: &str, name: &str) -> Option<SocketAddr> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    line[start..].split_whitespace().next()?.trim_matches('"').parse().ok()
}

impl GatewayProcess {
    /// An HTTPS client for the TLS listener, trusting the test CA.
    pub fn client(&self) -> Client {
        Client::new(self.https, self.pki.ca_pem())
    }

    /// A plain client for the HTTP listener.
    pub fn http_client(&self) -> Client {
        Client::plain(self.http.expect("no plain listener configured"))
    }

    pub fn admin(&self) -> Client {
        Client::plain(self.admin)
    }

    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    pub fn logs(&self) -> Logs {
        self.logs.clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Sends SIGTERM (or another signal name, e.g. "INT").
    pub fn signal(&self, name: &str) {
        let status =
            std::process::Command::new("kill").arg(format!("-{name}")).arg(self.pid().to_string()).status().unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit, at most `within`.
    pub async fn wait(&mut self, within: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(within, self.child.wait()).await.ok().and_then(Result::ok)
    }

    /// SIGTERM, then the exit status.
    pub async fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait(Duration::from_secs(60)).await.expect("gateway did not exit after SIGTERM")
    }

    /// The value of one sample in `/metrics`, e.g. `tollgate_config_revision` or
    /// `tollgate_requests_total{api="PetStore",code="200",method="GET",version="1.0.0"}`
    /// (labels in the exposition's order: alphabetical).
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = self.admin().get("/metrics").await.text();
        text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// The sum of all samples of a metric whose label set contains every `labels` pair.
    pub async fn metric_sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let text = self.admin().get("/metrics").await.text();
        text.lines()
            .filter(|line| line.starts_with(name) && line[name.len()..].starts_with(['{', ' ']))
            .filter(|line| labels.iter().all(|(k, v)| line.contains(&format!("{k}=\"{v}\""))))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Logs {
    pub fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits until the process has closed stdout and stderr (after it exited), so every line
    /// it wrote has been captured.
    pub async fn closed(&self) {
        let done = crate::eventually(Duration::from_secs(10), async || {
            self.closed.load(std::sync::atomic::Ordering::SeqCst) == 2
        })
        .await;
        assert!(done, "the gateway's output streams were not closed");
    }

    /// Every captured line, both streams.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stderr_text(), self.stdout_lines().join("\n"))
    }
}
