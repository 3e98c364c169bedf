//! The binary under stress: many writers to one output, `kill -9` in the middle of a write, a
//! write that runs out of room (`ulimit -f`), and tens of thousands of diagnostics. Each test
//! asserts what the files and the output contain afterwards; none times anything.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const TALLY: &str = env!("CARGO_BIN_EXE_tally");

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tally() -> Command {
    let mut command = Command::new(TALLY);
    command.current_dir(workspace()).env("NO_COLOR", "1");
    command
}

/// Files in `dir` other than `keep`: temporary files a writer left behind.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn plan_args(output: &Path) -> Vec<String> {
    [
        "plan",
        "examples/small-business/small.tally",
        "--snapshot",
        "examples/small-business/snapshot.json",
        "--format",
        "json",
        "-o",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([output.display().to_string()])
    .collect()
}

#[test]
fn twenty_concurrent_writers_of_one_plan_leave_one_complete_plan_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("same.json");
    let expected = tally()
        .args(plan_args(&dir.path().join("reference.json")))
        .status()
        .unwrap();
    assert!(expected.success());
    let reference = fs::read(dir.path().join("reference.json")).unwrap();
    fs::remove_file(dir.path().join("reference.json")).unwrap();
    assert!(tally_plan::from_json(std::str::from_utf8(&reference).unwrap()).is_ok());
    for round in 0..50 {
        let writers: Vec<_> = (0..20)
            .map(|_| {
                tally()
                    .args(plan_args(&out))
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for writer in writers {
            let output = writer.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "round {round}: a writer failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert_eq!(
            fs::read(&out).unwrap(),
            reference,
            "round {round}: the plan is not one whole plan"
        );
        assert_eq!(leftovers(dir.path(), &["same.json"]), Vec::<String>::new());
    }
}

/// A usage export of `rows` rows, each its own aggregate (a resource group per row), so the
/// snapshot is large and the import takes long enough to be killed in the middle.
#[test]
fn a_new_output_has_the_mode_of_any_new_file_not_the_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new.json");
    // The umask set here, so the expected mode does not depend on the machine's.
    let args: Vec<String> = plan_args(&out).iter().map(|a| format!("'{a}'")).collect();
    let status = Command::new("sh")
        .current_dir(workspace())
        .arg("-c")
        .arg(format!("umask 027; exec '{TALLY}' {}", args.join(" ")))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(mode(&out), 0o640);
}

fn big_usage(dir: &Path, rows: usize) -> PathBuf {
    let example = fs::read_to_string(workspace().join("examples/imports/usage.csv")).unwrap();
    let mut lines = example.lines();
    let header = lines.next().unwrap();
    let row = lines.next().unwrap();
    assert!(row.contains(",rg-epos,"));
    let mut text = String::with_capacity(rows * (row.len() + 8));
    text.push_str(header);
    text.push('\n');
    for i in 0..rows {
        text.push_str(&row.replace(",rg-epos,", &format!(",rg-{i},")));
        text.push('\n');
    }
    let path = dir.join("usage.csv");
    fs::write(&path, text).unwrap();
    path
}

