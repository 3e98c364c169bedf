//! Editing latency: the time from a `textDocument/didChange` to the diagnostics it causes being
//! published, through the whole server (JSON in and out, the message loop, the database), over
//! `lsp-server`'s memory connection.
//!
//! Run with `cargo bench -p tally-lsp --bench latency`; figures are recorded in
//! docs/performance.md. divan prints the median of its samples; each sample is one edit, and
//! after divan's table this prints the p50 and p95 of every edit timed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmarks may panic

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static TIMES: Mutex<Vec<(&'static str, Duration)>> = Mutex::new(Vec::new());

fn main() {
    divan::main();
    let times = TIMES.lock().unwrap();
    let mut names: Vec<&str> = times.iter().map(|(n, _)| *n).collect();
    names.dedup();
    names.sort();
    names.dedup();
    for name in names {
        let mut all: Vec<Duration> = times
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, d)| *d)
            .collect();
        all.sort();
        let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
        println!(
            "{name}: {} edits, p50 {:?}, p95 {:?}",
            all.len(),
            at(0.50),
            at(0.95)
        );
    }
}

struct Session {
    client: Connection,
    server: Option<std::thread::JoinHandle<bool>>,
    _dir: tempfile::TempDir,
    uri: String,
    version: i32,
}

impl Session {
    fn start(dir: tempfile::TempDir, open: &str) -> Session {
        let (server_side, client) = Connection::memory();
        let server = std::thread::spawn(move || {
            tally_lsp::serve(server_side, tally_lsp::Options::default())
        });
        let root = format!("file://{}", dir.path().display());
        client
            .sender
            .send(Message::Request(Request::new(
                RequestId::from(1),
                "initialize".into(),
                json!({"processId": null, "rootUri": root, "capabilities": {}}),
            )))
            .unwrap();
        loop {
            if let Message::Response(_) = client.receiver.recv().unwrap() {
                break;
            }
        }
        let uri = format!("{root}/{open}");
        let text = std::fs::read_to_string(dir.path().join(open)).unwrap();
        let session = Session {
            client,
            server: Some(server),
            _dir: dir,
            uri,
            version: 1,
        };
        session.notify("initialized", json!({}));
        session.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": session.uri, "languageId": "tally", "version": 1, "text": text}}),
        );
        session.wait_for_diagnostics(&session.uri.clone());
        session
    }

    fn notify(&self, method: &str, params: Value) {
        self.client
            .sender
            .send(Message::Notification(Notification::new(
                method.into(),
                params,
            )))
            .unwrap();
    }

    fn wait_for_diagnostics(&self, uri: &str) -> usize {
        loop {
            match self.client.receiver.recv().unwrap() {
                Message::Notification(n)
                    if n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri =>
                {
                    return n.params["diagnostics"].as_array().map_or(0, Vec::len);
                }
                _ => {}
            }
        }
    }

    /// Replaces one character at (line, character) of `uri` and waits for its diagnostics.
    fn edit(&mut self, uri: &str, line: u32, character: u32, text: &str) -> usize {
        self.version += 1;
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": self.version},
                "contentChanges": [{
                    "range": {"start": {"line": line, "character": character},
                              "end": {"line": line, "character": character + 1}},
                    "text": text,
                }],
            }),
        );
        self.wait_for_diagnostics(&self.uri.clone())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.client.sender.send(Message::Request(Request::new(
            RequestId::from(2),
            "shutdown".into(),
            Value::Null,
        )));
        self.notify("exit", Value::Null);
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

const MODULE: &str = "use std.m365\n\nlet staff = licensed_users where not starts_with(upn, \"svc-\")\nlet rate = 25.00\n";

fn customer(i: usize) -> String {
    format!(
        "customer \"Customer {i}\" {{\n  tenant \"c{i}.onmicrosoft.com\"\n  currency GBP\n}}\n\nuse std.m365\nuse \"../shared/msp.tally\"\n\nlet bp = m365.sku(\"SPB\")\n\nm365_bp qty = bp.purchased price bp.cost * 112% term annual\nsupport qty = staff price rate minimum 5 split by department otherwise \"Other\"\nbackup qty = counter(\"backup.protected_users\") price 3.50\n// the next line's unknown name alternates, so every edit changes the diagnostics\nextra qty = unknown_a price 1.00\n"
    )
}

