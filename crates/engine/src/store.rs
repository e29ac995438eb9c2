//! Metadata store: container and network records in redb (one table each, id → JSON).
//!
//! Writes go through one writer thread, in order, and are batched: every change queued
//! while a commit runs goes into the next transaction. Callers never wait for the disk,
//! so no fsync sits on the `run` hot path (redb's `Durability::Eventual` still syncs
//! once per commit), and bursts of changes cost one commit. A berthd killed in the
//! instant between a change and its commit loses that change; restore reconciles it
//! (container/restore.rs: a live shim or an exit record makes a `created` record
//! running or exited, a record whose directory `rm` already moved away is dropped),
//! and [`Store::flush`] is called on clean shutdown.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

use redb::{Database, Durability, ReadableTable, TableDefinition};

use crate::error::{EngineError, Result};

/// The tables of `state.db`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Container records.
    Containers,
    /// User-defined network records.
    Networks,
}

impl Table {
    const ALL: [Table; 2] = [Table::Containers, Table::Networks];

    fn def(self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        TableDefinition::new(match self {
            Table::Containers => "containers",
            Table::Networks => "networks",
        })
    }
}

/// Turns a value into its stored bytes on the writer thread.
type Encoder = Box<dyn FnOnce() -> std::result::Result<Vec<u8>, String> + Send>;

enum Op {
    Put(Table, String, Vec<u8>),
    /// Like `Put`, encoded by the writer: the caller's thread (a request, or the exit
    /// path `run --rm` waits on) does not spend the ~0.1 ms of JSON encoding.
    PutEncoded(Table, String, Encoder),
    Delete(Table, String),
    Flush(mpsc::SyncSender<()>),
}

/// The redb database file `<data-root>/state.db` and its writer thread.
#[derive(Debug)]
pub struct Store {
    db: Arc<Database>,
    tx: Option<mpsc::Sender<Op>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Store {
    /// Closes the queue and waits for the writer, so pending changes are committed and
    /// the database file is unlocked when the store is gone.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Op")
    }
}

fn db_err(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::internal(format!("state store: {what}: {e}"))
}

/// Applies a batch in one transaction.
fn commit(db: &Database, ops: Vec<Op>) -> Result<()> {
    let mut tx = db.begin_write().map_err(|e| db_err("begin", e))?;
    tx.set_durability(Durability::Eventual);
    for op in ops {
        let op = match op {
            Op::PutEncoded(table, id, encode) => match encode() {
                Ok(v) => Op::Put(table, id, v),
                Err(e) => {
                    eprintln!("berthd: state store: encode {id}: {e}");
                    continue;
                }
            },
            op => op,
        };
        match &op {
            Op::Put(table, id, v) => {
                let mut t = tx
                    .open_table(table.def())
                    .map_err(|e| db_err("open table", e))?;
                t.insert(id.as_str(), v.as_slice())
                    .map_err(|e| db_err("insert", e))?;
            }
            Op::Delete(table, id) => {
                let mut t = tx
                    .open_table(table.def())
                    .map_err(|e| db_err("open table", e))?;
                t.remove(id.as_str()).map_err(|e| db_err("remove", e))?;
            }
            Op::PutEncoded(..) | Op::Flush(_) => {}
        }
    }
    tx.commit().map_err(|e| db_err("commit", e))
}

fn writer(db: Arc<Database>, rx: mpsc::Receiver<Op>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let (flushes, changes): (Vec<Op>, Vec<Op>) =
            batch.into_iter().partition(|o| matches!(o, Op::Flush(_)));
        if !changes.is_empty() {
            if let Err(e) = commit(&db, changes) {
                eprintln!("berthd: {e}");
            }
        }
        for op in flushes {
            if let Op::Flush(done) = op {
                let _ = done.send(());
            }
        }
    }
}

impl Store {
    /// Opens or creates the database and starts its writer thread.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path).map_err(|e| db_err("open", e))?;
        let tx = db.begin_write().map_err(|e| db_err("begin", e))?;
        for table in Table::ALL {
            tx.open_table(table.def())
                .map_err(|e| db_err("open table", e))?;
        }
        tx.commit().map_err(|e| db_err("commit", e))?;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel();
        let for_writer = db.clone();
        let writer = std::thread::Builder::new()
            .name("state-writer".into())
            .spawn(move || writer(for_writer, rx))
            .map_err(|e| EngineError::io("spawn state writer", e))?;
        Ok(Self {
            db,
            tx: Some(tx),
            writer: Some(writer),
        })
    }

    fn send(&self, op: Op) -> Result<()> {
        self.tx
            .as_ref()
            .and_then(|tx| tx.send(op).ok())
            .ok_or_else(|| EngineError::internal("state store writer stopped"))
    }

    /// Queues an insert or replace of a container record.
    pub fn put(&self, id: &str, value: &[u8]) -> Result<()> {
        self.put_in(Table::Containers, id, value)
    }

    /// Queues an insert or replace of a container record that the writer thread encodes.
    pub fn put_encoded(
        &self,
        id: &str,
        encode: impl FnOnce() -> std::result::Result<Vec<u8>, String> + Send + 'static,
    ) -> Result<()> {
        self.send(Op::PutEncoded(
            Table::Containers,
            id.to_string(),
            Box::new(encode),
        ))
    }

    /// Queues the removal of a container record (no error if absent).
    pub fn delete(&self, id: &str) -> Result<()> {
        self.delete_in(Table::Containers, id)
    }

    /// Queues an insert or replace in `table`.
    pub fn put_in(&self, table: Table, id: &str, value: &[u8]) -> Result<()> {
        self.send(Op::Put(table, id.to_string(), value.to_vec()))
    }

    /// Queues a removal from `table` (no error if absent).
    pub fn delete_in(&self, table: Table, id: &str) -> Result<()> {
        self.send(Op::Delete(table, id.to_string()))
    }

    /// Waits until everything queued so far is committed.
    pub fn flush(&self) {
        let (done, wait) = mpsc::sync_channel(1);
        if self.send(Op::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    /// Every committed container record.
    pub fn all(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.all_in(Table::Containers)
    }

    /// Every committed record of `table`.
    pub fn all_in(&self, table: Table) -> Result<Vec<(String, Vec<u8>)>> {
        let tx = self.db.begin_read().map_err(|e| db_err("begin", e))?;
        let t = tx
            .open_table(table.def())
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
            s.put_in(Table::Networks, "n", b"net").unwrap();
            s.flush();
            assert_eq!(s.all().unwrap(), vec![("a".to_string(), b"3".to_vec())]);
        }
        // Dropping the store joined its writer, so the file is unlocked now.
        let s = Store::open(&path).unwrap();
        assert_eq!(s.all().unwrap(), vec![("a".to_string(), b"3".to_vec())]);
        assert_eq!(
            s.all_in(Table::Networks).unwrap(),
            vec![("n".to_string(), b"net".to_vec())]
        );
    }

    #[test]
    fn encoded_puts_keep_their_order_and_a_failed_encoding_skips_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).unwrap();
        s.put("a", b"1").unwrap();
        s.put_encoded("a", || Ok(b"2".to_vec())).unwrap();
        s.put_encoded("b", || Err("no".into())).unwrap();
        s.put_encoded("c", || Ok(b"3".to_vec())).unwrap();
        s.delete("c").unwrap();
        s.put_encoded("d", || Ok(b"4".to_vec())).unwrap();
        s.flush();
        assert_eq!(
            s.all().unwrap(),
            vec![
                ("a".to_string(), b"2".to_vec()),
                ("d".to_string(), b"4".to_vec())
            ]
        );
    }
}
