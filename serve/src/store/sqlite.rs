//! The default [`Store`]: one SQLite file in WAL mode, `synchronous = FULL` (a commit
//! survives a power cut, not only a crash). Every table is keyed by a sequence number
//! the daemon assigns, so writes append to the right edge of each B-tree.
//!
//! The snapshot lives beside the database, in `<db>.snapshot`, replaced atomically
//! (write, fsync, rename): writing tens of megabytes into the database would hold its
//! write lock, and every commit, for as long. It is only a shortcut: without it the
//! state is rebuilt from the whole log.

use super::{
    Batch, DeadLetter, Delivery, EffectRow, Heads, Input, InputKind, OutboxCounts, Pending,
    SendRow, Snapshot, Store,
};
use crate::ServeError;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The schema, one script per version; `PRAGMA user_version` says how many have run.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE inputs (
    seq  INTEGER PRIMARY KEY,
    at   INTEGER NOT NULL,          -- microseconds since the Unix epoch, UTC
    kind INTEGER NOT NULL,          -- 0 user, 1 event, 2 clock
    key  TEXT,                      -- the event's or user's id
    body TEXT NOT NULL
);
CREATE TABLE effects (
    seq   INTEGER PRIMARY KEY,
    input INTEGER NOT NULL,
    kind  TEXT NOT NULL,
    user  TEXT,
    body  TEXT NOT NULL
);
CREATE VIEW ledger AS
    SELECT seq, input, kind, user,
           json_extract(body, '$.reward') AS reward,
           json_extract(body, '$.cause')  AS cause,
           json_extract(body, '$.event')  AS event,
           json_extract(body, '$.drawn')  AS drawn,
           json_extract(body, '$.reason') AS reason,
           json_extract(body, '$.at')     AS at
    FROM effects WHERE kind IN ('grant', 'deny');
CREATE TABLE outbox (
    seq      INTEGER PRIMARY KEY,       -- the send effect's seq
    key      TEXT NOT NULL,
    body     TEXT NOT NULL,
    status   INTEGER NOT NULL DEFAULT 0, -- 0 pending, 1 delivered, 2 dead
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at  INTEGER NOT NULL DEFAULT 0,
    error    TEXT
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE status = 0;
CREATE INDEX outbox_dead ON outbox (seq) WHERE status = 2;
"#];

/// A campaign's store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    snapshot: PathBuf,
}

fn err(e: rusqlite::Error) -> ServeError {
    ServeError::Store(e.to_string())
}

fn snapshot_error(path: &Path, e: &std::io::Error) -> ServeError {
    ServeError::Store(format!("snapshot {}: {e}", path.display()))
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(m: i64) -> Result<DateTime<Utc>, ServeError> {
    DateTime::from_timestamp_micros(m)
        .ok_or_else(|| ServeError::Store(format!("a stored time out of range: {m}")))
}

fn seq(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn sql_seq(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Opens (creating if missing) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, ServeError> {
        let conn = Connection::open(path).map_err(|e| {
            ServeError::Store(format!("cannot open the store {}: {e}", path.display()))
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(ServeError::Store(format!(
                "{} cannot use write-ahead logging (journal mode {mode})",
                path.display()
            )));
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;")
            .map_err(err)?;
        let mut name = path.as_os_str().to_owned();
        name.push(".snapshot");
        let mut store = SqliteStore {
            conn,
            snapshot: PathBuf::from(name),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Leaves checkpoints to [`Store::checkpoint`] on another connection: a commit on
    /// this one then never stops to copy the log into the database.
    pub fn without_autocheckpoint(self) -> Result<SqliteStore, ServeError> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(err)?;
        Ok(self)
    }

    fn migrate(&mut self) -> Result<(), ServeError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        let done = usize::try_from(version).unwrap_or(usize::MAX);
        if done > MIGRATIONS.len() {
            return Err(ServeError::Store(format!(
                "the store has schema version {version}; this camp knows up to {}: use a newer camp",
                MIGRATIONS.len()
            )));
        }
        for (i, script) in MIGRATIONS.iter().enumerate().skip(done) {
            let tx = self.conn.transaction().map_err(err)?;
            tx.execute_batch(script).map_err(err)?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(i + 1).unwrap_or(i64::MAX),
            )
            .map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, ServeError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(err)
    }
}

fn insert_input(tx: &rusqlite::Transaction<'_>, i: &Input) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO inputs (seq, at, kind, key, body) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![
            sql_seq(i.seq),
            micros(i.at),
            i.kind.code(),
            i.key,
            i.body
        ])?;
    Ok(())
}

fn insert_effect(tx: &rusqlite::Transaction<'_>, e: &EffectRow) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO effects (seq, input, kind, user, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        sql_seq(e.seq),
        sql_seq(e.input),
        e.kind,
        e.user,
        e.body
    ])?;
    Ok(())
}

fn insert_send(tx: &rusqlite::Transaction<'_>, s: &SendRow) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO outbox (seq, key, body) VALUES (?1, ?2, ?3)")?
        .execute(params![sql_seq(s.seq), s.key, s.body])?;
    Ok(())
}

