//! Every request and notification the server handles, driven in-process over `lsp-server`'s
//! memory connection, with the answers' content asserted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

mod common;

use common::{CONTOSO, Client, MSP, pos, workspace};
use serde_json::{Value, json};
use std::time::Duration;

const MISTAKES: &str = r#"customer "Contoso" {
  tenant "contoso.onmicrosoft.com"
  currency GBP
}

use std.m365

let staff = m365.users where enabled and departmnet == "Sales"
let bp = m365.sku("SPBB")

support qty = count(staff) description "Support 💷" price 25.00 GBP + 2.00 USD
m365_bp qty = bp.assigned price bp.cost * 112%
"#;

fn range(v: &Value) -> [u64; 4] {
    [
        v["start"]["line"].as_u64().unwrap(),
        v["start"]["character"].as_u64().unwrap(),
        v["end"]["line"].as_u64().unwrap(),
        v["end"]["character"].as_u64().unwrap(),
    ]
}

fn codes(diagnostics: &[Value]) -> Vec<(String, [u64; 4])> {
    diagnostics
        .iter()
        .map(|d| (d["code"].as_str().unwrap().to_string(), range(&d["range"])))
        .collect()
}

fn with_snapshot() -> Value {
    json!({"snapshot": "snapshot.json"})
}

#[test]
fn diagnostics_follow_incremental_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut client = Client::start(dir.path(), Value::Null, tally_lsp::Options::default());
    client.open("mistakes.tally", MISTAKES);
    let first = client.diagnostics("mistakes.tally");
    let gbp = "support qty = count(staff) description \"Support 💷\" price "
        .encode_utf16()
        .count() as u64;
    let usd = gbp + 12;
    assert_eq!(
        codes(&first),
        vec![
            ("T0102".into(), [7, 41, 7, 51]),
            ("T0104".into(), [8, 18, 8, 24]),
            ("T0202".into(), [10, usd, 10, usd + 8]),
        ]
    );
    assert_eq!(first[0]["severity"], 1);
    assert_eq!(first[0]["source"], "tally");
    assert_eq!(
        first[0]["message"],
        "a user has no field `departmnet`\nhelp: did you mean `department`?"
    );
    let related = &first[2]["relatedInformation"][0];
    assert_eq!(related["message"], "this is in GBP");
    assert_eq!(range(&related["location"]["range"]), [10, gbp, 10, gbp + 9]);
    assert_eq!(related["location"]["uri"], client.uri("mistakes.tally"));

    // Three changes in one notification, each range in the text the one before left; the last
    // is after a character that is two UTF-16 code units.
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": client.uri("mistakes.tally"), "version": 2},
            "contentChanges": [
                {"range": {"start": {"line": 7, "character": 41}, "end": {"line": 7, "character": 51}}, "text": "department"},
                {"range": {"start": {"line": 8, "character": 21}, "end": {"line": 8, "character": 22}}, "text": ""},
                {"range": {"start": {"line": 10, "character": usd + 5}, "end": {"line": 10, "character": usd + 8}}, "text": "GBP"},
            ],
        }),
    );
    assert_eq!(client.diagnostics("mistakes.tally"), Vec::<Value>::new());

    // A whole-text change (no range) replaces the text.
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": client.uri("mistakes.tally"), "version": 3},
            "contentChanges": [{"text": "let x = \n"}],
        }),
    );
    let syntax = client.diagnostics("mistakes.tally");
    assert_eq!(syntax[0]["code"], "T0001", "{syntax:?}");

    // Closing a file that was never saved clears its diagnostics.
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": client.uri("mistakes.tally")}}),
    );
    assert_eq!(client.diagnostics("mistakes.tally"), Vec::<Value>::new());
    assert!(client.shutdown());
}

