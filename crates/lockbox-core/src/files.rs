//! Writing a file whole or not at all: the one way Lockbox replaces a file
//! (audit exports, the receipt signing key, the app's preferences). The new
//! content goes to a temporary file in the same folder (tempfile), is synced
//! to disk, then renamed over the path: a reader sees the old file or the new
//! one, never half of one, and a failure leaves the old file as it was and no
//! temporary file behind.

use crate::{Error, Result};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// The mode of a file anyone may read unless the umask says otherwise (as
/// `File::create` makes it).
pub const MODE_DEFAULT: u32 = 0o666;
/// The mode of a secret (a signing key): its owner only.
pub const MODE_PRIVATE: u32 = 0o600;

/// A file being written beside `path`. [`commit`](Self::commit) puts it in
/// place; dropped uncommitted, it is removed.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// A new, empty temporary file in `path`'s folder, created with `mode`
    /// less the umask (on Unix), named `.NAME.XXXXXX.partial`.
    pub fn new(path: &Path, mode: u32) -> io::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix).suffix(".partial");
        #[cfg(unix)]
        b.permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
        #[cfg(not(unix))]
        let _ = mode;
        Ok(AtomicFile {
            tmp: b.tempfile_in(dir)?,
            path: path.to_path_buf(),
        })
    }

    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Sync the content to disk and rename it over the path.
    pub fn commit(self) -> io::Result<()> {
        self.tmp.as_file().sync_all()?;
        self.tmp.persist(&self.path).map(drop).map_err(|e| e.error)
    }

    /// Like [`commit`](Self::commit), but only if nothing is at the path yet:
    /// else `AlreadyExists`, and the path keeps what it has.
    pub fn commit_new(self) -> io::Result<()> {
        self.tmp.as_file().sync_all()?;
        self.tmp
            .persist_noclobber(&self.path)
            .map(drop)
            .map_err(|e| e.error)
    }
}

/// Write `path` (a file the user chose, such as an export) with `f`, whole or
/// not at all; created with [`MODE_DEFAULT`]. Errors name the path.
pub fn write_atomically<T>(path: &Path, f: impl FnOnce(&mut File) -> Result<T>) -> Result<T> {
    let mut file = AtomicFile::new(path, MODE_DEFAULT).map_err(|e| {
        Error::input(format!(
            "cannot create a file beside {}: {e}",
            path.display()
        ))
    })?;
    let out = f(file.file())?;
    file.commit()
        .map_err(|e| Error::input(format!("cannot write {}: {e}", path.display())))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_whole_or_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        let n = write_atomically(&path, |f| {
            f.write_all(b"new")?;
            Ok(3)
        })
        .unwrap();
        assert_eq!(
            (n, std::fs::read_to_string(&path).unwrap()),
            (3, "new".into())
        );
        // A failing writer: the old content stays and no temporary file is left.
        let err = write_atomically(&path, |f| -> Result<()> {
            f.write_all(b"half")?;
            Err(Error::input("the export failed"))
        })
        .unwrap_err();
        assert_eq!(err.message, "the export failed");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(listing(dir.path()), ["out.csv"]);
        // A folder that does not exist: named in the error.
        let missing = dir.path().join("nope/out.csv");
        let err = write_atomically(&missing, |_| Ok(())).unwrap_err();
        assert!(err.message.contains("nope/out.csv"), "{}", err.message);
    }

    #[test]
    fn commit_new_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let mut a = AtomicFile::new(&path, MODE_PRIVATE).unwrap();
        a.file().write_all(b"first").unwrap();
        a.commit_new().unwrap();
        let mut b = AtomicFile::new(&path, MODE_PRIVATE).unwrap();
        b.file().write_all(b"second").unwrap();
        let e = b.commit_new().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        assert_eq!(listing(dir.path()), ["k"]);
    }

    #[cfg(unix)]
    #[test]
    fn modes_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let key = dir.path().join("key");
        AtomicFile::new(&key, MODE_PRIVATE)
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(mode(&key), 0o600);
        // MODE_DEFAULT is what File::create gives under the same umask.
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        let export = dir.path().join("export");
        write_atomically(&export, |_| Ok(())).unwrap();
        assert_eq!(mode(&export), mode(&plain));
    }
}
