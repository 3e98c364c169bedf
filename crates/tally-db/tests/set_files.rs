//! `Database::set_files` does what `set_file` on each file in turn does.

use tally_db::Database;

#[test]
fn set_files_adds_and_replaces_as_set_file_does() {
    let mut db = Database::default();
    let old = db.set_file("a.tally", "let a = 1".to_string());
    let handles = db.set_files([
        (
            "b.tally".to_string(),
            "use \"a.tally\"\nlet b = a + 1".to_string(),
        ),
        ("a.tally".to_string(), "let a = 2".to_string()),
        ("c.tally".to_string(), "let c = missing".to_string()),
    ]);
    assert_eq!(handles.len(), 3);
    // An existing key keeps its handle and takes the new text.
    assert_eq!(handles[1], old);
    assert_eq!(old.text(&db), "let a = 2");
    // New files are in the workspace, and `use` resolves against them.
    assert_eq!(db.file("b.tally"), Some(handles[0]));
    assert_eq!(db.file("c.tally"), Some(handles[2]));
    assert!(tally_db::diagnostics(&db, handles[0]).is_empty());
    let unknown = tally_db::diagnostics(&db, handles[2]);
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    // Setting the same files again changes nothing.
    let again = db.set_files([("c.tally".to_string(), "let c = missing".to_string())]);
    assert_eq!(again, [handles[2]]);
}
