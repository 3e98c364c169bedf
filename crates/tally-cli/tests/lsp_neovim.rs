//! `tally lsp` driven by a real client: headless Neovim (Debian's `neovim`, 0.7 or newer) with
//! its built-in LSP client starts the binary, opens a file with three mistakes, fixes them with
//! buffer edits (sent as incremental changes), and asks for hover, completion, definition,
//! rename and a quick fix. The Lua script records what Neovim received; the assertions are
//! here. Without `nvim` on the PATH the test says so and passes, except in CI (`CI` set),
//! where `.ci/run` installs Neovim and its absence fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

const SCRIPT: &str = r#"
local root = vim.env.TALLY_ROOT
local bin = vim.env.TALLY_BIN
local results = { steps = {} }
local raw = {}

-- Keep what the server published, as sent (ranges in UTF-16), then let Neovim show it.
local default_publish = vim.lsp.handlers["textDocument/publishDiagnostics"]
vim.lsp.handlers["textDocument/publishDiagnostics"] = function(err, result, ctx, config)
  raw[result.uri] = result.diagnostics
  return default_publish(err, result, ctx, config)
end

local function step(name) table.insert(results.steps, name) end

local function run()
  vim.cmd("edit " .. vim.fn.fnameescape(root .. "/mistakes.tally"))
  local buf = vim.api.nvim_get_current_buf()
  local id = vim.lsp.start_client({
    name = "tally",
    cmd = { bin, "lsp" },
    root_dir = root,
    init_options = { snapshot = "snapshot.json" },
    flags = { debounce_text_changes = 0, allow_incremental_sync = true },
  })
  assert(id, "the client did not start")
  assert(vim.lsp.buf_attach_client(buf, id), "could not attach")
  local uri = vim.uri_from_bufnr(buf)

  local function wait_for(count, what)
    local ok = vim.wait(30000, function() return raw[uri] ~= nil and #raw[uri] == count end, 20)
    assert(ok, what .. ": got " .. vim.inspect(raw[uri]))
  end
  local function request(method, params)
    local answers, why = vim.lsp.buf_request_sync(buf, method, params, 30000)
    assert(answers, method .. ": " .. tostring(why))
    local answer = answers[id]
    assert(answer and not answer.err, method .. ": " .. vim.inspect(answer and answer.err))
    return answer.result
  end
  local function at(line, character)
    return { textDocument = { uri = uri }, position = { line = line, character = character } }
  end
  -- Replaces `old` by `new` on 0-based line `line` (byte columns, as Neovim counts).
  local function replace(line, old, new)
    local text = vim.api.nvim_buf_get_lines(buf, line, line + 1, true)[1]
    local s, e = string.find(text, old, 1, true)
    assert(s, old .. " not on line " .. line .. ": " .. text)
    vim.api.nvim_buf_set_text(buf, line, s - 1, line, e, { new })
  end

  wait_for(3, "three diagnostics")
  results.mistakes = raw[uri]
  results.shown = #vim.diagnostic.get(buf)
  step("diagnostics")

  replace(7, "departmnet", "department")
  replace(8, "SPBB", "SPB")
  replace(10, "2.00 USD", "2.00 GBP")
  wait_for(0, "the fixes clear the diagnostics")
  results.fixed = vim.api.nvim_buf_get_lines(buf, 0, -1, true)
  step("fixed")

  results.hover_let = request("textDocument/hover", at(7, 5))
  results.hover_line = request("textDocument/hover", at(10, 2))
  results.hover_field = request("textDocument/hover", at(11, 18))
  results.hover_sku = request("textDocument/hover", at(8, 20))
  step("hover")

  results.completion = request("textDocument/completion", at(11, 17))
  step("completion")

  results.definition = request("textDocument/definition", at(10, 22))
  step("definition")

  local edit = request("textDocument/rename", vim.tbl_extend("force", at(10, 22), { newName = "team" }))
  vim.lsp.util.apply_workspace_edit(edit, "utf-16")
  results.renamed = vim.api.nvim_buf_get_lines(buf, 0, -1, true)
  step("rename")

  replace(7, "department", "departmnet")
  wait_for(1, "the typo is back")
  local typo = raw[uri][1]
  local actions = request("textDocument/codeAction", {
    textDocument = { uri = uri },
    range = typo.range,
    context = { diagnostics = { typo } },
  })
  results.actions = actions
  vim.lsp.util.apply_workspace_edit(actions[1].edit, "utf-16")
  wait_for(0, "the quick fix clears the diagnostic")
  results.quick_fixed = vim.api.nvim_buf_get_lines(buf, 7, 8, true)[1]
  step("quick fix")

  local client = vim.lsp.get_client_by_id(id)
  results.formatting = client.server_capabilities.documentFormattingProvider or false
  -- Squeeze the spacing of one line, then let Neovim format the buffer through the server.
  vim.api.nvim_buf_set_lines(buf, 7, 8, true, { "let   team=m365.users   where enabled and department==\"Sales\"" })
  -- Requested and applied by hand: Debian's Neovim may predate `vim.lsp.buf.format`.
  local edits = request("textDocument/formatting", {
    textDocument = { uri = uri },
    options = { tabSize = 4, insertSpaces = true },
  })
  vim.lsp.util.apply_text_edits(edits, buf, "utf-16")
  results.formatted = vim.api.nvim_buf_get_lines(buf, 7, 8, true)[1]
  step("format")
  results.sync = client.server_capabilities.textDocumentSync.change
end

local ok, err = xpcall(run, debug.traceback)
results.ok = ok
results.error = err and tostring(err) or nil
vim.fn.writefile({ vim.fn.json_encode(results) }, root .. "/results.json")
vim.cmd("qa!")
"#;

fn find_nvim() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("nvim"))
        .find(|candidate| candidate.is_file())
}

