//! The protocol's edges: malformed messages over the real framing, requests before
//! `initialize` and after `shutdown`, cancellation, and the exit code's two cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// An output the test can read after the server is done.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn frame(body: &str) -> String {
    format!("Content-Length: {}\r\n\r\n{body}", body.len())
}

/// Every JSON message written, in order.
fn messages(output: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = std::str::from_utf8(output).unwrap();
    while let Some(header_end) = rest.find("\r\n\r\n") {
        let length: usize = rest[..header_end]
            .trim()
            .strip_prefix("Content-Length: ")
            .unwrap()
            .parse()
            .unwrap();
        let body = &rest[header_end + 4..header_end + 4 + length];
        out.push(serde_json::from_str(body).unwrap());
        rest = &rest[header_end + 4 + length..];
    }
    out
}

fn answer(all: &[Value], id: Value) -> &Value {
    all.iter()
        .find(|m| m["id"] == id && (m.get("result").is_some() || m.get("error").is_some()))
        .unwrap_or_else(|| panic!("no answer to {id}: {all:#?}"))
}

#[test]
fn malformed_messages_are_answered_as_json_rpc_says_and_serving_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = format!("file://{}", dir.path().display());
    let input = [
        frame(r#"{"jsonrpc":"2.0","id":0,"method":"textDocument/hover","params":{}}"#),
        frame(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                      "params": {"processId": null, "rootUri": root, "capabilities": {}}})
            .to_string(),
        ),
        frame(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#),
        frame(r#"{"jsonrpc":"2.0","id":2,"method":"#),
        frame(r#"{"jsonrpc":"2.0","id":7}"#),
        frame(r#"{"id":8,"method":"shutdown"}"#),
        "Content-Length: lots\r\n\r\n".to_string(),
        frame(r#"{"jsonrpc":"2.0","id":3,"method":"textDocument/hover","params":{"position":1}}"#),
        frame(r#"{"jsonrpc":"2.0","id":"four","method":"shutdown"}"#),
        frame(r#"{"jsonrpc":"2.0","id":5,"method":"textDocument/documentSymbol","params":{}}"#),
        frame(r#"{"jsonrpc":"2.0","method":"exit"}"#),
    ]
    .concat();
    let output = Shared::default();
    let clean = tally_lsp::serve_io(
        std::io::Cursor::new(input.into_bytes()),
        output.clone(),
        tally_lsp::Options::default(),
    )
    .unwrap();
    assert!(clean, "shutdown came before exit");
    let all = messages(&output.0.lock().unwrap());

    assert_eq!(
        answer(&all, json!(0))["error"]["code"],
        -32002,
        "before initialize"
    );
    let init = answer(&all, json!(1));
    assert_eq!(
        init["result"]["capabilities"]["textDocumentSync"]["change"],
        2
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "tally-lsp");
    let parse_errors: Vec<&Value> = all
        .iter()
        .filter(|m| m["id"].is_null() && m["error"]["code"] == -32700)
        .collect();
    assert_eq!(
        parse_errors.len(),
        2,
        "the cut JSON and the bad header: {all:#?}"
    );
    assert_eq!(answer(&all, json!(7))["error"]["code"], -32600, "no method");
    assert_eq!(
        answer(&all, json!(8))["error"]["code"],
        -32600,
        "no jsonrpc"
    );
    assert_eq!(
        answer(&all, json!(3))["error"]["code"],
        -32602,
        "bad parameters"
    );
    assert_eq!(
        answer(&all, json!("four"))["result"],
        Value::Null,
        "shutdown"
    );
    let after = answer(&all, json!(5));
    assert_eq!(after["error"]["code"], -32600, "after shutdown");
    assert_eq!(
        after["error"]["message"],
        "`textDocument/documentSymbol` after `shutdown`"
    );
}

fn send(client: &Connection, message: Message) {
    client.sender.send(message).unwrap();
}

fn initialize(client: &Connection, root: &std::path::Path) {
    send(
        client,
        Message::Request(Request::new(
            RequestId::from(1),
            "initialize".into(),
            json!({"processId": null, "rootUri": format!("file://{}", root.display()), "capabilities": {}}),
        )),
    );
    send(
        client,
        Message::Notification(Notification::new("initialized".into(), json!({}))),
    );
}

#[test]
fn a_request_cancelled_while_it_waited_is_not_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.tally"), "let x = 1\n").unwrap();
    let uri = format!("file://{}/a.tally", dir.path().display());
    let (server, client) = Connection::memory();
    // Everything is waiting before the server starts, so the cancellation is seen first.
    initialize(&client, dir.path());
    send(
        &client,
        Message::Request(Request::new(
            RequestId::from(2),
            "textDocument/documentSymbol".into(),
            json!({"textDocument": {"uri": uri}}),
        )),
    );
    send(
        &client,
        Message::Notification(Notification::new(
            "$/cancelRequest".into(),
            json!({"id": 2}),
        )),
    );
    send(
        &client,
        Message::Request(Request::new(
            RequestId::from(3),
            "textDocument/documentSymbol".into(),
            json!({"textDocument": {"uri": uri}}),
        )),
    );
    send(
        &client,
        Message::Request(Request::new(
            RequestId::from(4),
            "shutdown".into(),
            Value::Null,
        )),
    );
    send(
        &client,
        Message::Notification(Notification::new("exit".into(), Value::Null)),
    );
    assert!(tally_lsp::serve(server, tally_lsp::Options::default()));
    let mut answers = std::collections::BTreeMap::new();
    for message in client.receiver.try_iter() {
        if let Message::Response(r) = message {
            answers.insert(r.id.to_string(), r.response_result);
        }
    }
    let cancelled = answers["2"].as_ref().unwrap_err();
    assert_eq!(cancelled.code, -32800);
    let symbols = answers["3"].as_ref().unwrap();
    assert_eq!(symbols[0]["name"], "x", "the next request is answered");
}

#[test]
fn exit_without_shutdown_is_not_clean() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client) = Connection::memory();
    initialize(&client, dir.path());
    send(
        &client,
        Message::Notification(Notification::new("exit".into(), Value::Null)),
    );
    assert!(!tally_lsp::serve(server, tally_lsp::Options::default()));

    // The client going away without a word is not clean either.
    let (server, client) = Connection::memory();
    initialize(&client, dir.path());
    drop(client);
    assert!(!tally_lsp::serve(server, tally_lsp::Options::default()));
}
