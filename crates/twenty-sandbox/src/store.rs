//! The SQLite store: one table per object holding each record as JSON,
//! one writer connection that serializes every write, and a few reader
//! connections for file stores (WAL lets them read while the writer works).
//!
//! Every call blocks; callers run it on tokio's blocking pool.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use twenty_core::{Catalog, FieldType, Object};

use crate::error::AppResult;
use crate::{SandboxError, Storage};

/// Readers for a file store; two cores make more pointless.
const READERS: usize = 4;

pub(crate) struct Db {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
    /// Expression indexes already created, as `table|path`.
    indexed: Mutex<HashSet<String>>,
}

/// The table of an object's records.
pub(crate) fn table(object: &Object) -> String {
    format!("\"rec_{}\"", object.singular.replace('"', ""))
}

/// The SQL expression reading `field` (and `sub`) out of a record. Index
/// expressions must be written exactly the same way to be used, so every
/// query builds it here.
pub(crate) fn json_expr(field: &str, sub: Option<&str>) -> String {
    if field == "id" && sub.is_none() {
        return "id".to_string();
    }
    let clean = |s: &str| s.replace(['\'', '"', '\\'], "");
    match sub {
        Some(sub) => format!(
            "json_extract(data, '$.\"{}\".\"{}\"')",
            clean(field),
            clean(sub)
        ),
        None => format!("json_extract(data, '$.\"{}\"')", clean(field)),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a connection leaves it usable: SQLite rolls an
    // unfinished transaction back when the next one begins.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32000; PRAGMA temp_store = MEMORY;",
    )
}

impl Db {
    pub(crate) fn open(storage: &Storage, catalog: &Catalog) -> Result<Db, SandboxError> {
        let label = match storage {
            Storage::Memory => "memory".to_string(),
            Storage::File(p) => p.display().to_string(),
        };
        let fail = |source| SandboxError::Database {
            path: label.clone(),
            source,
        };

        let (writer, readers) = match storage {
            Storage::Memory => (Connection::open_in_memory().map_err(fail)?, Vec::new()),
            Storage::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    // A missing directory surfaces as SQLite's open error.
                    let _ = std::fs::create_dir_all(dir);
                }
                let writer = Connection::open(path).map_err(fail)?;
                writer
                    .pragma_update(None, "journal_mode", "WAL")
                    .map_err(fail)?;
                let mut readers = Vec::new();
                for _ in 0..READERS {
                    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI;
                    readers.push(Connection::open_with_flags(path, flags).map_err(fail)?);
                }
                (writer, readers)
            }
        };
        configure(&writer).map_err(fail)?;
        for r in &readers {
            configure(r).map_err(fail)?;
        }

        create_schema(&writer, catalog).map_err(fail)?;
        Ok(Db {
            writer: Mutex::new(writer),
            readers: readers.into_iter().map(Mutex::new).collect(),
            next: AtomicUsize::new(0),
            indexed: Mutex::new(HashSet::new()),
        })
    }

    /// Runs `f` on a reader connection (the writer for memory stores).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Connection) -> AppResult<R>) -> AppResult<R> {
        if self.readers.is_empty() {
            return f(&lock(&self.writer));
        }
        for r in &self.readers {
            if let Ok(conn) = r.try_lock() {
                return f(&conn);
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        f(&lock(&self.readers[i]))
    }

    /// Runs `f` in one immediate transaction on the writer, committing when
    /// it succeeds and rolling back when it fails.
    pub(crate) fn write<R>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> AppResult<R>,
    ) -> AppResult<R> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Makes sure an index exists on `field.sub` of `object`, so that filters
    /// and sort keys on it stay fast on large tables. Created on first use
    /// rather than up front because most fields are never filtered on.
    pub(crate) fn ensure_index(
        &self,
        object: &Object,
        field: &str,
        sub: Option<&str>,
    ) -> AppResult<()> {
        if field == "id" {
            return Ok(());
        }
        let key = format!("{}|{}|{}", object.singular, field, sub.unwrap_or(""));
        if lock(&self.indexed).contains(&key) {
            return Ok(());
        }
        let name = format!(
            "\"idx_{}_{}_{}\"",
            object.singular,
            field,
            sub.unwrap_or("")
        )
        .replace(['\'', '\\'], "");
        let sql = format!(
            "CREATE INDEX IF NOT EXISTS {name} ON {} ({}, id)",
            table(object),
            json_expr(field, sub)
        );
        lock(&self.writer).execute_batch(&sql)?;
        lock(&self.indexed).insert(key);
        Ok(())
    }
}

