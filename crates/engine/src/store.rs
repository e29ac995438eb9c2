//! Metadata store: container records in redb (one table, id → JSON).
//!
//! Writes use `Durability::Eventual` — committed to the page cache, fsynced by the kernel
//! later. A crash of berthd loses nothing (the data is in the OS); a power cut can lose
//! the last few state changes, which restore reconciles with the shims anyway. An fsync
//! per state change would cost milliseconds on the `run` hot path.

use std::path::Path;

use redb::{Database, Durability, ReadableTable, TableDefinition};

use crate::error::{EngineError, Result};

const CONTAINERS: TableDefinition<&str, &[u8]> = TableDefinition::new("containers");

/// The redb database file `<data-root>/state.db`.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

fn db_err(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::internal(format!("state store: {what}: {e}"))
}

impl Store {
    /// Opens or creates the database.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path).map_err(|e| db_err("open", e))?;
        let tx = db.begin_write().map_err(|e| db_err("begin", e))?;
        tx.open_table(CONTAINERS)
            .map_err(|e| db_err("open table", e))?;
        tx.commit().map_err(|e| db_err("commit", e))?;
        Ok(Self { db })
    }

    /// Inserts or replaces a record.
    pub fn put(&self, id: &str, value: &[u8]) -> Result<()> {
        let mut tx = self.db.begin_write().map_err(|e| db_err("begin", e))?;
        tx.set_durability(Durability::Eventual);
        {
            let mut t = tx
                .open_table(CONTAINERS)
                .map_err(|e| db_err("open table", e))?;
            t.insert(id, value).map_err(|e| db_err("insert", e))?;
        }
        tx.commit().map_err(|e| db_err("commit", e))
    }

    /// Removes a record (no error if absent).
    pub fn delete(&self, id: &str) -> Result<()> {
        let mut tx = self.db.begin_write().map_err(|e| db_err("begin", e))?;
        tx.set_durability(Durability::Eventual);
        {
            let mut t = tx
                .open_table(CONTAINERS)
                .map_err(|e| db_err("open table", e))?;
            t.remove(id).map_err(|e| db_err("remove", e))?;
        }
        tx.commit().map_err(|e| db_err("commit", e))
    }

    /// Every record.
    pub fn all(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let tx = self.db.begin_read().map_err(|e| db_err("begin", e))?;
        let t = tx
            .open_table(CONTAINERS)
            .map_err(|e| db_err("open table", e))?;
        let mut out = Vec::new();
        for item in t.iter().map_err(|e| db_err("iterate", e))? {
            let (k, v) = item.map_err(|e| db_err("read", e))?;
            out.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_delete_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let s = Store::open(&path).unwrap();
            s.put("a", b"1").unwrap();
            s.put("b", b"2").unwrap();
            s.put("a", b"3").unwrap();
            s.delete("b").unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.all().unwrap(), vec![("a".to_string(), b"3".to_vec())]);
    }
}