/// 5,000 customer files using one shared module.
fn five_thousand_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("shared")).unwrap();
    std::fs::create_dir_all(root.join("customers")).unwrap();
    std::fs::write(root.join("shared/msp.tally"), MODULE).unwrap();
    for i in 0..5000 {
        std::fs::write(root.join(format!("customers/c{i:04}.tally")), customer(i)).unwrap();
    }
    dir
}

/// One customer file of 5,000 text lines: 500 definitions and 500 lines of several text lines.
fn one_big_file() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "customer \"Big\" {\n  tenant \"big.onmicrosoft.com\"\n  currency GBP\n}\n\nuse std.m365\n\n",
    );
    for i in 0..500 {
        text.push_str(&format!(
            "let staff_{i} = m365.users where enabled and department == \"D{i}\"\n"
        ));
    }
    for i in 0..500 {
        text.push_str(&format!(
            "\nline_{i} qty = count(staff_{i}) + {i}\n  price 2.50 * 110%\n  minimum 3\n  split by office otherwise \"Remote\"\n  description \"Line {i}\"\n  term monthly\n  product \"P{i}\"\n"
        ));
    }
    text.push_str("\nextra qty = unknown_a price 1.00\n");
    while text.lines().count() < 5000 {
        text.push_str("// padding\n");
    }
    std::fs::write(dir.path().join("big.tally"), text).unwrap();
    dir
}

/// The line and column of `unknown_a`'s last letter in `path`.
fn toggle_at(path: &Path) -> (u32, u32) {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.find("unknown_a").unwrap() + "unknown_".len();
    let line = text[..at].matches('\n').count() as u32;
    let column = (at - text[..at].rfind('\n').map_or(0, |i| i + 1)) as u32;
    (line, column)
}

fn bench_edits(
    bencher: divan::Bencher,
    name: &'static str,
    mut session: Session,
    edited: String,
    at: (u32, u32),
) {
    let mut flip = false;
    bencher.bench_local(|| {
        flip = !flip;
        let letter = if flip { "b" } else { "a" };
        let started = Instant::now();
        let published = session.edit(&edited, at.0, at.1, letter);
        TIMES.lock().unwrap().push((name, started.elapsed()));
        published
    });
}

/// Editing one customer file among 5,000 (all read at start-up, as the server does).
#[divan::bench(sample_count = 200, sample_size = 1)]
fn edit_customer_among_5000_files(bencher: divan::Bencher) {
    let dir = five_thousand_files();
    let at = toggle_at(&dir.path().join("customers/c0042.tally"));
    let session = Session::start(dir, "customers/c0042.tally");
    let uri = session.uri.clone();
    bench_edits(bencher, "edit_customer_among_5000_files", session, uri, at);
}

/// Editing one customer file of 5,000 text lines.
#[divan::bench(sample_count = 100, sample_size = 1)]
fn edit_one_5000_line_file(bencher: divan::Bencher) {
    let dir = one_big_file();
    let at = toggle_at(&dir.path().join("big.tally"));
    let session = Session::start(dir, "big.tally");
    let uri = session.uri.clone();
    bench_edits(bencher, "edit_one_5000_line_file", session, uri, at);
}

/// Where an edit of the 5,000-line file spends its time: parsing the whole text again…
#[divan::bench(sample_count = 30, sample_size = 1)]
fn parse_5000_line_file(bencher: divan::Bencher) {
    let dir = one_big_file();
    let text = std::fs::read_to_string(dir.path().join("big.tally")).unwrap();
    bencher.bench_local(|| tally_syntax::parse(&text).file.items.len());
}

/// …and parsing and checking it (what the database re-runs for an edit inside the file).
#[divan::bench(sample_count = 30, sample_size = 1)]
fn parse_and_check_5000_line_file(bencher: divan::Bencher) {
    let dir = one_big_file();
    let text = std::fs::read_to_string(dir.path().join("big.tally")).unwrap();
    let mut db = tally_db::Database::default();
    let mut flip = false;
    bencher.bench_local(|| {
        flip = !flip;
        let edited = if flip {
            text.replace("unknown_a", "unknown_b")
        } else {
            text.clone()
        };
        let file = db.set_file("big.tally", edited);
        tally_db::diagnostics(&db, file).len()
    });
}
