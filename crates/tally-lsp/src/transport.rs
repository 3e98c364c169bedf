//! The wire: `Content-Length` framed JSON-RPC over any reader and writer (stdin and stdout for
//! `tally lsp`, pipes in tests). `lsp_server::Connection::stdio` would do the framing, but its
//! reader thread stops at the first malformed message, which then kills the server; here a
//! message that is not JSON is answered with a parse error (-32700, `id` null) and one that is
//! JSON but not a JSON-RPC message with an invalid-request error (-32600), as JSON-RPC 2.0 says,
//! and reading goes on with the next frame.

use crossbeam_channel::{Receiver, Sender};
use lsp_server::{Connection, ErrorCode, Message};
use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The largest message read (a rule file is at most 4 MiB; its JSON escaping may double it).
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// The threads that move messages between the wire and a [`Connection`].
pub struct Transport {
    reader: JoinHandle<()>,
    writer: JoinHandle<io::Result<()>>,
}

impl Transport {
    /// Waits for both threads: the reader ends at the end of input (or after `exit`), the writer
    /// when every sender of the connection is gone.
    pub fn join(self) -> io::Result<()> {
        let _ = self.reader.join();
        match self.writer.join() {
            Ok(result) => result,
            Err(_) => Err(io::Error::other("the writer thread panicked")),
        }
    }
}

/// A connection over `input` and `output`, and the threads that serve it.
pub fn connect<R, W>(input: R, output: W) -> io::Result<(Connection, Transport)>
where
    R: BufRead + Send + 'static,
    W: Write + Send + 'static,
{
    let output = Arc::new(Mutex::new(output));
    let (to_server, from_wire) = crossbeam_channel::unbounded::<Message>();
    let (to_wire, from_server) = crossbeam_channel::unbounded::<Message>();
    let writer_output = Arc::clone(&output);
    let writer = std::thread::Builder::new()
        .name("tally-lsp-writer".into())
        .spawn(move || write_loop(&from_server, &writer_output))?;
    let reader = std::thread::Builder::new()
        .name("tally-lsp-reader".into())
        .spawn(move || read_loop(input, &to_server, &output))?;
    Ok((
        Connection {
            sender: to_wire,
            receiver: from_wire,
        },
        Transport { reader, writer },
    ))
}

fn write_loop<W: Write>(messages: &Receiver<Message>, output: &Mutex<W>) -> io::Result<()> {
    for message in messages {
        let Ok(mut out) = output.lock() else {
            return Err(io::Error::other("the output lock is poisoned"));
        };
        message.write(&mut *out)?;
        out.flush()?;
    }
    Ok(())
}

/// What one frame held.
#[derive(Debug)]
pub(crate) enum Frame {
    Message(Message),
    /// Answer with this error (a malformed message) and read on.
    Error {
        id: serde_json::Value,
        code: i32,
        message: String,
    },
    End,
}

fn read_loop<R: BufRead, W: Write>(mut input: R, server: &Sender<Message>, output: &Mutex<W>) {
    loop {
        match read_frame(&mut input) {
            Ok(Frame::Message(message)) => {
                let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
                if server.send(message).is_err() || exit {
                    return;
                }
            }
            Ok(Frame::Error { id, code, message }) => {
                let reply = serde_json::json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "error": { "code": code, "message": message },
                });
                let Ok(mut out) = output.lock() else { return };
                if write_raw(&mut *out, &reply.to_string()).is_err() {
                    return;
                }
            }
            Ok(Frame::End) | Err(_) => return,
        }
    }
}

fn write_raw(out: &mut impl Write, text: &str) -> io::Result<()> {
    write!(out, "Content-Length: {}\r\n\r\n{text}", text.len())?;
    out.flush()
}

/// Reads one frame: headers up to a blank line, then `Content-Length` bytes of JSON.
pub(crate) fn read_frame(input: &mut impl BufRead) -> io::Result<Frame> {
    let mut length: Option<usize> = None;
    let mut bad_header: Option<String> = None;
    let mut saw_header = false;
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(Frame::End);
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if saw_header {
                break;
            }
            continue; // stray blank lines between frames
        }
        saw_header = true;
        match line.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<usize>() {
                    Ok(n) => length = Some(n),
                    Err(_) => bad_header = Some(format!("bad Content-Length `{}`", value.trim())),
                }
            }
            Some(_) => {} // Content-Type and any other header
            None => bad_header = Some(format!("not a header: `{}`", shorten(line))),
        }
    }
    let parse_error = |message: String| Frame::Error {
        id: serde_json::Value::Null,
        code: ErrorCode::ParseError as i32,
        message,
    };
    if let Some(problem) = bad_header {
        return Ok(parse_error(problem));
    }
    let Some(length) = length else {
        return Ok(parse_error("a message without Content-Length".into()));
    };
    if length > MAX_MESSAGE {
        io::copy(&mut input.take(length as u64), &mut io::sink())?;
        return Ok(parse_error(format!(
            "a message of {length} bytes (at most {MAX_MESSAGE})"
        )));
    }
    let mut body = vec![0; length];
    input.read_exact(&mut body)?;
    Ok(decode(&body))
}

/// The message a frame's body holds, or the error that answers it.
pub(crate) fn decode(body: &[u8]) -> Frame {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return Frame::Error {
                id: serde_json::Value::Null,
                code: ErrorCode::ParseError as i32,
                message: format!("not JSON: {e}"),
            };
        }
    };
    let id = match value.get("id") {
        Some(id @ (serde_json::Value::Number(_) | serde_json::Value::String(_))) => id.clone(),
        _ => serde_json::Value::Null,
    };
    if value.get("jsonrpc").and_then(serde_json::Value::as_str) != Some("2.0") {
        return Frame::Error {
            id,
            code: ErrorCode::InvalidRequest as i32,
            message: "not a JSON-RPC 2.0 message (`jsonrpc` must be \"2.0\")".into(),
        };
    }
    match serde_json::from_value::<Message>(value) {
        Ok(message) => Frame::Message(message),
        Err(e) => Frame::Error {
            id,
            code: ErrorCode::InvalidRequest as i32,
            message: format!("not a request, response or notification: {e}"),
        },
    }
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(wire: &str) -> Vec<Frame> {
        let mut input = io::Cursor::new(wire.as_bytes().to_vec());
        let mut out = Vec::new();
        loop {
            match read_frame(&mut input) {
                Ok(Frame::End) | Err(_) => return out,
                Ok(frame) => out.push(frame),
            }
        }
    }

    fn framed(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn malformed_frames_are_answered_and_reading_goes_on() {
        let wire = [
            framed("{not json"),
            framed(r#"{"jsonrpc":"2.0","id":7}"#),
            framed(r#"{"id":8,"method":"x"}"#),
            "Content-Length: many\r\n\r\n".to_string(),
            framed(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#),
        ]
        .concat();
        let got = frames(&wire);
        let codes: Vec<(serde_json::Value, i32)> = got
            .iter()
            .filter_map(|f| match f {
                Frame::Error { id, code, .. } => Some((id.clone(), *code)),
                _ => None,
            })
            .collect();
        assert_eq!(
            codes,
            vec![
                (serde_json::Value::Null, -32700),
                (serde_json::json!(7), -32600),
                (serde_json::json!(8), -32600),
                (serde_json::Value::Null, -32700),
            ]
        );
        assert!(
            matches!(got.last(), Some(Frame::Message(Message::Notification(n))) if n.method == "initialized"),
            "{got:?}"
        );
    }
}
