//! A tiny TCP load balancer that honours readiness, as a Kubernetes Service does with the
//! endpoints its readiness probes admit: it polls each backend's `GET /health/ready` every
//! [`POLL_INTERVAL`] and sends new connections, round robin, only to backends that answered
//! 200 the last time. Like kube-proxy, it does not retry: when the chosen backend refuses the
//! connection, the client's connection is closed, so a backend that stops accepting before
//! it is seen not ready loses requests. Bytes are copied both ways untouched, TLS included.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::GatewayProcess;

/// How often each backend's readiness is checked.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// A readiness check that takes longer than this counts as not ready.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Where a backend takes traffic and answers readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    pub traffic: SocketAddr,
    pub admin: SocketAddr,
}

/// A running balancer on 127.0.0.1; stops when dropped.
pub struct Balancer {
    pub addr: SocketAddr,
    slots: Arc<Slots>,
    tasks: Vec<JoinHandle<()>>,
}

struct Slots {
    slots: Mutex<Vec<Slot>>,
    next: AtomicUsize,
}

#[derive(Clone, Copy)]
struct Slot {
    backend: Backend,
    ready: bool,
    /// Connections sent to this slot's current backend.
    forwarded: usize,
}

impl Backend {
    /// The HTTPS listener and the admin listener of a gateway process.
    pub fn https(gateway: &GatewayProcess) -> Backend {
        Backend { traffic: gateway.https, admin: gateway.admin }
    }
}

impl Balancer {
    /// Listens on 127.0.0.1:0; the backends count as ready once a first check has said so.
    pub async fn start(backends: Vec<Backend>) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let slots = Arc::new(Slots {
            slots: Mutex::new(
                backends.into_iter().map(|backend| Slot { backend, ready: false, forwarded: 0 }).collect(),
            ),
            next: AtomicUsize::new(0),
        });
        slots.poll().await;
        let addr = listener.local_addr().unwrap();
        let poller = tokio::spawn(poll_forever(slots.clone()));
        let acceptor = tokio::spawn(accept_forever(listener, slots.clone()));
        Balancer { addr, slots, tasks: vec![poller, acceptor] }
    }

    /// Puts another backend in slot `index` (a restarted process on new ports); it takes
    /// traffic once a check finds it ready.
    pub fn replace(&self, index: usize, backend: Backend) {
        self.slots.slots.lock().unwrap()[index] = Slot { backend, ready: false, forwarded: 0 };
    }

    /// Whether each slot's backend is in rotation.
    pub fn ready(&self) -> Vec<bool> {
        self.slots.slots.lock().unwrap().iter().map(|slot| slot.ready).collect()
    }

    /// Connections sent to each slot's current backend.
    pub fn forwarded(&self) -> Vec<usize> {
        self.slots.slots.lock().unwrap().iter().map(|slot| slot.forwarded).collect()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

impl Slots {
    /// Checks every backend once, concurrently.
    async fn poll(&self) {
        let backends: Vec<Backend> = self.slots.lock().unwrap().iter().map(|slot| slot.backend).collect();
        let checks = backends.iter().map(|backend| async move { (*backend, ready(backend.admin).await) });
        for (backend, ready) in futures_util::future::join_all(checks).await {
            // The slot may have been given another backend meanwhile: only update a match.
            for slot in self.slots.lock().unwrap().iter_mut().filter(|slot| slot.backend == backend) {
                slot.ready = ready;
            }
        }
    }

    /// The next ready backend in round-robin order.
    fn pick(&self) -> Option<Backend> {
        let slots = self.slots.lock().unwrap();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..slots.len()).map(|i| (start + i) % slots.len()).find(|&i| slots[i].ready).map(|i| slots[i].backend)
    }

    fn count(&self, backend: Backend) {
        for slot in self.slots.lock().unwrap().iter_mut().filter(|slot| slot.backend == backend) {
            slot.forwarded += 1;
        }
    }
}

async fn poll_forever(slots: Arc<Slots>) {
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        slots.poll().await;
    }
}

async fn accept_forever(listener: TcpListener, slots: Arc<Slots>) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        let slots = slots.clone();
        tokio::spawn(async move {
            let _ = client.set_nodelay(true);
            if let Some(mut upstream) = connect(&slots).await {
                let mut client = client;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
            // No ready backend, or it refused: the client's connection is closed unanswered.
        });
    }
}

async fn connect(slots: &Slots) -> Option<TcpStream> {
    let backend = slots.pick()?;
    let stream = TcpStream::connect(backend.traffic).await.ok()?;
    let _ = stream.set_nodelay(true);
    slots.count(backend);
    Some(stream)
}

/// `GET /health/ready` answered 200 within [`PROBE_TIMEOUT`].
async fn ready(admin: SocketAddr) -> bool {
    let probe = async {
        let mut stream = TcpStream::connect(admin).await.ok()?;
        stream.write_all(b"GET /health/ready HTTP/1.0\r\nHost: balancer\r\n\r\n").await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(&head[9..12] == b"200")
    };
    matches!(tokio::time::timeout(PROBE_TIMEOUT, probe).await, Ok(Some(true)))
}
