//! Writing results: files whole or not at all, standard output without panicking on a closed
//! pipe (`tally plan | head`).

use crate::exit::Failure;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prints to standard output. A reader that went away (a closed pipe) is not an error: the
/// command stops quietly, as Unix tools do.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Usage(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}

/// Writes `text` to `path` whole or not at all: into a new temporary file beside the target
/// (a unique name per run, so concurrent writers never share one), flushed to disk, then
/// renamed over it. A symbolic link is followed and its target replaced the same way; the
/// target's permissions are kept, and a new file gets the usual ones. Devices and pipes (`-o /dev/null`) are written through,
/// since renaming over them would replace the device itself. On any failure the temporary
/// file is removed and the target is untouched.
pub(crate) fn write_whole(path: &Path, text: &str) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::Usage(format!("cannot write `{}`: {e}", path.display()));
    let target = resolve_links(path).map_err(io)?;
    let existing = std::fs::metadata(&target).ok();
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        return std::fs::write(&target, text).map_err(io);
    }
    let directory = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tally-tmp");
    // A temporary file is private (0600), but a new output is an ordinary file: created as
    // `std::fs::write` would create it, 0666 less the umask.
    #[cfg(unix)]
    if existing.is_none() {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temporary = builder.tempfile_in(&directory).map_err(io)?;
    temporary.write_all(text.as_bytes()).map_err(io)?;
    if let Some(metadata) = &existing {
        temporary
            .as_file()
            .set_permissions(metadata.permissions())
            .map_err(io)?;
    }
    temporary.as_file().sync_all().map_err(io)?;
    temporary.persist(&target).map_err(|e| io(e.error))?;
    Ok(())
}

/// The file a path finally names, following symbolic links (a dangling link names the file
/// it would create).
fn resolve_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // A cycle of links is an error, as the operating system would say.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}
