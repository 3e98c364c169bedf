//! The message loop. One thread owns the database and handles messages in the order they came;
//! before each round it takes every message already waiting, so that keystrokes typed while it
//! worked are applied together and diagnostics are computed once for them, and a request the
//! client cancelled meanwhile is answered as cancelled without being run. A panic in a handler
//! is caught: the request gets an internal error, and the server goes on.

use crate::world::{Settings, World};
use crate::{Options, actions, completion, diagnostics, format, hover, navigation, symbols};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self, Notification as _};
use lsp_types::request::{self, Request as _};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    HoverProviderCapability, InitializeParams, InitializeResult, OneOf, RenameOptions,
    SemanticTokensFullOptions, SemanticTokensOptions, SemanticTokensServerCapabilities,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, WorkDoneProgressOptions,
};
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

/// What a request handler answers: a result, or an error code and message.
pub(crate) type Answer = Result<serde_json::Value, (ErrorCode, String)>;

/// Serves `connection` until `exit` or until the client goes away. `true` when `shutdown` came
/// before `exit`.
pub fn serve(connection: Connection, options: Options) -> bool {
    let Some(mut world) = initialize(&connection, options) else {
        return false;
    };
    world.log(|| format!("serving {}", world.root.display()));
    main_loop(&connection, &mut world)
}

/// Waits for `initialize`, answering anything else as the protocol says, and answers it.
fn initialize(connection: &Connection, options: Options) -> Option<World> {
    for message in &connection.receiver {
        match message {
            Message::Request(req) if req.method == request::Initialize::METHOD => {
                let params: InitializeParams = match serde_json::from_value(req.params.clone()) {
                    Ok(p) => p,
                    Err(e) => {
                        reply_err(connection, req.id, ErrorCode::InvalidParams, e.to_string());
                        continue;
                    }
                };
                let mut world = World::new(root_of(&params), options);
                if let Some(init) = &params.initialization_options {
                    world.client_settings = Settings::from_json(init);
                }
                let result = InitializeResult {
                    capabilities: capabilities(&world),
                    server_info: Some(ServerInfo {
                        name: "tally-lsp".into(),
                        version: Some(env!("CARGO_PKG_VERSION").into()),
                    }),
                };
                reply(connection, req.id, Ok(json(result)));
                world.scan();
                let settings = world.settings();
                world.live.configure(&mut world.db, &world.root, &settings);
                return Some(world);
            }
            Message::Request(req) => reply_err(
                connection,
                req.id,
                ErrorCode::ServerNotInitialized,
                format!("`{}` before `initialize`", req.method),
            ),
            Message::Notification(n) if n.method == notification::Exit::METHOD => return None,
            Message::Notification(_) | Message::Response(_) => {}
        }
    }
    None
}

/// The workspace root: the first workspace folder, else the root URI, else the current
/// directory.
#[allow(deprecated)] // `root_uri` is what older clients (Neovim 0.7) send
fn root_of(params: &InitializeParams) -> PathBuf {
    let folder = params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .map(|f| f.uri.as_str().to_string());
    let root = folder.or_else(|| params.root_uri.as_ref().map(|u| u.as_str().to_string()));
    root.and_then(|u| crate::uri::to_path(&u))
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default()
}