#[test]
fn an_unsaved_module_edit_changes_the_files_that_use_it() {
    let dir = workspace();
    let mut client = Client::start(dir.path(), Value::Null, tally_lsp::Options::default());
    client.open("contoso.tally", CONTOSO);
    assert_eq!(client.diagnostics("contoso.tally"), Vec::<Value>::new());
    client.open("shared/msp.tally", MSP);
    assert_eq!(client.diagnostics("shared/msp.tally"), Vec::<Value>::new());

    // Rename the module's definition in the buffer only: the customer file, which uses it,
    // gets the diagnostic; the disk still has the old text.
    let (line, col) = pos(MSP, "billable =", "billable".len());
    client.change("shared/msp.tally", 2, [[line, col], [line, col]], "s");
    let diagnostics = client.diagnostics("contoso.tally");
    assert_eq!(
        codes(&diagnostics),
        vec![("T0101".into(), [14, 21, 14, 29])],
        "{diagnostics:?}"
    );
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `billables`?"),
        "{diagnostics:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shared/msp.tally")).unwrap(),
        MSP
    );

    // Closing the module without saving: the file on disk counts again.
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": client.uri("shared/msp.tally")}}),
    );
    assert_eq!(client.diagnostics("contoso.tally"), Vec::<Value>::new());
    assert!(client.shutdown());
}

#[test]
fn used_files_are_read_from_disk_only_as_modules_inside_the_workspace() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("ws");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(outer.path().join("outside.tally"), "let x = 1\n").unwrap();
    std::fs::write(root.join("notes.txt"), "let y = 2\n").unwrap();
    std::fs::write(root.join("near.tally"), "let z = 3\n").unwrap();
    let text = "use \"../outside.tally\"\nuse \"notes.txt\"\nuse \"missing.tally\"\nuse \"near.tally\"\nlet w = z\n";
    let mut client = Client::start(&root, Value::Null, tally_lsp::Options::default());
    client.open("a.tally", text);
    let diagnostics = client.diagnostics("a.tally");
    let messages: Vec<&str> = diagnostics
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        messages[0].starts_with("cannot use `../outside.tally`: it is outside the workspace"),
        "{messages:?}"
    );
    assert!(
        messages[1].starts_with("cannot use `notes.txt`: a module must be a `.tally` file"),
        "{messages:?}"
    );
    assert!(
        messages[2].starts_with("cannot read `missing.tally`"),
        "{messages:?}"
    );

    // The missing module appears on disk: a watched-file event makes it count.
    std::fs::write(root.join("missing.tally"), "let v = 4\n").unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": client.uri("missing.tally"), "type": 1}]}),
    );
    let diagnostics = client.diagnostics("a.tally");
    assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
    assert!(client.shutdown());
}

#[test]
fn secondary_labels_are_related_information() {
    let dir = tempfile::tempdir().unwrap();
    let mut client = Client::start(dir.path(), Value::Null, tally_lsp::Options::default());
    let text = "customer \"C\" {\n  tenant \"c\"\n  currency GBP\n}\nsupport qty = 1 price 2.00\nsupport qty = 2 price 3.00\n";
    client.open("c.tally", text);
    let diagnostics = client.diagnostics("c.tally");
    assert_eq!(codes(&diagnostics), vec![("T0301".into(), [5, 0, 5, 7])]);
    let related = &diagnostics[0]["relatedInformation"][0];
    assert_eq!(related["message"], "first defined here");
    assert_eq!(range(&related["location"]["range"]), [4, 0, 4, 7]);
    assert!(client.shutdown());
}

fn hover_text(client: &mut Client, file: &str, at: (u32, u32)) -> String {
    let answer = client
        .request("textDocument/hover", client.at(file, at.0, at.1))
        .unwrap();
    answer["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no hover at {at:?}: {answer}"))
        .to_string()
}