fn create_schema(conn: &Connection, catalog: &Catalog) -> rusqlite::Result<()> {
    let mut sql = String::from("BEGIN;");
    for object in &catalog.objects {
        let t = table(object);
        sql.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {t} (id TEXT PRIMARY KEY, deleted_at TEXT, data TEXT NOT NULL);"
        ));
        // Every list reads live records in id order after a cursor, and
        // counts them: with `id` in the index the page is a range scan and
        // the count never reads a record. An index on `deleted_at` alone,
        // which stores of earlier versions have, made SQLite sort every
        // live record for each page (28 ms a page at 100,000 people).
        let singular = object.singular.replace(['"', '\''], "");
        sql.push_str(&format!(
            "DROP INDEX IF EXISTS \"idx_{singular}_deleted_at\";\
             CREATE INDEX IF NOT EXISTS \"idx_{singular}_live\" ON {t} (deleted_at, id);"
        ));
        // Relation id fields are what depth expansion and delete cascades
        // look records up by.
        for field in &object.fields {
            if let FieldType::RelationId { .. } = field.kind {
                sql.push_str(&format!(
                    "CREATE INDEX IF NOT EXISTS \"idx_{}_{}_\" ON {t} ({}, id);",
                    object.singular,
                    field.name.replace(['"', '\''], ""),
                    json_expr(&field.name, None)
                ));
            }
        }
    }
    sql.push_str("COMMIT;");
    conn.execute_batch(&sql)
}

/// Whether every table of the catalog is empty.
pub(crate) fn is_empty(conn: &Connection, catalog: &Catalog) -> AppResult<bool> {
    for object in &catalog.objects {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", table(object));
        let any: bool = conn.query_row(&sql, [], |r| r.get(0))?;
        if any {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The stored JSON text of one record, soft-deleted ones included when
/// `with_deleted`.
pub(crate) fn get_text(
    conn: &Connection,
    object: &Object,
    id: &str,
    with_deleted: bool,
) -> AppResult<Option<String>> {
    let sql = if with_deleted {
        format!("SELECT data FROM {} WHERE id = ?1", table(object))
    } else {
        format!(
            "SELECT data FROM {} WHERE id = ?1 AND deleted_at IS NULL",
            table(object)
        )
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(row) => Ok(Some(row.get(0)?)),
        None => Ok(None),
    }
}

/// Inserts a new record.
pub(crate) fn insert(conn: &Connection, object: &Object, id: &str, data: &str) -> AppResult<()> {
    let sql = format!(
        "INSERT INTO {} (id, deleted_at, data) VALUES (?1, json_extract(?2, '$.deletedAt'), ?2)",
        table(object)
    );
    conn.prepare_cached(&sql)?.execute((id, data))?;
    Ok(())
}

/// Replaces a record's JSON, keeping the `deleted_at` column in step.
pub(crate) fn replace(conn: &Connection, object: &Object, id: &str, data: &str) -> AppResult<()> {
    let sql = format!(
        "UPDATE {} SET data = ?2, deleted_at = json_extract(?2, '$.deletedAt') WHERE id = ?1",
        table(object)
    );
    conn.prepare_cached(&sql)?.execute((id, data))?;
    Ok(())
}

/// Removes a record for good.
pub(crate) fn remove(conn: &Connection, object: &Object, id: &str) -> AppResult<()> {
    let sql = format!("DELETE FROM {} WHERE id = ?1", table(object));
    conn.prepare_cached(&sql)?.execute([id])?;
    Ok(())
}

/// Whether a record with this id exists, soft-deleted or not.
pub(crate) fn exists(conn: &Connection, object: &Object, id: &str) -> AppResult<bool> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE id = ?1)",
        table(object)
    );
    Ok(conn.prepare_cached(&sql)?.query_row([id], |r| r.get(0))?)
}