fn capabilities(world: &World) -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                will_save: None,
                will_save_wait_until: None,
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), "\"".into()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: WorkDoneProgressOptions::default(),
        })),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        document_symbol_provider: Some(OneOf::Left(true)),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: symbols::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                work_done_progress_options: WorkDoneProgressOptions::default(),
            },
        )),
        document_formatting_provider: world.formatter.map(|_| OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

fn main_loop(connection: &Connection, world: &mut World) -> bool {
    let mut shutdown = false;
    let mut queue: VecDeque<Message> = VecDeque::new();
    loop {
        if queue.is_empty() {
            match connection.receiver.recv() {
                Ok(message) => queue.push_back(message),
                Err(_) => return false, // the client went away without `exit`
            }
        }
        queue.extend(connection.receiver.try_iter());
        let cancelled = cancellations(&queue);
        while let Some(message) = queue.pop_front() {
            match message {
                Message::Request(req) => {
                    if cancelled.contains(&req.id) {
                        reply_err(
                            connection,
                            req.id,
                            ErrorCode::RequestCanceled,
                            "cancelled".into(),
                        );
                    } else if shutdown {
                        reply_err(
                            connection,
                            req.id,
                            ErrorCode::InvalidRequest,
                            format!("`{}` after `shutdown`", req.method),
                        );
                    } else if req.method == request::Shutdown::METHOD {
                        shutdown = true;
                        reply(connection, req.id, Ok(serde_json::Value::Null));
                    } else {
                        let id = req.id.clone();
                        let method = req.method.clone();
                        let answer = guarded(world, &method, |w| dispatch(w, req));
                        reply(connection, id, answer);
                    }
                }
                Message::Notification(n) if n.method == notification::Exit::METHOD => {
                    return shutdown;
                }
                Message::Notification(n) => {
                    let method = n.method.clone();
                    let _ = guarded(world, &method, |w| {
                        notify(w, connection, n);
                        Ok(serde_json::Value::Null)
                    });
                }
                Message::Response(_) => {}
            }
        }
        let published = guarded(world, "publishDiagnostics", |w| {
            for params in diagnostics::changed(w) {
                send_notification::<notification::PublishDiagnostics>(connection, params);
            }
            Ok(serde_json::Value::Null)
        });
        if let Err((_, message)) = published {
            world.log(|| message);
        }
    }
}

/// The ids of requests that `$/cancelRequest`s among `queue` cancel.
fn cancellations(queue: &VecDeque<Message>) -> BTreeSet<RequestId> {
    queue
        .iter()
        .filter_map(|m| match m {
            Message::Notification(n) if n.method == notification::Cancel::METHOD => {
                serde_json::from_value::<lsp_types::CancelParams>(n.params.clone()).ok()
            }
            _ => None,
        })
        .map(|p| match p.id {
            lsp_types::NumberOrString::Number(n) => RequestId::from(n),
            lsp_types::NumberOrString::String(s) => RequestId::from(s),
        })
        .collect()
}

/// Runs a handler, turning a panic into an internal error so the server keeps serving.
pub(crate) fn guarded(
    world: &mut World,
    what: &str,
    handler: impl FnOnce(&mut World) -> Answer,
) -> Answer {
    match catch_unwind(AssertUnwindSafe(|| handler(world))) {
        Ok(answer) => answer,
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            world.log(|| format!("`{what}` failed: {why}"));
            Err((
                ErrorCode::InternalError,
                format!("internal error in tally-lsp while handling `{what}`: {why}"),
            ))
        }
    }
}

fn params<P: DeserializeOwned>(req: Request) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(req.params).map_err(|e| {
        (
            ErrorCode::InvalidParams,
            format!("invalid parameters for `{}`: {e}", req.method),
        )
    })
}