#[test]
fn hover_shows_types_documentation_skus_and_live_values() {
    let dir = workspace();
    let mut client = Client::start(dir.path(), with_snapshot(), tally_lsp::Options::default());
    client.open("contoso.tally", CONTOSO);
    let c = "contoso.tally";

    let staff = hover_text(&mut client, c, pos(CONTOSO, "staff =", 1));
    assert!(
        staff.starts_with("```tally\nlet staff\n```\na list of users"),
        "{staff}"
    );
    assert!(
        staff.ends_with(
            "Live (`snapshot.json`, 2026-10-01 to 2026-10-31): **27 users (3 excluded by `enabled`)**"
        ),
        "{staff}"
    );

    let m365_bp = hover_text(&mut client, c, pos(CONTOSO, "m365_bp qty", 2));
    assert!(
        m365_bp.contains("quantity **29**, unit price **20.27 GBP**, amount **587.83 GBP**"),
        "{m365_bp}"
    );

    // A minimum that applies, and a split: one row per invoice line.
    let support = hover_text(&mut client, c, pos(CONTOSO, "support qty", 0));
    assert!(
        support.contains(
            "quantity **30** (27 counted, minimum 30), unit price **25.00 GBP**, amount **750.00 GBP**"
        ),
        "{support}"
    );
    assert!(support.contains("× 25.00 = 425.00 GBP"), "{support}");

    // A field: its record, type and documentation.
    let purchased = hover_text(&mut client, c, pos(CONTOSO, "bp.purchased", 4));
    assert!(
        purchased.starts_with(
            "```tally\npurchased\n```\nfield of a subscribed SKU: a whole number\n\nseats bought"
        ),
        "{purchased}"
    );
    // Inside a filter, a field is a bare name.
    let enabled = hover_text(&mut client, c, pos(CONTOSO, "where enabled", 7));
    assert!(enabled.contains("whether sign-in is enabled"), "{enabled}");

    // A SKU name: the product's display name.
    let sku = hover_text(&mut client, c, pos(CONTOSO, "\"SPB\"", 2));
    assert!(
        sku.starts_with("**Microsoft 365 Business Premium**\n\npart number `SPB`"),
        "{sku}"
    );

    // The type of an expression: a percentage, and the product it is in.
    let percent = hover_text(&mut client, c, pos(CONTOSO, "112%", 1));
    assert_eq!(percent, "```tally\n112%\n```\na percentage");
    let product = hover_text(&mut client, c, pos(CONTOSO, "* 112%", 0));
    assert_eq!(product, "```tally\nbp.cost * 112%\n```\nmoney in GBP");

    // A definition from a used module, and its value for this customer.
    let billable = hover_text(&mut client, c, pos(CONTOSO, "count(billable)", 7));
    assert!(
        billable
            .starts_with("```tally\nlet billable\n```\na list of users — from `shared/msp.tally`"),
        "{billable}"
    );
    assert!(billable.ends_with("**27 users**"), "{billable}");

    // A counter's count in the snapshot.
    let counter = hover_text(&mut client, c, pos(CONTOSO, "counter(", 2));
    assert!(
        counter.ends_with("Live (`snapshot.json`): **27** as of 2026-10-31"),
        "{counter}"
    );

    // Nothing under the cursor: no hover.
    let blank = client
        .request("textDocument/hover", client.at(c, 4, 0))
        .unwrap();
    assert_eq!(blank, Value::Null);
    assert!(client.shutdown());
}

#[test]
fn tally_toml_names_the_snapshot() {
    let dir = workspace();
    std::fs::write(
        dir.path().join("tally.toml"),
        "snapshot = \"snapshot.json\"\n",
    )
    .unwrap();
    let mut client = Client::start(dir.path(), Value::Null, tally_lsp::Options::default());
    client.open("contoso.tally", CONTOSO);
    let hover = hover_text(&mut client, "contoso.tally", pos(CONTOSO, "m365_bp qty", 2));
    assert!(hover.contains("amount **587.83 GBP**"), "{hover}");

    // The snapshot changes on disk (a save in the editor, or a watched file): read again.
    let snapshot = common::snapshot_json().replace("\"purchased\":29", "\"purchased\":30");
    assert!(snapshot.contains("\"purchased\":30"));
    std::fs::write(dir.path().join("snapshot.json"), snapshot).unwrap();
    client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": client.uri("snapshot.json")}}),
    );
    let hover = hover_text(&mut client, "contoso.tally", pos(CONTOSO, "m365_bp qty", 2));
    assert!(hover.contains("quantity **30**"), "{hover}");

    // The setting from the client wins; a snapshot that cannot be read says so.
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"tally": {"snapshot": "nowhere.json"}}}),
    );
    let hover = hover_text(&mut client, "contoso.tally", pos(CONTOSO, "m365_bp qty", 2));
    assert!(
        hover.contains("Live values: cannot read the snapshot `nowhere.json`"),
        "{hover}"
    );
    assert!(client.shutdown());
}

