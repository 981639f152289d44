//! Writing user-chosen files safely.

use lockbox_core::{Error, Result};
use std::path::Path;

/// Write to `path.partial`, fsync, then rename over `path`: a failure leaves no half file.
pub fn write_atomically<T>(
    path: &Path,
    f: impl FnOnce(&mut std::fs::File) -> Result<T>,
) -> Result<T> {
    let tmp = path.with_extension("partial");
    let mut file = std::fs::File::create(&tmp)
        .map_err(|e| Error::input(format!("cannot create {}: {e}", tmp.display())))?;
    let out = match f(&mut file) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    file.sync_all()
        .map_err(|e| Error::input(format!("cannot write {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| Error::input(format!("cannot write {}: {e}", path.display())))?;
    Ok(out)
}
