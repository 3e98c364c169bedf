//! Editing one file re-runs only that file's queries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::sync::{Arc, Mutex};
use tally_db::Database;

fn customer(name: &str, price: &str) -> String {
    format!(
        "customer \"{name}\" {{\n  tenant \"{name}.onmicrosoft.com\"\n  currency GBP\n}}\nuse std.m365\n\nsupport qty = count(licensed_users) price {price}\n"
    )
}

#[test]
fn editing_one_file_reruns_only_its_queries() {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&log);
    let mut db = Database::with_events(Some(Box::new(move |event: salsa::Event| {
        if let salsa::EventKind::WillExecute { database_key } = event.kind {
            sink.lock().unwrap().push(format!("{database_key:?}"));
        }
    })));
    let files: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|n| db.set_file(&format!("{n}.tally"), customer(n, "25.00")))
        .collect();
    for file in &files {
        assert!(tally_db::diagnostics(&db, *file).is_empty());
        assert!(tally_db::program(&db, *file).is_ok());
    }
    let first_run = std::mem::take(&mut *log.lock().unwrap());
    assert!(
        first_run.iter().any(|q| q.starts_with("parse")),
        "{first_run:?}"
    );

    db.set_file("b.tally", customer("b", "30.00"));
    for file in &files {
        tally_db::diagnostics(&db, *file);
        tally_db::program(&db, *file).as_ref().unwrap();
    }
    let second_run = std::mem::take(&mut *log.lock().unwrap());
    let b = format!("{:?}", files[1]);
    let b_id = b
        .split("Id(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap();
    let b_key = format!("Id({b_id})");
    assert!(!second_run.is_empty(), "editing b must re-run something");
    // Pieces are parsed by their text, not by file: only b's edited piece is parsed again.
    let (pieces, second_run): (Vec<String>, Vec<String>) = second_run
        .into_iter()
        .partition(|q| q.starts_with("parse_piece"));
    assert_eq!(pieces.len(), 1, "{pieces:?}");
    for query in &second_run {
        assert!(
            query.contains(&b_key),
            "re-ran a query of another file: {query} (all: {second_run:?})"
        );
    }
    for name in ["parse", "check", "diagnostics", "program"] {
        assert!(
            second_run.iter().any(|q| q.starts_with(name)),
            "{name} did not re-run for b: {second_run:?}"
        );
    }
    // The edit is visible.
    let program = tally_db::program(&db, files[1]).as_ref().unwrap();
    assert!(program.sources.values().any(|s| s.contains("30.00")));
}

#[test]
fn a_shared_module_edit_reaches_its_users() {
    let mut db = Database::default();
    db.set_file(
        "shared.tally",
        "let staff = m365.users where enabled\n".into(),
    );
    let customer = db.set_file(
        "c.tally",
        "customer \"C\" {\n  tenant \"c\"\n  currency GBP\n}\nuse \"shared.tally\"\nsupport qty = count(staff) price 1.00\n".into(),
    );
    assert!(tally_db::diagnostics(&db, customer).is_empty());
    db.set_file(
        "shared.tally",
        "let stuff = m365.users where enabled\n".into(),
    );
    let diagnostics = tally_db::diagnostics(&db, customer);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert!(diagnostics[0].message.contains("`staff`"));
    assert_eq!(
        diagnostics[0].help.as_deref(),
        Some("did you mean `stuff`?")
    );
}

#[test]
fn use_cycles_are_errors_not_hangs() {
    let mut db = Database::default();
    db.set_file("a.tally", "use \"b.tally\"\nlet x = 1\n".into());
    let b = db.set_file("b.tally", "use \"a.tally\"\nlet y = 2\n".into());
    let diagnostics = tally_db::diagnostics(&db, b);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.message.contains("uses this file back")),
        "{diagnostics:?}"
    );
}

#[test]
fn every_standard_module_checks_cleanly() {
    let db = Database::default();
    for (key, _) in tally_db::STD_MODULES {
        let file = db.file(key).unwrap();
        let diagnostics = tally_db::diagnostics(&db, file);
        assert!(diagnostics.is_empty(), "{key}: {diagnostics:?}");
    }
}

/// A program is never linked from rules that do not check: syntax errors in a module, or
/// errors in the customer file, refuse with T0601 and name the file.
#[test]
fn rules_with_errors_have_no_program() {
    let mut db = Database::default();
    let module = db.set_file("shared.tally", "let broken = (\n".to_string());
    let using = db.set_file(
        "a.tally",
        format!("{}use \"shared.tally\"\n", customer("a", "25.00")),
    );
    assert!(!tally_db::diagnostics(&db, module).is_empty());
    let refusal = tally_db::program(&db, using).as_ref().unwrap_err();
    assert_eq!(refusal.code, tally_diagnostics::Code::RulesHaveErrors);
    assert!(refusal.message.contains("`a.tally`"), "{}", refusal.message);

    let typo = db.set_file("b.tally", customer("b", "twenty"));
    let refusal = tally_db::program(&db, typo).as_ref().unwrap_err();
    assert_eq!(refusal.code, tally_diagnostics::Code::RulesHaveErrors);
    assert!(refusal.message.contains("`b.tally`"), "{}", refusal.message);
}

/// An edit inside one item of a long file parses that item's piece again, not the others, even
/// though every item after it moves.
#[test]
fn an_edit_parses_only_its_piece_again() {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&log);
    let mut db = Database::with_events(Some(Box::new(move |event: salsa::Event| {
        if let salsa::EventKind::WillExecute { database_key } = event.kind {
            sink.lock().unwrap().push(format!("{database_key:?}"));
        }
    })));
    let mut text = customer("big", "25.00");
    for i in 0..200 {
        text.push_str(&format!("let d{i} = {i}\nline_{i} qty = d{i} price 1.00\n"));
    }
    let file = db.set_file("big.tally", text.clone());
    let before = tally_db::parse(&db, file).clone();
    log.lock().unwrap().clear();
    let edited = text.replace("let d5 = 5\n", "let d5 = 555\n");
    db.set_file("big.tally", edited.clone());
    let after = tally_db::parse(&db, file).clone();
    let pieces: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|q| q.starts_with("parse_piece"))
        .cloned()
        .collect();
    assert_eq!(pieces.len(), 1, "{pieces:?}");
    assert_eq!(after, tally_syntax::parse(&edited));
    assert_ne!(after, before);
    // The items after the edit moved by two bytes.
    let last = |p: &tally_syntax::Parsed| p.file.items.last().unwrap().span().start;
    assert_eq!(last(&after), last(&before) + 2);
}