#[test]
fn the_snapshot_makes_missing_counters_warnings() {
    let dir = workspace();
    let text = CONTOSO.replace("backup.protected_users", "backup.protected_user");
    let mut client = Client::start(dir.path(), with_snapshot(), tally_lsp::Options::default());
    client.open("contoso.tally", &text);
    let diagnostics = client.diagnostics("contoso.tally");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "T0504");
    assert_eq!(diagnostics[0]["severity"], 2);
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `backup.protected_users`?"),
        "{diagnostics:?}"
    );
    assert!(client.shutdown());
}

fn completion(client: &mut Client, file: &str, at: (u32, u32)) -> Vec<Value> {
    let answer = client
        .request("textDocument/completion", client.at(file, at.0, at.1))
        .unwrap();
    answer.as_array().cloned().unwrap_or_default()
}

fn labels(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["label"].as_str().unwrap()).collect()
}

/// Appends `line` to CONTOSO in the open buffer (version `version`) and returns where it ends.
fn append(client: &Client, version: i32, line: &str) -> (u32, u32) {
    let last = CONTOSO.lines().count() as u32;
    client.change("contoso.tally", version, [[last, 0], [last, 0]], line);
    (last, line.encode_utf16().count() as u32)
}

#[test]
fn completion_offers_what_fits_where_the_cursor_is() {
    let dir = workspace();
    let mut client = Client::start(dir.path(), with_snapshot(), tally_lsp::Options::default());
    client.open("contoso.tally", CONTOSO);
    let c = "contoso.tally";

    // Fields after `.`, with their types and documentation, while the line does not parse.
    let end = append(&client, 2, "extra qty = bp.");
    let items = completion(&mut client, c, end);
    let purchased = items.iter().find(|i| i["label"] == "purchased").unwrap();
    assert_eq!(purchased["detail"], "a whole number");
    assert_eq!(purchased["documentation"]["value"], "seats bought");
    let cost = items.iter().find(|i| i["label"] == "cost").unwrap();
    assert_eq!(cost["detail"], "money in the customer's currency");
    assert_eq!(items.len(), 12, "{:?}", labels(&items));

    // After `m365.`: its collections and `sku`.
    client.change(c, 3, [[end.0, 12], [end.0, 15]], "m365.");
    assert_eq!(
        labels(&completion(&mut client, c, (end.0, 17))),
        vec!["users", "skus", "sku"]
    );

    // A list of records projects its fields: `staff.` offers the user's fields as lists.
    client.change(c, 4, [[end.0, 12], [end.0, 17]], "staff.");
    let items = completion(&mut client, c, (end.0, 18));
    let upn = items.iter().find(|i| i["label"] == "upn").unwrap();
    assert_eq!(upn["detail"], "a list of text, one per element");

    // Part numbers inside `m365.sku("`, replacing what was typed.
    client.change(c, 5, [[end.0, 12], [end.0, 18]], "m365.sku(\"SPE");
    let items = completion(&mut client, c, (end.0, 25));
    let e5 = items.iter().find(|i| i["label"] == "SPE_E5").unwrap();
    assert!(
        e5["detail"].as_str().unwrap().contains("Microsoft 365 E5"),
        "{e5}"
    );
    assert_eq!(
        range(&e5["textEdit"]["range"]),
        [end.0 as u64, 22, end.0 as u64, 25]
    );
    assert_eq!(e5["textEdit"]["newText"], "SPE_E5");

    // Counters of the snapshot inside `counter("`, for this customer's tenant.
    client.change(c, 6, [[end.0, 12], [end.0, 25]], "counter(\"");
    let items = completion(&mut client, c, (end.0, 21));
    assert_eq!(
        labels(&items),
        vec!["backup.protected_users", "rmm.devices"]
    );
    assert_eq!(
        items[0]["detail"],
        "27 as of 2026-10-31 (contoso.onmicrosoft.com)"
    );

    // Names in scope inside an expression: this file's definitions, the used module's (with
    // where they come from), the built-in roots and the functions.
    client.change(c, 7, [[end.0, 12], [end.0, 21]], "count(");
    let items = completion(&mut client, c, (end.0, 18));
    let names = labels(&items);
    for wanted in [
        "bp",
        "staff",
        "billable",
        "support_rate",
        "m365",
        "period",
        "max",
        "counter",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    let billable = items.iter().find(|i| i["label"] == "billable").unwrap();
    assert_eq!(
        billable["detail"],
        "a list of users — from `shared/msp.tally`"
    );
    assert!(!names.contains(&"department"), "no fields outside a filter");

    // Inside a `where`, the element's fields come first.
    client.change(c, 8, [[end.0, 12], [end.0, 18]], "m365.users where ");
    let items = completion(&mut client, c, (end.0, 29));
    assert_eq!(items[0]["label"], "id");
    assert!(labels(&items).contains(&"department"));

    // After a line's expression, on an indented text line: the clauses the line lacks.
    client.change(c, 9, [[end.0, 0], [end.0, 29]], "  ");
    let items = completion(&mut client, c, (end.0, 2));
    let clauses = labels(&items);
    assert!(
        clauses.contains(&"minimum") && clauses.contains(&"split by"),
        "{clauses:?}"
    );
    assert!(
        !clauses.contains(&"price"),
        "helpdesk has a price: {clauses:?}"
    );

    // After `use "`: the workspace's modules, relative to this file.
    client.change(c, 10, [[end.0, 0], [end.0, 2]], "use \"");
    let items = completion(&mut client, c, (end.0, 5));
    assert_eq!(labels(&items), vec!["shared/msp.tally"]);
    assert!(client.shutdown());
}

#[test]
fn definition_references_and_rename_work_across_files() {
    let dir = workspace();
    let other = "customer \"Other\" {\n  tenant \"other.onmicrosoft.com\"\n  currency EUR\n}\nuse \"shared/msp.tally\"\nseats qty = billable price 3.00\n";
    std::fs::write(dir.path().join("other.tally"), other).unwrap();
    let mut client = Client::start(dir.path(), Value::Null, tally_lsp::Options::default());
    client.open("contoso.tally", CONTOSO);
    let c = "contoso.tally";
    let msp_uri = client.uri("shared/msp.tally");

    // Definition of a module's definition, from the customer file.
    let at = pos(CONTOSO, "count(billable)", 7);
    let definition = client
        .request("textDocument/definition", client.at(c, at.0, at.1))
        .unwrap();
    assert_eq!(definition["uri"], msp_uri);
    assert_eq!(range(&definition["range"]), [2, 4, 2, 12]);
    // Definition of a `use` target: the module's file.
    let at = pos(CONTOSO, "shared/msp", 1);
    let definition = client
        .request("textDocument/definition", client.at(c, at.0, at.1))
        .unwrap();
    assert_eq!(definition["uri"], msp_uri);
    // Definition of a local definition, with the cursor just after the name.
    let at = pos(CONTOSO, "bp.purchased", 2);
    let definition = client
        .request("textDocument/definition", client.at(c, at.0, at.1))
        .unwrap();
    assert_eq!(range(&definition["range"]), [8, 4, 8, 6]);

    // References of the module's definition: its declaration, and its uses in both customer
    // files (one of them not open).
    let mut params = client.at("shared/msp.tally", 2, 5);
    params["context"] = json!({"includeDeclaration": true});
    let references = client
        .request("textDocument/references", params.clone())
        .unwrap();
    let mut found: Vec<(String, [u64; 4])> = references
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let uri = l["uri"].as_str().unwrap();
            (
                uri.rsplit('/').next().unwrap().to_string(),
                range(&l["range"]),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("contoso.tally".into(), [14, 21, 14, 29]),
            ("msp.tally".into(), [2, 4, 2, 12]),
            ("other.tally".into(), [5, 12, 5, 20]),
        ]
    );
    params["context"] = json!({"includeDeclaration": false});
    let references = client.request("textDocument/references", params).unwrap();
    assert_eq!(references.as_array().unwrap().len(), 2);

    // Rename it everywhere.
    let mut params = client.at(c, 14, 22);
    params["newName"] = json!("people");
    let edit = client.request("textDocument/rename", params).unwrap();
    let changes = edit["changes"].as_object().unwrap();
    assert_eq!(changes.len(), 3, "{edit}");
    for (uri, edits) in changes {
        let edits = edits.as_array().unwrap();
        assert_eq!(edits.len(), 1, "{uri}: {edits:?}");
        assert_eq!(edits[0]["newText"], "people");
    }
    assert_eq!(range(&changes[&msp_uri][0]["range"]), [2, 4, 2, 12]);

    // Renames that would change the meaning of the rules, or are not names, are refused.
    let mut params = client.at(c, 14, 22);
    params["newName"] = json!("staff");
    let refused = client
        .request("textDocument/rename", params.clone())
        .unwrap_err();
    assert_eq!(refused.0, -32803);
    assert_eq!(
        refused.1,
        "`contoso.tally` already sees a definition named `staff`"
    );
    params["newName"] = json!("price");
    assert_eq!(
        client
            .request("textDocument/rename", params.clone())
            .unwrap_err(),
        (-32602, "`price` is a reserved word".to_string())
    );
    params["newName"] = json!("9lives");
    assert_eq!(
        client.request("textDocument/rename", params).unwrap_err().0,
        -32602
    );
    let at = pos(MSP, "licensed_users", 1);
    let mut params = client.at("shared/msp.tally", at.0, at.1);
    params["newName"] = json!("licensed");
    let refused = client.request("textDocument/rename", params).unwrap_err();
    assert_eq!(
        refused.1,
        "`licensed_users` is defined by the standard library `std.m365`"
    );

    // A line: prepare (its range and name), then rename it in its file.
    let at = pos(CONTOSO, "backup qty", 1);
    let prepared = client
        .request("textDocument/prepareRename", client.at(c, at.0, at.1))
        .unwrap();
    assert_eq!(prepared["placeholder"], "backup");
    assert_eq!(range(&prepared["range"]), [13, 0, 13, 6]);
    let mut params = client.at(c, at.0, at.1);
    params["newName"] = json!("backup_365");
    let edit = client.request("textDocument/rename", params).unwrap();
    let edits = edit["changes"][client.uri(c)].as_array().unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(range(&edits[0]["range"]), [13, 0, 13, 6]);
    // Nothing to rename on a keyword.
    let at = pos(CONTOSO, "price 3.75", 1);
    assert!(
        client
            .request("textDocument/prepareRename", client.at(c, at.0, at.1))
            .is_err()
    );
    assert!(client.shutdown());
}