pub(crate) fn json(value: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn dispatch(world: &mut World, req: Request) -> Answer {
    world.log(|| format!("request {} `{}`", req.id, req.method));
    match req.method.as_str() {
        request::HoverRequest::METHOD => hover::hover(world, params(req)?).map(json),
        request::Completion::METHOD => completion::completion(world, params(req)?).map(json),
        request::GotoDefinition::METHOD => navigation::definition(world, params(req)?).map(json),
        request::References::METHOD => navigation::references(world, params(req)?).map(json),
        request::PrepareRenameRequest::METHOD => {
            navigation::prepare_rename(world, params(req)?).map(json)
        }
        request::Rename::METHOD => navigation::rename(world, params(req)?).map(json),
        request::CodeActionRequest::METHOD => actions::code_actions(world, params(req)?).map(json),
        request::DocumentSymbolRequest::METHOD => {
            symbols::document_symbols(world, params(req)?).map(json)
        }
        request::SemanticTokensFullRequest::METHOD => {
            symbols::semantic_tokens(world, params(req)?).map(json)
        }
        request::Formatting::METHOD => format::formatting(world, params(req)?).map(json),
        #[cfg(test)]
        "tally/panic" => panic_for_tests(),
        other => Err((
            ErrorCode::MethodNotFound,
            format!("tally-lsp does not handle `{other}`"),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
fn panic_for_tests() -> Answer {
    panic!("a handler fell over")
}

fn notify(world: &mut World, connection: &Connection, n: Notification) {
    world.log(|| format!("notification `{}`", n.method));
    match n.method.as_str() {
        notification::DidOpenTextDocument::METHOD => {
            if let Ok(p) = serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params)
            {
                let doc = p.text_document;
                world.did_open(doc.uri.as_str(), doc.version, doc.text);
            }
        }
        notification::DidChangeTextDocument::METHOD => {
            if let Ok(p) =
                serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params)
            {
                let doc = p.text_document;
                world.did_change(doc.uri.as_str(), doc.version, p.content_changes);
            }
        }
        notification::DidCloseTextDocument::METHOD => {
            if let Ok(p) = serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params)
                && let Some((_, uri)) = world.did_close(p.text_document.uri.as_str())
                && let Ok(uri) = uri.parse()
            {
                send_notification::<notification::PublishDiagnostics>(
                    connection,
                    lsp_types::PublishDiagnosticsParams {
                        uri,
                        diagnostics: Vec::new(),
                        version: None,
                    },
                );
            }
        }
        notification::DidSaveTextDocument::METHOD => {
            // The buffer already holds the saved text; a saved snapshot or tally.toml matters.
            if let Ok(p) = serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(n.params)
            {
                saved_or_changed(world, p.text_document.uri.as_str());
            }
        }
        notification::DidChangeWatchedFiles::METHOD => {
            if let Ok(p) =
                serde_json::from_value::<lsp_types::DidChangeWatchedFilesParams>(n.params)
            {
                for change in p.changes {
                    saved_or_changed(world, change.uri.as_str());
                }
            }
        }
        notification::DidChangeConfiguration::METHOD => {
            if let Ok(p) =
                serde_json::from_value::<lsp_types::DidChangeConfigurationParams>(n.params)
            {
                let settings = Settings::from_json(&p.settings);
                if settings.snapshot.is_some() || world.client_settings.snapshot.is_some() {
                    world.client_settings = settings;
                }
                let settings = world.settings();
                world.live.configure(&mut world.db, &world.root, &settings);
                world.generation += 1;
            }
        }
        _ => {}
    }
}

/// A file changed on disk: a rule file not open is read again; the snapshot or `tally.toml`
/// is loaded again.
fn saved_or_changed(world: &mut World, uri: &str) {
    let Some(path) = crate::uri::to_path(uri) else {
        return;
    };
    if path.extension().is_some_and(|e| e == "tally") {
        let key = world.key_of_path(&path);
        world.reload(&key);
    } else if path.file_name().is_some_and(|n| n == "tally.toml") || world.live.is_snapshot(&path) {
        let settings = world.settings();
        world.live.reload(&mut world.db, &world.root, &settings);
        world.generation += 1;
    }
}

fn reply(connection: &Connection, id: RequestId, answer: Answer) {
    let response = match answer {
        Ok(result) => Response {
            id,
            response_result: Ok(result),
        },
        Err((code, message)) => Response::new_err(id, code as i32, message),
    };
    let _ = connection.sender.send(Message::Response(response));
}

fn reply_err(connection: &Connection, id: RequestId, code: ErrorCode, message: String) {
    reply(connection, id, Err((code, message)));
}

fn send_notification<N: lsp_types::notification::Notification>(
    connection: &Connection,
    params: N::Params,
) {
    let _ = connection
        .sender
        .send(Message::Notification(Notification::new(
            N::METHOD.to_string(),
            params,
        )));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_handler_is_answered_and_the_server_keeps_serving() {
        let (server, client) = Connection::memory();
        let Ok(temp) = tempfile::tempdir() else {
            return;
        };
        let dir = temp.path().to_path_buf();
        let request = |id: i32, method: &str, params: serde_json::Value| {
            Message::Request(Request::new(RequestId::from(id), method.into(), params))
        };
        let send = |m: Message| client.sender.send(m).is_ok();
        assert!(send(request(
            1,
            "initialize",
            serde_json::json!({"processId": null, "rootUri": crate::uri::from_path(&dir), "capabilities": {}}),
        )));
        assert!(send(Message::Notification(Notification::new(
            "initialized".into(),
            serde_json::json!({})
        ))));
        assert!(send(request(2, "tally/panic", serde_json::Value::Null)));
        assert!(send(request(3, "tally/nothing", serde_json::Value::Null)));
        assert!(send(request(4, "shutdown", serde_json::Value::Null)));
        assert!(send(Message::Notification(Notification::new(
            "exit".into(),
            serde_json::Value::Null
        ))));
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {})); // the panic is expected: keep the output clean
        let clean = serve(server, Options::default());
        std::panic::set_hook(hook);
        assert!(clean);
        let answers: Vec<Response> = client
            .receiver
            .try_iter()
            .filter_map(|m| match m {
                Message::Response(r) => Some(r),
                _ => None,
            })
            .collect();
        let panicked = answers
            .iter()
            .find(|r| r.id == RequestId::from(2))
            .and_then(|r| r.response_result.as_ref().err());
        assert_eq!(
            panicked.map(|e| e.code),
            Some(ErrorCode::InternalError as i32)
        );
        assert_eq!(
            panicked.map(|e| e.message.as_str()),
            Some("internal error in tally-lsp while handling `tally/panic`: a handler fell over")
        );
        let next = answers
            .iter()
            .find(|r| r.id == RequestId::from(3))
            .and_then(|r| r.response_result.as_ref().err());
        assert_eq!(next.map(|e| e.code), Some(ErrorCode::MethodNotFound as i32));
    }
}
