//! A small HTTP/1.1 server on 127.0.0.1 and an ephemeral port, one thread per connection and
//! one request per connection (`Connection: close`), so a fault can close a connection without
//! an answer, answer slowly, or hold a request until a test releases it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A request as it arrived.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    pub method: String,
    /// The path without the query, percent-decoded.
    pub path: String,
    /// Query parameters in order, percent-decoded.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// `http://127.0.0.1:PORT`, for absolute links.
    pub origin: String,
}

impl Incoming {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Outgoing {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Outgoing {
    pub fn json(status: u16, body: String) -> Outgoing {
        Outgoing {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body,
        }
    }
}

/// What the server does with a request.
pub enum Reply {
    Send(Outgoing),
    /// Send the first `n` bytes of the answer, then close.
    Truncate(Outgoing, usize),
    /// Close the connection without answering.
    Drop,
    /// Hold the connection until [`Gate::release`] (a test kills the client meanwhile), then
    /// close it without answering.
    Hold,
}

impl Reply {
    /// The status answered, if an answer is sent at all.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Reply::Send(out) | Reply::Truncate(out, _) => Some(out.status),
            Reply::Drop | Reply::Hold => None,
        }
    }
}

pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: &Incoming) -> Reply;
}

/// Where held requests wait, and how a test learns one is held.
#[derive(Default)]
pub struct Gate {
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl Gate {
    fn hold(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 += 1;
        self.changed.notify_all();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !state.1 && std::time::Instant::now() < deadline {
            let (next, _) = self
                .changed
                .wait_timeout(state, Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner());
            state = next;
        }
    }

    /// Waits until a request is held (or `timeout` passes); true if one is.
    pub fn wait_held(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.0 == 0 {
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            let (next, _) = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
        }
        true
    }

    /// Lets every held request go (closed without an answer), and all later ones at once.
    pub fn release(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 = true;
        self.changed.notify_all();
    }

    /// Back to holding; forgets earlier holds.
    pub fn reset(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state = (0, false);
    }
}

pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub gate: Arc<Gate>,
}

impl Server {
    pub fn start(handler: Arc<dyn Handler>) -> std::io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(Gate::default());
        let thread = {
            let stop = stop.clone();
            let gate = gate.clone();
            std::thread::Builder::new()
                .name("psa-test-server".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = stream else { continue };
                        let handler = handler.clone();
                        let gate = gate.clone();
                        let origin = format!("http://{addr}");
                        let _ = std::thread::Builder::new()
                            .name("psa-test-connection".into())
                            .spawn(move || serve(stream, &*handler, &gate, origin));
                    }
                })?
        };
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
            gate,
        })
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.gate.release();
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

fn serve(stream: TcpStream, handler: &dyn Handler, gate: &Gate, origin: String) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let Some(request) = read_request(&mut reader, origin) else {
        return;
    };
    let reply = handler.handle(&request);
    let mut stream = stream;
    match reply {
        Reply::Send(out) => {
            let _ = stream.write_all(&render(&out));
        }
        Reply::Truncate(out, n) => {
            let bytes = render(&out);
            let head = bytes.len() - out.body.len();
            let _ = stream.write_all(&bytes[..(head + n).min(bytes.len())]);
        }
        Reply::Drop => {}
        Reply::Hold => gate.hold(),
    }
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn render(out: &Outgoing) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {} {}\r\n", out.status, reason(out.status));
    for (name, value) in &out.headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        out.body.len()
    ));
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(out.body.as_bytes());
    bytes
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn read_request(reader: &mut BufReader<TcpStream>, origin: String) -> Option<Incoming> {
    let mut line = String::new();
    let mut head = 0;
    reader.read_line(&mut line).ok()?;
    head += line.len();
    let mut parts = line.trim_end().splitn(3, ' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        let n = reader.read_line(&mut header).ok()?;
        head += n;
        if n == 0 || head > MAX_HEAD {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return None;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect();
    Some(Incoming {
        method,
        path: decode(&path),
        query,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        origin,
    })
}

/// Percent-decoding (`+` stays a plus: ConnectWise conditions are not form-encoded).
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encoding for links the server writes.
pub fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