#[test]
fn suggestions_are_quick_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let mut client = Client::start(dir.path(), Value::Null, tally_lsp::Options::default());
    client.open("mistakes.tally", MISTAKES);
    let diagnostics = client.diagnostics("mistakes.tally");
    let typo = diagnostics[0].clone();
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": client.uri("mistakes.tally")},
                "range": {"start": {"line": 7, "character": 45}, "end": {"line": 7, "character": 45}},
                "context": {"diagnostics": [typo]},
            }),
        )
        .unwrap();
    let actions = actions.as_array().unwrap();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["title"], "replace with `department`");
    assert_eq!(actions[0]["kind"], "quickfix");
    assert_eq!(actions[0]["isPreferred"], true);
    assert_eq!(actions[0]["diagnostics"][0]["code"], "T0102");
    let edits = &actions[0]["edit"]["changes"][client.uri("mistakes.tally")];
    assert_eq!(range(&edits[0]["range"]), [7, 41, 7, 51]);
    assert_eq!(edits[0]["newText"], "department");

    // The unknown SKU suggests the closest part numbers, each a quick fix.
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": client.uri("mistakes.tally")},
                "range": {"start": {"line": 8, "character": 20}, "end": {"line": 8, "character": 20}},
                "context": {"diagnostics": []},
            }),
        )
        .unwrap();
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["replace with `SPB`"]);

    // Only quick fixes are offered: another kind asked for gets none.
    let none = client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": client.uri("mistakes.tally")},
                "range": {"start": {"line": 7, "character": 45}, "end": {"line": 7, "character": 45}},
                "context": {"diagnostics": [], "only": ["refactor"]},
            }),
        )
        .unwrap();
    assert_eq!(none, json!([]));
    assert!(client.shutdown());
}