impl Store for SqliteStore {
    fn bind(&mut self, plan_hash: &str, campaign: &str) -> Result<(), ServeError> {
        match self.meta("plan_hash")? {
            Some(h) if h == plan_hash => Ok(()),
            Some(h) => Err(ServeError::Store(format!(
                "this store belongs to another version of the campaign (plan {h}, not {plan_hash}); \
                 a running campaign's plan cannot change under its store: use a new --db"
            ))),
            None => {
                let tx = self.conn.transaction().map_err(err)?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('plan_hash', ?1), ('campaign', ?2)",
                    params![plan_hash, campaign],
                )
                .map_err(err)?;
                tx.commit().map_err(err)
            }
        }
    }

    fn heads(&mut self) -> Result<Heads, ServeError> {
        let max = |table: &str| -> Result<u64, ServeError> {
            self.conn
                .query_row(
                    &format!("SELECT coalesce(max(seq), 0) FROM {table}"),
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map(seq)
                .map_err(err)
        };
        Ok(Heads {
            input: max("inputs")?,
            effect: max("effects")?,
        })
    }

    fn snapshot(&mut self) -> Result<Option<Snapshot>, ServeError> {
        let bytes = match std::fs::read(&self.snapshot) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(snapshot_error(&self.snapshot, &e)),
        };
        let (head, state) = bytes.split_at_checked(8).ok_or_else(|| {
            ServeError::Store(format!("{} is truncated", self.snapshot.display()))
        })?;
        let mut seq = [0u8; 8];
        seq.copy_from_slice(head);
        Ok(Some(Snapshot {
            input: u64::from_le_bytes(seq),
            state: state.to_vec(),
        }))
    }

    fn inputs_after(
        &mut self,
        after: u64,
        each: &mut dyn FnMut(Input) -> Result<(), ServeError>,
    ) -> Result<(), ServeError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, kind, key, body FROM inputs WHERE seq > ?1 ORDER BY seq")
            .map_err(err)?;
        let mut rows = stmt.query([sql_seq(after)]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let code: i64 = r.get(2).map_err(err)?;
            let kind = InputKind::of_code(code)
                .ok_or_else(|| ServeError::Store(format!("an input of unknown kind {code}")))?;
            each(Input {
                seq: seq(r.get(0).map_err(err)?),
                at: from_micros(r.get(1).map_err(err)?)?,
                kind,
                key: r.get(3).map_err(err)?,
                body: r.get(4).map_err(err)?,
            })?;
        }
        Ok(())
    }

    fn commit(&mut self, batch: &Batch) -> Result<(), ServeError> {
        let tx = self.conn.transaction().map_err(err)?;
        for i in &batch.inputs {
            insert_input(&tx, i).map_err(err)?;
        }
        for e in &batch.effects {
            insert_effect(&tx, e).map_err(err)?;
        }
        for s in &batch.sends {
            insert_send(&tx, s).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), ServeError> {
        let mut tmp = self.snapshot.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(&snapshot.input.to_le_bytes())?;
            f.write_all(&snapshot.state)?;
            f.sync_all()
        });
        written
            .and_then(|()| std::fs::rename(&tmp, &self.snapshot))
            .map_err(|e| snapshot_error(&self.snapshot, &e))?;
        // The rename itself is durable once the directory is synced.
        if let Some(dir) = self.snapshot.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    fn checkpoint(&mut self) -> Result<(), ServeError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(err)
    }

    fn due(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Pending>, ServeError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, key, body, attempts FROM outbox \
                 WHERE status = 0 AND next_at <= ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(
                params![micros(now), i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| {
                    Ok(Pending {
                        seq: seq(r.get(0)?),
                        key: r.get(1)?,
                        body: r.get(2)?,
                        attempts: u32::try_from(r.get::<_, i64>(3)?).unwrap_or(u32::MAX),
                    })
                },
            )
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    fn next_retry(&mut self) -> Result<Option<DateTime<Utc>>, ServeError> {
        let m: Option<i64> = self
            .conn
            .query_row(
                "SELECT min(next_at) FROM outbox WHERE status = 0",
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        m.map(from_micros).transpose()
    }

    fn record(&mut self, outcomes: &[(u64, Delivery)]) -> Result<(), ServeError> {
        let tx = self.conn.transaction().map_err(err)?;
        for (s, outcome) in outcomes {
            let s = sql_seq(*s);
            match outcome {
                Delivery::Delivered => tx
                    .prepare_cached(
                        "UPDATE outbox SET status = 1, attempts = attempts + 1, error = NULL WHERE seq = ?1",
                    )
                    .and_then(|mut st| st.execute([s])),
                Delivery::Retry { retry_at, error } => tx
                    .prepare_cached(
                        "UPDATE outbox SET attempts = attempts + 1, next_at = ?2, error = ?3 WHERE seq = ?1",
                    )
                    .and_then(|mut st| st.execute(params![s, micros(*retry_at), error])),
                Delivery::Dead { error } => tx
                    .prepare_cached(
                        "UPDATE outbox SET status = 2, attempts = attempts + 1, error = ?2 WHERE seq = ?1",
                    )
                    .and_then(|mut st| st.execute(params![s, error])),
            }
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    fn outbox_counts(&mut self) -> Result<OutboxCounts, ServeError> {
        let mut counts = OutboxCounts::default();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status, count(*) FROM outbox GROUP BY status")
            .map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let n = seq(r.get(1).map_err(err)?);
            match r.get::<_, i64>(0).map_err(err)? {
                0 => counts.pending = n,
                1 => counts.delivered = n,
                _ => counts.dead += n,
            }
        }
        Ok(counts)
    }

    fn dead_letters(&mut self, limit: usize) -> Result<Vec<DeadLetter>, ServeError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT key, attempts, coalesce(error, ''), body FROM outbox \
                 WHERE status = 2 ORDER BY seq DESC LIMIT ?1",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                let body: String = r.get(3)?;
                Ok(DeadLetter {
                    key: r.get(0)?,
                    attempts: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                    error: r.get(2)?,
                    send: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
                })
            })
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn input(seq: u64) -> Input {
        Input {
            seq,
            at: at("2027-01-26T00:00:00Z"),
            kind: InputKind::Event,
            key: Some(format!("e{seq}")),
            body: format!(r#"{{"id":"e{seq}"}}"#),
        }
    }

    #[test]
    fn a_batch_is_written_whole_and_read_back_in_order() {
        let dir = tempdir();
        let path = dir.join("camp.db");
        let mut store = SqliteStore::open(&path).unwrap();
        store.bind("abc", "c").unwrap();
        store.bind("abc", "c").unwrap();
        let batch = Batch {
            inputs: vec![input(1), input(2)],
            effects: vec![EffectRow {
                seq: 1,
                input: 2,
                kind: "send",
                user: Some("u1".into()),
                body: "{}".into(),
            }],
            sends: vec![SendRow {
                seq: 1,
                key: "k1".into(),
                body: r#"{"key":"k1"}"#.into(),
            }],
        };
        store.commit(&batch).unwrap();
        // The same rows again: the transaction fails whole and the log is unchanged.
        assert!(store.commit(&batch).is_err());
        assert_eq!(
            store.heads().unwrap(),
            Heads {
                input: 2,
                effect: 1
            }
        );
        let mut seen = Vec::new();
        store
            .inputs_after(1, &mut |i| {
                seen.push(i);
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, vec![input(2)]);
        drop(store);
        // Reopened: the schema is not migrated twice, and another plan is refused.
        let mut store = SqliteStore::open(&path).unwrap();
        assert!(matches!(
            store.bind("other", "c"),
            Err(ServeError::Store(_))
        ));
        assert_eq!(store.heads().unwrap().input, 2);
    }

    #[test]
    fn the_outbox_retries_and_gives_up() {
        let dir = tempdir();
        let mut store = SqliteStore::open(&dir.join("camp.db")).unwrap();
        let sends = (1..=3)
            .map(|s| SendRow {
                seq: s,
                key: format!("k{s}"),
                body: format!(r#"{{"key":"k{s}"}}"#),
            })
            .collect();
        store
            .commit(&Batch {
                inputs: vec![input(1)],
                effects: Vec::new(),
                sends,
            })
            .unwrap();
        let now = at("2027-01-26T00:00:00Z");
        assert_eq!(store.due(now, 10).unwrap().len(), 3);
        store
            .record(&[
                (1, Delivery::Delivered),
                (
                    2,
                    Delivery::Retry {
                        retry_at: at("2027-01-26T00:00:10Z"),
                        error: "503".into(),
                    },
                ),
                (
                    3,
                    Delivery::Dead {
                        error: "400".into(),
                    },
                ),
            ])
            .unwrap();
        assert!(store.due(now, 10).unwrap().is_empty());
        assert_eq!(
            store.next_retry().unwrap(),
            Some(at("2027-01-26T00:00:10Z"))
        );
        let later = store.due(at("2027-01-26T00:00:10Z"), 10).unwrap();
        assert_eq!(later.len(), 1);
        assert_eq!(later.first().map(|p| p.attempts), Some(1));
        assert_eq!(
            store.outbox_counts().unwrap(),
            OutboxCounts {
                pending: 1,
                delivered: 1,
                dead: 1
            }
        );
        let dead = store.dead_letters(10).unwrap();
        assert_eq!(dead.first().map(|d| d.key.as_str()), Some("k3"));
        assert_eq!(dead.first().map(|d| d.error.as_str()), Some("400"));
    }

    #[test]
    fn the_newest_snapshot_replaces_older_ones() {
        let dir = tempdir();
        let mut store = SqliteStore::open(&dir.join("camp.db")).unwrap();
        assert_eq!(store.snapshot().unwrap(), None);
        for n in [5, 9] {
            store
                .save_snapshot(&Snapshot {
                    input: n,
                    state: vec![n as u8],
                })
                .unwrap();
        }
        assert_eq!(
            store.snapshot().unwrap(),
            Some(Snapshot {
                input: 9,
                state: vec![9]
            })
        );
    }

    /// A fresh directory under the target directory (no tempfile dependency).
    fn tempdir() -> std::path::PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "camp-store-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
