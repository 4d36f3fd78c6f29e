//! A bundle server for the tests: serves one bundle with an ETag, answers 304 to a
//! matching `If-None-Match`, and can be switched to answer 500 or to go down (and up again
//! on the same port).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Serve,
    Fail,
}

#[derive(Default)]
pub struct Counts {
    pub ok: usize,
    pub not_modified: usize,
    pub failed: usize,
    pub unauthorized: usize,
}

struct State {
    body: Vec<u8>,
    etag: String,
    mode: Mode,
    token: Option<String>,
    counts: Counts,
}

pub struct BundleServer {
    pub port: u16,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl BundleServer {
    pub fn start(body: Vec<u8>, token: Option<&str>) -> Self {
        Self::start_with(body, token, None)
    }

    /// A server that speaks TLS with this configuration.
    pub fn start_with(
        body: Vec<u8>,
        token: Option<&str>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            etag: etag(&body),
            body,
            mode: Mode::Serve,
            token: token.map(str::to_owned),
            counts: Counts::default(),
        }));
        let mut server = Self {
            port,
            tls,
            state,
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        server.run(listener);
        server
    }

    pub fn url(&self) -> String {
        match self.tls {
            None => format!("http://127.0.0.1:{}/bundles/charter.tar.gz", self.port),
            Some(_) => format!("https://localhost:{}/bundles/charter.tar.gz", self.port),
        }
    }

    fn run(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let (state, stop) = (Arc::clone(&self.state), Arc::clone(&self.stop));
        let tls = self.tls.clone();
        stop.store(false, Ordering::SeqCst);
        self.thread = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let state = Arc::clone(&state);
                        let tls = tls.clone();
                        std::thread::spawn(move || {
                            stream.set_nonblocking(false).unwrap();
                            stream
                                .set_read_timeout(Some(Duration::from_secs(5)))
                                .unwrap();
                            match tls {
                                None => handle(stream, &state),
                                Some(config) => {
                                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                                        return;
                                    };
                                    handle(rustls::StreamOwned::new(conn, stream), &state);
                                }
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }));
    }

    pub fn publish(&self, body: Vec<u8>) {
        let mut state = self.state.lock().unwrap();
        state.etag = etag(&body);
        state.body = body;
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn counts<T>(&self, read: impl Fn(&Counts) -> T) -> T {
        read(&self.state.lock().unwrap().counts)
    }

    /// Closes the listening socket: connections are refused.
    pub fn down(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }

    /// Listens again on the same port.
    pub fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        self.run(listener);
    }
}

impl Drop for BundleServer {
    fn drop(&mut self) {
        self.down();
    }
}

fn etag(body: &[u8]) -> String {
    // Any stable function of the content will do for an ETag.
    let sum = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{sum:016x}-{}\"", body.len())
}

fn handle(mut stream: impl Read + Write, state: &Mutex<State>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.strip_prefix(&format!("{name}:"))
                .map(|v| v.trim().to_owned())
        })
    };
    let (status, etag, body) = {
        let mut state = state.lock().unwrap();
        if let Some(token) = &state.token
            && header("authorization") != Some(format!("bearer {}", token.to_lowercase()))
        {
            state.counts.unauthorized += 1;
            ("401 Unauthorized", String::new(), Vec::new())
        } else if state.mode == Mode::Fail {
            state.counts.failed += 1;
            (
                "500 Internal Server Error",
                String::new(),
                b"broken".to_vec(),
            )
        } else if header("if-none-match").as_deref() == Some(&state.etag.to_lowercase()) {
            state.counts.not_modified += 1;
            ("304 Not Modified", state.etag.clone(), Vec::new())
        } else {
            state.counts.ok += 1;
            ("200 OK", state.etag.clone(), state.body.clone())
        }
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/gzip\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if !etag.is_empty() {
        response.push_str(&format!("etag: {etag}\r\n"));
    }
    response.push_str("\r\n");
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}