#[test]
fn document_symbols_list_the_customer_uses_definitions_and_lines() {
    let dir = workspace();
    let mut client = Client::start(dir.path(), Value::Null, tally_lsp::Options::default());
    client.open("contoso.tally", CONTOSO);
    let symbols = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": client.uri("contoso.tally")}}),
        )
        .unwrap();
    let listed: Vec<(String, u64, String)> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["kind"].as_u64().unwrap(),
                s["detail"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, u64, String)> = [
        ("Contoso", 3, "customer, tenant contoso.onmicrosoft.com"),
        ("use std.m365", 2, ""),
        ("use \"shared/msp.tally\"", 2, ""),
        ("bp", 13, "a subscribed SKU"),
        ("staff", 13, "a list of users"),
        ("m365_bp", 12, "qty line"),
        ("support", 12, "qty line"),
        ("backup", 12, "qty line"),
        ("helpdesk", 12, "qty line"),
    ]
    .iter()
    .map(|(n, k, d)| (n.to_string(), *k, d.to_string()))
    .collect();
    assert_eq!(listed, expected);
    let support = &symbols[6];
    assert_eq!(range(&support["selectionRange"]), [12, 0, 12, 7]);
    assert_eq!(range(&support["range"]), [12, 0, 12, 80]);
    assert!(client.shutdown());
}