fn import_command(usage: &Path, output: &Path) -> Command {
    let mut command = tally();
    command
        .args(["import", "--period", "2026-10", "--usage"])
        .arg(usage)
        .arg("-o")
        .arg(output)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

const OLD: &str = "{\"old\": \"content\"}\n";

/// The target after a killed or failed write: the old content, or (when the write finished
/// first) a whole snapshot; either way with the mode it had.
fn old_or_whole(target: &Path) -> bool {
    assert_eq!(mode(target), 0o600, "the mode changed");
    let text = fs::read_to_string(target).unwrap();
    if text == OLD {
        return true;
    }
    let snapshot = tally_snapshot::from_json(&text);
    assert!(snapshot.is_ok(), "a damaged output: {} bytes", text.len());
    false
}

#[test]
fn kill_9_in_the_middle_of_an_import_leaves_the_old_file_also_through_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let usage = big_usage(dir.path(), 20_000);
    let real = dir.path().join("real.json");
    let link = dir.path().join("link.json");
    symlink("real.json", &link).unwrap();
    let mut killed_while_writing = 0;
    let mut killed_with_old_content = 0;
    for attempt in 0..4 {
        let (written, named) = if attempt % 2 == 0 {
            (real.clone(), real.clone())
        } else {
            (real.clone(), link.clone())
        };
        fs::write(&written, OLD).unwrap();
        fs::set_permissions(&written, fs::Permissions::from_mode(0o600)).unwrap();
        let mut child = import_command(&usage, &named).spawn().unwrap();
        // Kill as soon as the temporary file appears (the write has begun), or after a while.
        let mut saw_temporary = false;
        for _ in 0..20_000 {
            if !leftovers(dir.path(), &["usage.csv", "real.json", "link.json"]).is_empty() {
                saw_temporary = true;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        child.kill().ok();
        let status = child.wait().unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let old = old_or_whole(&written);
        if saw_temporary && !status.success() {
            killed_while_writing += 1;
        }
        if old {
            killed_with_old_content += 1;
        }
        // A killed process cannot remove its temporary file; only ever a temporary one.
        for name in leftovers(dir.path(), &["usage.csv", "real.json", "link.json"]) {
            assert!(name.ends_with(".tally-tmp"), "{name}");
            fs::remove_file(dir.path().join(name)).unwrap();
        }
    }
    assert!(
        killed_with_old_content > 0,
        "no import was killed before it finished: make the usage file larger"
    );
    // Whether a kill lands inside the write itself depends on the machine; when it does, the
    // old content is still what the target holds (checked above).
    eprintln!("{killed_while_writing} of 4 kills landed while the output was being written");
}

#[test]
fn a_write_past_the_file_size_limit_fails_clearly_and_leaves_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let usage = big_usage(dir.path(), 2_000);
    let real = dir.path().join("real.json");
    let link = dir.path().join("link.json");
    symlink("real.json", &link).unwrap();
    for named in [&real, &link] {
        fs::write(&real, OLD).unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
        // 64 blocks (32 or 64 KiB, by the shell's unit) is far less than the snapshot.
        let output = Command::new("sh")
            .current_dir(workspace())
            .arg("-c")
            .arg("ulimit -f 64; exec \"$0\" \"$@\"")
            .arg(TALLY)
            .args(["import", "--period", "2026-10", "--usage"])
            .arg(&usage)
            .arg("-o")
            .arg(named)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
        assert!(
            stderr.contains("cannot write") && stderr.contains("too large"),
            "{stderr}"
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), OLD);
        assert_eq!(mode(&real), 0o600);
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            leftovers(dir.path(), &["usage.csv", "real.json", "link.json"]),
            Vec::<String>::new()
        );
    }
}

/// A customer file with an unknown name on each of `lines` lines.
fn an_error_on_every_line(dir: &Path, lines: usize) -> PathBuf {
    let mut text =
        String::from("customer \"Many\" {\n  tenant \"many.onmicrosoft.com\"\n  currency GBP\n}\n");
    for i in 0..lines {
        text.push_str(&format!("line{i} qty = missing{i} price 1.00\n"));
    }
    let path = dir.join(format!("errors-{lines}.tally"));
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_reports_every_one_of_ten_and_twenty_thousand_errors() {
    let dir = tempfile::tempdir().unwrap();
    for lines in [10_000, 20_000] {
        let file = an_error_on_every_line(dir.path(), lines);
        let human = tally().arg("check").arg(&file).output().unwrap();
        assert_eq!(human.status.code(), Some(1));
        let stderr = String::from_utf8(human.stderr).unwrap();
        // The first problems are drawn with their source, the rest cited one per line, then
        // a count: every one of them is named.
        for i in [0, 99, 100, lines / 2, lines - 1] {
            assert!(
                stderr.contains(&format!("`missing{i}`")),
                "missing{i} is not reported"
            );
        }
        assert_eq!(stderr.matches("T0101").count(), lines, "one T0101 per line");
        assert!(stderr.contains(&format!("{lines} problems, the first 100 shown in full")));
        let json = tally()
            .arg("check")
            .arg(&file)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(json.status.code(), Some(1));
        let all: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let all = all.as_array().unwrap();
        assert_eq!(all.len(), lines);
        for (i, d) in all.iter().enumerate() {
            assert_eq!(d["code"], "T0101");
            assert_eq!(d["line"], i + 5, "{d}");
        }
    }
}
