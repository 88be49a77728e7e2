//! Whether the store is still the database the keeper opened.
//!
//! A SQLite file removed or replaced while a keeper runs does not make its writes fail: the open
//! connections go on writing to the unlinked file, and everything recorded from then on is gone at
//! the next start — among it the receipts the keeper signed. A restarted keeper that then signs a
//! different receipt for one of those executions equivocates, and loses its bond. [`Store::check`]
//! notices, so that the node can stop at once instead of working on into a file nobody will read.

use std::{
    path::{Path, PathBuf},
    str::FromStr,
};

use crate::{Store, StoreError};

/// The SQLite file a store opened, and which file it was.
#[derive(Clone, Debug)]
pub(crate) struct OpenedFile {
    path: PathBuf,
    identity: Identity,
}

/// What tells two files at one path apart: a file removed and created again, or renamed over,
/// is another inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Identity {
    device: u64,
    inode: u64,
}

impl Identity {
    #[cfg(unix)]
    fn of(metadata: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            device: metadata.dev(),
            inode: metadata.ino(),
        }
    }

    #[cfg(not(unix))]
    fn of(_: &std::fs::Metadata) -> Self {
        // Without inodes only a removal is noticed.
        Self {
            device: 0,
            inode: 0,
        }
    }
}

impl OpenedFile {
    /// The file a `sqlite:` URL names, once opened; `None` for an in-memory database (or a URL
    /// that names no file on disk).
    pub(crate) fn of(url: &str) -> Option<Self> {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
        let path = options.get_filename().to_path_buf();
        let metadata = std::fs::metadata(&path).ok()?;
        Some(Self {
            identity: Identity::of(&metadata),
            path,
        })
    }

    /// Why the file at the path is no longer the one opened, if it is not.
    fn changed(&self) -> Option<String> {
        match std::fs::metadata(&self.path) {
            Ok(metadata) if Identity::of(&metadata) == self.identity => None,
            Ok(_) => Some("was replaced by another file".into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("was removed".into()),
            Err(e) => Some(format!("can no longer be read ({e})")),
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Store {
    /// Whether the store still works and is still the database it opened: a query round trip,
    /// and for SQLite, that the file at its path is the file opened. A
    /// [`StoreError::Gone`] is for good: what the store writes from then on is lost.
    pub async fn check(&self) -> Result<(), StoreError> {
        if let Some(file) = &self.file
            && let Some(what) = file.changed()
        {
            return Err(StoreError::Gone {
                path: file.path().to_path_buf(),
                what,
            });
        }
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