#[test]
fn semantic_tokens_classify_words() {
    let dir = workspace();
    let mut client = Client::start(dir.path(), Value::Null, tally_lsp::Options::default());
    client.open("contoso.tally", CONTOSO);
    let tokens = client
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": client.uri("contoso.tally")}}),
        )
        .unwrap();
    let data: Vec<u64> = tokens["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    // Decode the relative positions into (line, column, length, type, modifiers).
    let types = [
        "keyword",
        "variable",
        "property",
        "function",
        "namespace",
        "string",
        "number",
        "comment",
        "type",
        "enumMember",
    ];
    let lines: Vec<&str> = CONTOSO.lines().collect();
    let mut decoded = Vec::new();
    let (mut line, mut column) = (0u64, 0u64);
    for t in data.chunks(5) {
        if t[0] > 0 {
            line += t[0];
            column = t[1];
        } else {
            column += t[1];
        }
        let text: String = lines[line as usize]
            .chars()
            .skip(column as usize)
            .take(t[2] as usize)
            .collect();
        decoded.push((text, types[t[3] as usize], t[4]));
    }
    let find = |word: &str| {
        decoded
            .iter()
            .find(|(text, ..)| text == word)
            .map(|(_, kind, modifiers)| (*kind, *modifiers))
    };
    assert_eq!(find("customer"), Some(("keyword", 0)));
    assert_eq!(find("\"Contoso\""), Some(("string", 0)));
    assert_eq!(find("GBP"), Some(("type", 0)));
    assert_eq!(find("bp"), Some(("variable", 1)), "the declaration");
    assert_eq!(find("m365"), Some(("namespace", 2)));
    assert_eq!(find("sku"), Some(("function", 2)));
    assert_eq!(find("// Business Premium"), Some(("comment", 0)));
    assert_eq!(
        find("enabled"),
        Some(("property", 0)),
        "a field inside a filter"
    );
    assert_eq!(find("purchased"), Some(("property", 0)));
    assert_eq!(find("m365_bp"), Some(("function", 1)));
    assert_eq!(find("112%"), Some(("number", 0)));
    assert_eq!(find("department"), Some(("enumMember", 0)), "the split key");
    assert_eq!(find("billable"), Some(("variable", 0)));
    assert!(client.shutdown());
}

