//! A test client: drives the server in-process over `lsp-server`'s memory connection, and a
//! small workspace on disk to serve.

#![allow(dead_code)] // each test file uses part of it

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Client {
    connection: Connection,
    server: Option<JoinHandle<bool>>,
    next_id: i32,
    /// Notifications that arrived while waiting for something else.
    notifications: VecDeque<Notification>,
    pub root: PathBuf,
}

pub fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

impl Client {
    /// Starts a server on `root` and initialises it with `options`.
    pub fn start(root: &Path, options: Value, server_options: tally_lsp::Options) -> Client {
        let (server_side, client_side) = Connection::memory();
        let server = std::thread::spawn(move || tally_lsp::serve(server_side, server_options));
        let mut client = Client {
            connection: client_side,
            server: Some(server),
            next_id: 1,
            notifications: VecDeque::new(),
            root: root.to_path_buf(),
        };
        let init = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri(root),
                "capabilities": {},
                "initializationOptions": options,
            }),
        );
        assert!(init.is_ok(), "{init:?}");
        client.notify("initialized", json!({}));
        client
    }

    pub fn uri(&self, relative: &str) -> String {
        uri(&self.root.join(relative))
    }

    pub fn notify(&self, method: &str, params: Value) {
        self.connection
            .sender
            .send(Message::Notification(Notification::new(
                method.into(),
                params,
            )))
            .unwrap();
    }

    pub fn send_request(&mut self, method: &str, params: Value) -> RequestId {
        let id = RequestId::from(self.next_id);
        self.next_id += 1;
        self.connection
            .sender
            .send(Message::Request(Request::new(
                id.clone(),
                method.into(),
                params,
            )))
            .unwrap();
        id
    }

    /// Sends a request and waits for its answer: the result, or the error's code and message.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, (i32, String)> {
        let id = self.send_request(method, params);
        self.response(&id)
    }

    pub fn response(&mut self, id: &RequestId) -> Result<Value, (i32, String)> {
        loop {
            match self.next_message() {
                Message::Response(Response {
                    id: got,
                    response_result,
                }) if got == *id => {
                    return response_result.map_err(|e| (e.code, e.message));
                }
                Message::Notification(n) => self.notifications.push_back(n),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn next_message(&self) -> Message {
        self.connection
            .receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the server answers within 30 s")
    }

    pub fn open(&self, relative: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {
                "uri": self.uri(relative), "languageId": "tally", "version": 1, "text": text
            }}),
        );
    }

    /// Replaces `range` ([line, character] to [line, character], UTF-16) with `text`.
    pub fn change(&self, relative: &str, version: i32, range: [[u32; 2]; 2], text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": self.uri(relative), "version": version},
                "contentChanges": [{
                    "range": {
                        "start": {"line": range[0][0], "character": range[0][1]},
                        "end": {"line": range[1][0], "character": range[1][1]},
                    },
                    "text": text,
                }],
            }),
        );
    }

    /// The next diagnostics published for `relative`, skipping other notifications.
    pub fn diagnostics(&mut self, relative: &str) -> Vec<Value> {
        let wanted = self.uri(relative);
        loop {
            let n = match self.notifications.pop_front() {
                Some(n) => n,
                None => match self.next_message() {
                    Message::Notification(n) => n,
                    other => panic!("unexpected {other:?}"),
                },
            };
            if n.method == "textDocument/publishDiagnostics" && n.params["uri"] == wanted {
                return n.params["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
        }
    }

    /// Whether diagnostics for `relative` arrive within `wait` (they are published only when
    /// they change).
    pub fn no_diagnostics_within(&mut self, relative: &str, wait: Duration) -> bool {
        let wanted = self.uri(relative);
        if self
            .notifications
            .iter()
            .any(|n| n.method == "textDocument/publishDiagnostics" && n.params["uri"] == wanted)
        {
            return false;
        }
        match self.connection.receiver.recv_timeout(wait) {
            Ok(Message::Notification(n)) => {
                let hit =
                    n.method == "textDocument/publishDiagnostics" && n.params["uri"] == wanted;
                self.notifications.push_back(n);
                !hit
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => true,
        }
    }

    pub fn at(&self, relative: &str, line: u32, character: u32) -> Value {
        json!({
            "textDocument": {"uri": self.uri(relative)},
            "position": {"line": line, "character": character},
        })
    }

    /// `shutdown` then `exit`: what the server returned.
    pub fn shutdown(mut self) -> bool {
        let answer = self.request("shutdown", Value::Null);
        assert_eq!(answer, Ok(Value::Null));
        self.notify("exit", Value::Null);
        self.server.take().unwrap().join().unwrap()
    }
}

/// (line, character) of the first occurrence of `needle` in `text`, in UTF-16 code units, plus
/// `skip` characters.
pub fn pos(text: &str, needle: &str, skip: usize) -> (u32, u32) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"))
        + skip;
    let before = &text[..at];
    let line = before.matches('\n').count() as u32;
    let column = before.rsplit('\n').next().unwrap().encode_utf16().count() as u32;
    (line, column)
}

/// A snapshot for `contoso.onmicrosoft.com`, October 2026: 30 users, 27 of them enabled (15 in
/// Sales, 12 in Ops) and 3 disabled; 29 Business Premium seats bought, 27 assigned, at 18.10
/// GBP; a backup count of 27 and an RMM count of 12.
pub fn snapshot_json() -> String {
    let users: Vec<Value> = (1..=30)
        .map(|i| {
            json!({
                "id": format!("00000000-0000-0000-0000-{i:012}"),
                "upn": format!("user{i:02}@contoso.com"),
                "display_name": format!("User {i}"),
                "department": if i <= 15 { "Sales" } else { "Ops" },
                "office": "",
                "city": "",
                "enabled": i <= 27,
                "assigned_skus": ["cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"],
            })
        })
        .collect();
    json!({
        "version": 2,
        "period": {"start": "2026-10-01", "end": "2026-10-31"},
        "tenants": [{
            "tenant": "contoso.onmicrosoft.com",
            "users": users,
            "subscribed_skus": [{
                "sku_id": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46",
                "part_number": "SPB",
                "purchased": 29,
                "assigned": 27,
                "unit_cost": {"amount": "18.10", "currency": "GBP"},
                "term": "annual",
                "billing_plan": "monthly",
            }],
            "counters": [
                {"name": "backup.protected_users", "value": 27, "as_of": "2026-10-31"},
                {"name": "rmm.devices", "value": 12, "as_of": "2026-10-31"},
            ],
        }],
    })
    .to_string()
}

/// The customer file the tests hover and complete in.
pub const CONTOSO: &str = r#"customer "Contoso" {
  tenant "contoso.onmicrosoft.com"
  currency GBP
}

use std.m365
use "shared/msp.tally"

let bp = m365.sku("SPB")   // Business Premium
let staff = m365.users where enabled

m365_bp qty = bp.purchased price bp.cost * 112%
support qty = staff price 25.00 minimum 30 split by department otherwise "Other"
backup qty = counter("backup.protected_users") price 3.75
helpdesk qty = count(billable) price support_rate
"#;

pub const MSP: &str = r#"use std.m365

let billable = licensed_users where not starts_with(upn, "svc-")
let support_rate = 12.50
"#;

/// A workspace: `contoso.tally` and `shared/msp.tally` on disk, and the snapshot.
pub fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("shared")).unwrap();
    std::fs::write(dir.path().join("contoso.tally"), CONTOSO).unwrap();
    std::fs::write(dir.path().join("shared/msp.tally"), MSP).unwrap();
    std::fs::write(dir.path().join("snapshot.json"), snapshot_json()).unwrap();
    dir
}