/// 30 users (27 enabled: 15 in Sales, 12 in Ops; 3 disabled in Ops), Business Premium.
fn snapshot() -> String {
    let users: Vec<Value> = (1..=30)
        .map(|i| {
            json!({
                "id": format!("00000000-0000-0000-0000-{i:012}"),
                "upn": format!("user{i:02}@contoso.com"),
                "display_name": format!("User {i}"),
                "department": if i <= 15 { "Sales" } else { "Ops" },
                "office": "", "city": "",
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
                "sku_id": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "part_number": "SPB",
                "purchased": 29, "assigned": 27,
                "unit_cost": {"amount": "18.10", "currency": "GBP"},
                "term": "annual", "billing_plan": "monthly",
            }],
            "counters": [],
        }],
    })
    .to_string()
}

fn run_nvim(nvim: &Path, root: &Path) -> Value {
    let script = root.join("script.lua");
    std::fs::write(&script, SCRIPT).unwrap();
    let mut child = Command::new(nvim)
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c"])
        .arg(format!("luafile {}", script.display()))
        .env("TALLY_ROOT", root)
        .env("TALLY_BIN", env!("CARGO_BIN_EXE_tally"))
        .env("HOME", root)
        .env("XDG_CONFIG_HOME", root.join("xdg/config"))
        .env("XDG_DATA_HOME", root.join("xdg/data"))
        .env("XDG_STATE_HOME", root.join("xdg/state"))
        .env("XDG_CACHE_HOME", root.join("xdg/cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nvim starts");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("nvim did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let results = root.join("results.json");
    let text = std::fs::read_to_string(&results).unwrap_or_else(|e| {
        let output = child.wait_with_output().unwrap();
        panic!(
            "no results from nvim ({e}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn range(d: &Value) -> [u64; 4] {
    let r = &d["range"];
    [
        r["start"]["line"].as_u64().unwrap(),
        r["start"]["character"].as_u64().unwrap(),
        r["end"]["line"].as_u64().unwrap(),
        r["end"]["character"].as_u64().unwrap(),
    ]
}

#[test]
fn neovim_drives_tally_lsp() {
    let Some(nvim) = find_nvim() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Neovim: .ci/run installs Debian's `neovim`"
        );
        eprintln!("skipped: no `nvim` on the PATH (apt-get install neovim)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("mistakes.tally"), MISTAKES).unwrap();
    std::fs::write(root.join("snapshot.json"), snapshot()).unwrap();
    let results = run_nvim(&nvim, &root);
    assert_eq!(
        results["ok"],
        json!(true),
        "the script failed after {}: {}",
        results["steps"],
        results["error"].as_str().unwrap_or("")
    );

    // Three mistakes, with code, severity, range (UTF-16: `💷` counts two) and related help.
    let mistakes = results["mistakes"].as_array().unwrap();
    let summary: Vec<(String, u64, [u64; 4])> = mistakes
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["severity"].as_u64().unwrap(),
                range(d),
            )
        })
        .collect();
    // `💷` is two UTF-16 code units: the server counts as the client does. The mistake is the
    // money in USD (`2.00 USD`), and the GBP it meets is related information.
    let gbp = "support qty = count(staff) description \"Support 💷\" price "
        .encode_utf16()
        .count() as u64;
    let usd = gbp + "25.00 GBP + ".len() as u64;
    assert_eq!(
        summary,
        vec![
            ("T0102".into(), 1, [7, 41, 7, 51]),
            ("T0104".into(), 1, [8, 18, 8, 24]),
            (
                "T0202".into(),
                1,
                [10, usd, 10, usd + "2.00 USD".len() as u64]
            ),
        ],
        "{mistakes:#?}"
    );
    assert!(
        mistakes[0]["message"]
            .as_str()
            .unwrap()
            .contains("help: did you mean `department`?"),
        "{mistakes:#?}"
    );
    let related = &mistakes[2]["relatedInformation"][0];
    assert_eq!(related["message"], "this is in GBP");
    assert_eq!(range(&related["location"]), [10, gbp, 10, gbp + 9]);
    assert_eq!(results["shown"], json!(3), "Neovim shows all three");

    // The edits reached the server as incremental changes and cleared the diagnostics.
    assert_eq!(results["sync"], json!(2), "incremental sync");
    let fixed: Vec<&str> = results["fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        fixed[7],
        "let staff = m365.users where enabled and department == \"Sales\""
    );

    // Hover: a definition's live value, a line's planned numbers, a field's documentation, a
    // SKU's product name.
    let hover = |name: &str| {
        results[name]["contents"]["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let let_hover = hover("hover_let");
    assert!(let_hover.contains("a list of users"), "{let_hover}");
    assert!(
        let_hover.contains(
            "**15 users (3 excluded by `enabled`, 12 excluded by `department == \"Sales\"`)**"
        ),
        "{let_hover}"
    );
    let line_hover = hover("hover_line");
    assert!(
        line_hover.contains("quantity **15**, unit price **27.00 GBP**, amount **405.00 GBP**"),
        "{line_hover}"
    );
    let field_hover = hover("hover_field");
    assert!(
        field_hover.contains("seats assigned to users") && field_hover.contains("a whole number"),
        "{field_hover}"
    );
    let sku_hover = hover("hover_sku");
    assert!(
        sku_hover.contains("**Microsoft 365 Business Premium**"),
        "{sku_hover}"
    );

    // Completion after `bp.`: the subscribed SKU's fields, with their types.
    let items = results["completion"].as_array().unwrap();
    let assigned = items
        .iter()
        .find(|i| i["label"] == "assigned")
        .unwrap_or_else(|| panic!("`assigned` is not offered: {items:?}"));
    assert_eq!(assigned["detail"], "a whole number");
    assert!(
        items
            .iter()
            .any(|i| i["label"] == "cost" && i["detail"] == "money in the customer's currency")
    );
    assert!(!items.iter().any(|i| i["label"] == "upn"), "no user fields");

    // Definition of `staff` in `count(staff)`: its `let`.
    let definition = &results["definition"];
    assert!(
        definition["uri"]
            .as_str()
            .unwrap()
            .ends_with("/mistakes.tally")
    );
    assert_eq!(range(definition), [7, 4, 7, 9]);

    // Rename `staff` → `team`, applied by Neovim: the definition and its use.
    let renamed: Vec<&str> = results["renamed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        renamed[7].starts_with("let team = m365.users"),
        "{renamed:?}"
    );
    assert!(
        renamed[10].starts_with("support qty = count(team)"),
        "{renamed:?}"
    );
    assert!(!renamed.iter().any(|l| l.contains("staff")), "{renamed:?}");

    // The quick fix for the typo, applied by Neovim.
    let actions = results["actions"].as_array().unwrap();
    assert_eq!(actions[0]["title"], "replace with `department`");
    assert_eq!(actions[0]["kind"], "quickfix");
    assert_eq!(
        results["quick_fixed"],
        "let team = m365.users where enabled and department == \"Sales\""
    );

    // `tally-fmt` behind the server's formatting, applied by Neovim.
    assert_eq!(results["formatting"], json!(true));
    assert_eq!(
        results["formatted"],
        "let team = m365.users where enabled and department == \"Sales\""
    );
}

fn frames(messages: &[Value]) -> Vec<u8> {
    messages
        .iter()
        .map(|m| {
            let body = m.to_string();
            format!("Content-Length: {}\r\n\r\n{body}", body.len())
        })
        .collect::<String>()
        .into_bytes()
}

/// `tally lsp` over real stdio: silent on stderr unless asked, exit code 0 after `shutdown` and
/// `exit`, 1 after `exit` alone.
#[test]
fn tally_lsp_over_stdio_logs_only_when_asked() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let root = format!("file://{}", dir.path().display());
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"processId": null, "rootUri": root, "capabilities": {}}});
    let initialized = json!({"jsonrpc": "2.0", "method": "initialized", "params": {}});
    let shutdown = json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"});
    let exit = json!({"jsonrpc": "2.0", "method": "exit"});
    let run = |args: &[&str], env: Option<&str>, messages: &[Value]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
        command
            .args(args)
            .current_dir(dir.path())
            .env_remove("TALLY_LSP_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(value) = env {
            command.env("TALLY_LSP_LOG", value);
        }
        let mut child = command.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&frames(messages))
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let all = [
        initialize.clone(),
        initialized.clone(),
        shutdown,
        exit.clone(),
    ];

    let quiet = run(&["lsp"], None, &all);
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    let stdout = String::from_utf8_lossy(&quiet.stdout);
    assert!(stdout.starts_with("Content-Length: "), "{stdout}");
    assert!(stdout.contains("\"name\":\"tally-lsp\""), "{stdout}");

    for (args, env) in [(&["lsp", "--log"][..], None), (&["lsp"][..], Some("1"))] {
        let logged = run(args, env, &all);
        assert_eq!(logged.status.code(), Some(0));
        let stderr = String::from_utf8_lossy(&logged.stderr);
        assert!(stderr.contains("tally-lsp: serving "), "{stderr}");
        assert!(
            stderr.contains("tally-lsp: notification `initialized`"),
            "{stderr}"
        );
    }

    let abrupt = run(&["lsp"], None, &[initialize, initialized, exit]);
    assert_eq!(abrupt.status.code(), Some(1), "exit without shutdown");
    assert_eq!(String::from_utf8_lossy(&abrupt.stderr), "");
}