fn squeeze(text: &str) -> Result<String, String> {
    if text.contains("!!") {
        return Err("cannot format `!!`".into());
    }
    Ok(text.replace("  ", " "))
}

#[test]
fn formatting_goes_through_the_formatter_seam() {
    let dir = tempfile::tempdir().unwrap();
    let options = tally_lsp::Options {
        log: false,
        formatter: Some(squeeze),
    };
    let mut client = Client::start(dir.path(), Value::Null, options);
    let text = "let  a = 1\nlet b  = a\n";
    client.open("m.tally", text);
    let edits = client
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": client.uri("m.tally")}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .unwrap();
    assert_eq!(
        edits,
        json!([{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}},
                "newText": "let a = 1\nlet b = a\n"}])
    );
    // Already formatted: no edits. Not formattable: an error saying why.
    client.change("m.tally", 2, [[0, 3], [0, 5]], " ");
    client.change("m.tally", 3, [[1, 5], [1, 7]], " ");
    let none = client
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": client.uri("m.tally")}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .unwrap();
    assert_eq!(none, json!([]));
    client.change("m.tally", 4, [[1, 0], [1, 0]], "//!!\n");
    let refused = client
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": client.uri("m.tally")}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .unwrap_err();
    assert_eq!(
        refused,
        (
            -32803,
            "the file cannot be formatted: cannot format `!!`".to_string()
        )
    );
    assert!(client.shutdown());

    // Without a formatter, none is offered.
    let mut client = Client::start(dir.path(), Value::Null, tally_lsp::Options::default());
    let refused = client
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": client.uri("m.tally")}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .unwrap_err();
    assert_eq!(refused.0, -32601);
    assert!(client.shutdown());
}

#[test]
fn unknown_methods_and_bad_parameters_are_errors_and_the_server_goes_on() {
    let dir = workspace();
    let mut client = Client::start(dir.path(), Value::Null, tally_lsp::Options::default());
    assert_eq!(
        client.request("tally/nothing", json!({})).unwrap_err(),
        (
            -32601,
            "tally-lsp does not handle `tally/nothing`".to_string()
        )
    );
    let bad = client
        .request("textDocument/hover", json!({"textDocument": 3}))
        .unwrap_err();
    assert_eq!(bad.0, -32602);
    assert!(
        bad.1
            .starts_with("invalid parameters for `textDocument/hover`"),
        "{}",
        bad.1
    );
    // Files the server cannot know: no answer, no error.
    let elsewhere = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": "untitled:Untitled-1"}, "position": {"line": 0, "character": 0}}),
        )
        .unwrap();
    assert_eq!(elsewhere, Value::Null);
    // Documents keep working after those errors: the first publication of a clean file is an
    // empty list, and an edit that changes nothing publishes nothing.
    client.open("contoso.tally", CONTOSO);
    assert_eq!(client.diagnostics("contoso.tally"), Vec::<Value>::new());
    client.change("contoso.tally", 2, [[0, 0], [0, 0]], "// hello\n");
    assert!(client.no_diagnostics_within("contoso.tally", Duration::from_millis(300)));
    assert!(client.shutdown());
}
