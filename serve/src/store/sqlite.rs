//! The default [`Store`]: one SQLite file in WAL mode, `synchronous = FULL` (a commit
//! survives a power cut, not only a crash). Every table is keyed by a sequence number
//! the daemon assigns, so writes append to the right edge of each B-tree.
//!
//! The snapshot lives beside the database, in `<db>.snapshot`, replaced atomically
//! (write, fsync, rename): writing tens of megabytes into the database would hold its
//! write lock, and every commit, for as long. It is only a shortcut: without it the
//! state is rebuilt from the whole log. So it carries what it takes to tell it can be
//! trusted (see [`SnapshotHeader`]); one that cannot is set aside.
//!
//! A store knows who it is: a random id made when it is created (snapshots name it, so
//! another store's snapshot is never applied), and the campaign's seed (§13.6), made
//! at random then too unless one is given.

use super::{
    Batch, DeadLetter, Delivery, EffectRow, Heads, Input, InputKind, OutboxCounts, Pending,
    SendRow, Snapshot, SnapshotRead, StateWriter, Store,
};
use crate::ServeError;
use camp_engine::random::Seed;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The schema, one script per version; `PRAGMA user_version` says how many have run.
const MIGRATIONS: &[&str] = &[
    r#"
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
"#,
    r#"
-- The ledger's counts after a group commit, on the group's last input: a row the
-- commit writes anyway, so keeping them costs no page of its own.
ALTER TABLE inputs ADD COLUMN tally TEXT;
"#,
];

/// A campaign's store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    snapshot: PathBuf,
    /// The store's id, once it has one (see [`SqliteStore::bind`]).
    id: Option<[u8; 16]>,
}

/// What a snapshot file starts with. The state follows it; the checksum covers the
/// header's other fields and the state, so one flipped bit anywhere is caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SnapshotHeader {
    /// The store it was taken of.
    store: [u8; 16],
    /// The last input it includes.
    input: u64,
    /// A hash of that input's row (its time, kind, key and body): a log that went back
    /// and was written again under the same numbers no longer matches.
    input_hash: u64,
    /// The state's length in bytes.
    length: u64,
    /// XXH3-128 of the fields above and of the state's own XXH3-128.
    checksum: u128,
}

/// The first bytes of every snapshot file.
const SNAPSHOT_MAGIC: &[u8; 8] = b"CAMPSNAP";
/// The snapshot format this camp writes and reads.
const SNAPSHOT_VERSION: u32 = 1;
/// The header's size: magic, version, store, input, input hash, length, checksum.
const SNAPSHOT_HEADER: usize = 8 + 4 + 16 + 8 + 8 + 8 + 16;

impl SnapshotHeader {
    /// The fields the checksum covers, as written.
    fn covered(&self) -> [u8; 4 + 16 + 8 + 8 + 8] {
        let mut b = [0u8; 44];
        let fields = SNAPSHOT_VERSION
            .to_le_bytes()
            .into_iter()
            .chain(self.store)
            .chain(self.input.to_le_bytes())
            .chain(self.input_hash.to_le_bytes())
            .chain(self.length.to_le_bytes());
        for (slot, byte) in b.iter_mut().zip(fields) {
            *slot = byte;
        }
        b
    }

    /// The checksum of this header's fields with a state hashing to `state`.
    fn sum(&self, state: u128) -> u128 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&self.covered());
        h.update(&state.to_le_bytes());
        h.digest128()
    }

    fn bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(SNAPSHOT_HEADER);
        b.extend_from_slice(SNAPSHOT_MAGIC);
        b.extend_from_slice(&self.covered());
        b.extend_from_slice(&self.checksum.to_le_bytes());
        b
    }

    /// Reads a header, or says why the bytes are not a snapshot this camp can use.
    fn read(bytes: &[u8]) -> Result<(SnapshotHeader, &[u8]), String> {
        let (head, state) = bytes
            .split_at_checked(SNAPSHOT_HEADER)
            .ok_or_else(|| format!("it is truncated ({} bytes)", bytes.len()))?;
        let mut r = Fields(head);
        if r.take::<8>() != Some(*SNAPSHOT_MAGIC) {
            return Err("it is not a camp snapshot".into());
        }
        let version = r.take::<4>().map(u32::from_le_bytes);
        if version != Some(SNAPSHOT_VERSION) {
            return Err(format!(
                "it is snapshot format {}, this camp reads format {SNAPSHOT_VERSION}",
                version.unwrap_or(0)
            ));
        }
        let header = (|| {
            Some(SnapshotHeader {
                store: r.take::<16>()?,
                input: u64::from_le_bytes(r.take::<8>()?),
                input_hash: u64::from_le_bytes(r.take::<8>()?),
                length: u64::from_le_bytes(r.take::<8>()?),
                checksum: u128::from_le_bytes(r.take::<16>()?),
            })
        })()
        .ok_or_else(|| "its header is truncated".to_string())?;
        if u64::try_from(state.len()).ok() != Some(header.length) {
            return Err(format!(
                "it is truncated: {} bytes of state, {} expected",
                state.len(),
                header.length
            ));
        }
        if header.sum(xxhash_rust::xxh3::xxh3_128(state)) != header.checksum {
            return Err("its checksum does not match: it is damaged".into());
        }
        Ok((header, state))
    }
}

/// Fixed-size fields read off the front of a byte slice.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
}

/// A writer that hashes what goes through it and counts it.
struct Hashing<W> {
    inner: W,
    hash: xxhash_rust::xxh3::Xxh3,
    length: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let written = buf.get(..n).unwrap_or(buf);
        self.hash.update(written);
        self.length += u64::try_from(n).unwrap_or(u64::MAX);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The one-daemon-per-store lock: an advisory lock on the database file itself, so a
/// symlink or a hard link to the same file is the same lock. Released when dropped,
/// or when the process ends however it ends.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if text.len() != 2 * N {
        return None;
    }
    for (o, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// `N` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ServeError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b)
        .map_err(|e| ServeError::Store(format!("no randomness from the system: {e}")))?;
    Ok(b)
}

/// Reads the seed of the store at `path` without changing anything and without the
/// daemon's lock (`camp seed`): a read-only connection, safe while the daemon runs.
pub fn read_seed(path: &Path) -> Result<Seed, ServeError> {
    if !path.exists() {
        return Err(ServeError::Store(format!(
            "there is no store at {}",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| ServeError::Store(format!("cannot open the store {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(err)?;
    let hex: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'seed'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| ServeError::Store(format!("{} is not a camp store: {e}", path.display())))?;
    let hex = hex.ok_or_else(|| {
        ServeError::Store(format!(
            "the store {} has no seed yet (camp serve makes it when it first opens the store)",
            path.display()
        ))
    })?;
    Seed::from_hex(&hex)
        .ok_or_else(|| ServeError::Store(format!("the seed kept in {} is damaged", path.display())))
}

fn err(e: rusqlite::Error) -> ServeError {
    ServeError::Store(e.to_string())
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
            id: None,
        };
        store.migrate()?;
        store.id = store.meta("store_id")?.as_deref().and_then(unhex::<16>);
        Ok(store)
    }

    /// Takes the one-daemon-per-store lock on the database file at `path` (creating
    /// it, empty, if missing: SQLite makes an empty file a new database).
    pub fn lock(path: &Path) -> Result<StoreLock, ServeError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| ServeError::Store(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(StoreLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(ServeError::Store(format!(
                "another camp serve is running on {} (or on a link to the same file)",
                path.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(ServeError::Store(format!(
                "cannot lock {}: {e}",
                path.display()
            ))),
        }
    }

    /// Reads every page of the database (`PRAGMA quick_check`): a damaged page is
    /// found now, with a clear message, not in the middle of a replay.
    pub fn check(&self, path: &Path) -> Result<(), ServeError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA quick_check(5)")
            .map_err(|e| damaged(path, &e.to_string()))?;
        let found: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| damaged(path, &e.to_string()))?;
        match found.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            problems => Err(damaged(path, &problems.join("; "))),
        }
    }

    /// Binds a store to its plan and gives it its identity, the first time; checks
    /// them every time after. Returns the campaign's seed: the store's own, else the
    /// one `given` (`--seed-file`), else a random one, kept from then on. A store made
    /// before stores kept a seed, and that has inputs, keeps the seed it ran with (the
    /// plan's). A `given` seed different from the store's is refused.
    pub fn bind(
        &mut self,
        plan_hash: &str,
        campaign: &str,
        given: Option<&Seed>,
    ) -> Result<Seed, ServeError> {
        match self.meta("plan_hash")? {
            Some(h) if h != plan_hash => {
                return Err(ServeError::Store(format!(
                    "this store belongs to another version of the campaign (plan {h}, not {plan_hash}); \
                     a running campaign's plan cannot change under its store: use a new --db"
                )))
            }
            _ => {}
        }
        let kept = match self.meta("seed")? {
            Some(hex) => Some(Seed::from_hex(&hex).ok_or_else(|| {
                ServeError::Store("the seed kept in the store is damaged".into())
            })?),
            None => None,
        };
        if let (Some(kept), Some(given)) = (&kept, given) {
            if kept != given {
                return Err(ServeError::Store(format!(
                    "--seed-file gives a different seed from the one this store was created with \
                     (seed_sha256 {}); a store keeps its seed for good: drop --seed-file, or use a new --db",
                    kept.sha256_hex()
                )));
            }
        }
        let has_inputs: bool = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM inputs)", [], |r| r.get(0))
            .map_err(err)?;
        let seed = match (kept.clone(), given) {
            (Some(seed), _) => seed,
            (None, Some(given)) if !has_inputs => given.clone(),
            (None, Some(_)) => {
                return Err(ServeError::Store(
                    "this store already ran without a kept seed (with the plan's); --seed-file cannot change it".into(),
                ))
            }
            (None, None) if has_inputs => {
                // What it ran with: `Engine::new`'s default.
                let mut h = sha2::Sha256::default();
                sha2::Digest::update(&mut h, b"camp default seed\0");
                sha2::Digest::update(&mut h, plan_hash.as_bytes());
                Seed::from_bytes(sha2::Digest::finalize(h).into())
            }
            (None, None) => Seed::from_bytes(random_bytes::<32>()?),
        };
        let id = match self.id {
            Some(id) => id,
            None => random_bytes::<16>()?,
        };
        let tx = self.conn.transaction().map_err(err)?;
        for (key, value) in [
            ("plan_hash", plan_hash.to_string()),
            ("campaign", campaign.to_string()),
            ("seed", seed.hex()),
            ("store_id", hex(&id)),
        ] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                params![key, value],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        self.id = Some(id);
        Ok(seed)
    }

    /// The store's id as hex, once it is bound.
    pub fn id(&self) -> Option<String> {
        self.id.map(|id| hex(&id))
    }

    /// A hash of input `seq`'s row, if the log has it.
    fn input_hash(&self, seq: u64) -> Result<Option<u64>, ServeError> {
        self.conn
            .query_row(
                "SELECT at, kind, coalesce(key, ''), body FROM inputs WHERE seq = ?1",
                [sql_seq(seq)],
                |r| {
                    let mut h = xxhash_rust::xxh3::Xxh3::new();
                    h.update(&seq.to_le_bytes());
                    h.update(&r.get::<_, i64>(0)?.to_le_bytes());
                    h.update(&r.get::<_, i64>(1)?.to_le_bytes());
                    let key: String = r.get(2)?;
                    h.update(&(key.len() as u64).to_le_bytes());
                    h.update(key.as_bytes());
                    h.update(r.get_ref(3)?.as_bytes().unwrap_or_default());
                    Ok(h.digest())
                },
            )
            .optional()
            .map_err(err)
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

fn insert_input(
    tx: &rusqlite::Transaction<'_>,
    i: &Input,
    tally: Option<&str>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO inputs (seq, at, kind, key, body, tally) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        sql_seq(i.seq),
        micros(i.at),
        i.kind.code(),
        i.key,
        i.body,
        tally
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

fn damaged(path: &Path, what: &str) -> ServeError {
    ServeError::Store(format!(
        "the store {} is damaged ({what}); nothing was changed. Restore it from a backup \
         (`sqlite3 {} .recover` can save what is still readable)",
        path.display(),
        path.display()
    ))
}

fn insert_send(tx: &rusqlite::Transaction<'_>, s: &SendRow) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO outbox (seq, key, body) VALUES (?1, ?2, ?3)")?
        .execute(params![sql_seq(s.seq), s.key, s.body])?;
    Ok(())
}

impl Store for SqliteStore {
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

    fn snapshot(&mut self) -> Result<SnapshotRead, ServeError> {
        let bytes = match std::fs::read(&self.snapshot) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SnapshotRead::Missing),
            Err(e) => return Ok(SnapshotRead::Unusable(format!("it cannot be read: {e}"))),
        };
        let (header, state) = match SnapshotHeader::read(&bytes) {
            Ok(h) => h,
            Err(why) => return Ok(SnapshotRead::Unusable(why)),
        };
        if Some(header.store) != self.id {
            return Ok(SnapshotRead::Unusable(
                "it was taken of another store".into(),
            ));
        }
        match self.input_hash(header.input)? {
            None => Ok(SnapshotRead::Unusable(format!(
                "it includes input {}, which the log does not have: the log went back \
                 (a database restored from an older backup, or a lost -wal file)",
                header.input
            ))),
            Some(h) if h != header.input_hash => Ok(SnapshotRead::Unusable(format!(
                "input {} in the log is not the one it includes: the log went back and \
                 was written again",
                header.input
            ))),
            Some(_) => Ok(SnapshotRead::Usable(Snapshot {
                input: header.input,
                state: state.to_vec(),
            })),
        }
    }

    fn tally(&mut self) -> Result<Option<String>, ServeError> {
        self.conn
            .query_row(
                "SELECT tally FROM inputs ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(err)
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
        let last = batch.inputs.len().saturating_sub(1);
        for (n, i) in batch.inputs.iter().enumerate() {
            let tally = batch.tally.as_deref().filter(|_| n == last);
            insert_input(&tx, i, tally).map_err(err)?;
        }
        for e in &batch.effects {
            insert_effect(&tx, e).map_err(err)?;
        }
        for s in &batch.sends {
            insert_send(&tx, s).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    fn save_snapshot(
        &mut self,
        input: u64,
        write: &mut StateWriter<'_>,
    ) -> Result<u64, ServeError> {
        let store = self
            .id
            .ok_or_else(|| ServeError::Store("the store has no id yet".into()))?;
        let input_hash = self
            .input_hash(input)?
            .ok_or_else(|| ServeError::Store(format!("input {input} is not in the log")))?;
        let mut tmp = self.snapshot.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let fail =
            |e: String| ServeError::Store(format!("snapshot {}: {e}", self.snapshot.display()));
        // The header first with a blank checksum, then the state streamed through the
        // hash (never a second copy of it in memory), then the header again, complete.
        let mut file = File::create(&tmp).map_err(|e| fail(e.to_string()))?;
        file.write_all(&[0u8; SNAPSHOT_HEADER])
            .map_err(|e| fail(e.to_string()))?;
        let mut sink = BufWriter::with_capacity(
            1 << 20,
            Hashing {
                inner: file,
                hash: xxhash_rust::xxh3::Xxh3::new(),
                length: 0,
            },
        );
        write(&mut sink).map_err(fail)?;
        let Hashing {
            inner: mut file,
            hash,
            length,
        } = sink.into_inner().map_err(|e| fail(e.error().to_string()))?;
        let mut header = SnapshotHeader {
            store,
            input,
            input_hash,
            length,
            checksum: 0,
        };
        header.checksum = header.sum(hash.digest128());
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&header.bytes()))
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &self.snapshot))
            .map_err(|e| fail(e.to_string()))?;
        // The rename itself is durable once the directory is synced.
        if let Some(dir) = self.snapshot.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(SNAPSHOT_HEADER as u64 + length)
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
        let seed = store.bind("abc", "c", None).unwrap();
        assert_eq!(
            store.bind("abc", "c", None).unwrap(),
            seed,
            "a store keeps its seed"
        );
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
            tally: None,
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
            store.bind("other", "c", None),
            Err(ServeError::Store(_))
        ));
        assert_eq!(store.bind("abc", "c", Some(&seed)).unwrap(), seed);
        let other = Seed::from_bytes([7; 32]);
        let refused = store
            .bind("abc", "c", Some(&other))
            .unwrap_err()
            .to_string();
        assert!(refused.contains("different seed"), "{refused}");
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
                tally: None,
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

    fn state(n: u8) -> impl FnMut(&mut dyn Write) -> Result<(), String> {
        move |w| w.write_all(&[n; 100]).map_err(|e| e.to_string())
    }

    /// A bound store with inputs 1 to 9.
    fn bound(dir: &Path) -> SqliteStore {
        let mut store = SqliteStore::open(&dir.join("camp.db")).unwrap();
        store.bind("abc", "c", None).unwrap();
        store
            .commit(&Batch {
                inputs: (1..=9).map(input).collect(),
                ..Batch::default()
            })
            .unwrap();
        store
    }

    fn unusable(store: &mut SqliteStore) -> String {
        match store.snapshot().unwrap() {
            SnapshotRead::Unusable(why) => why,
            other => panic!("the snapshot was taken: {other:?}"),
        }
    }

    #[test]
    fn the_newest_snapshot_replaces_older_ones() {
        let dir = tempdir();
        let mut store = bound(&dir);
        assert_eq!(store.snapshot().unwrap(), SnapshotRead::Missing);
        for n in [5, 9] {
            let bytes = store.save_snapshot(n, &mut state(n as u8)).unwrap();
            assert_eq!(bytes, SNAPSHOT_HEADER as u64 + 100);
        }
        assert_eq!(
            store.snapshot().unwrap(),
            SnapshotRead::Usable(Snapshot {
                input: 9,
                state: vec![9; 100]
            })
        );
    }

    #[test]
    fn a_snapshot_with_any_byte_changed_or_cut_is_set_aside() {
        let dir = tempdir();
        let mut store = bound(&dir);
        store.save_snapshot(9, &mut state(1)).unwrap();
        let path = dir.join("camp.db.snapshot");
        let good = std::fs::read(&path).unwrap();
        // One bit flipped anywhere: in the magic, the version, the store, the input,
        // its hash, the length, the checksum, the state.
        for at in [0, 9, 20, 30, 40, 50, 60, 70, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x04;
            std::fs::write(&path, &bad).unwrap();
            let why = unusable(&mut store);
            assert!(!why.is_empty(), "byte {at}");
        }
        for cut in [0, 7, SNAPSHOT_HEADER - 1, SNAPSHOT_HEADER, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(unusable(&mut store).contains("truncated"), "cut at {cut}");
        }
        std::fs::write(&path, &good).unwrap();
        assert!(matches!(store.snapshot().unwrap(), SnapshotRead::Usable(_)));
    }

    #[test]
    fn another_stores_snapshot_is_set_aside() {
        let (a, b) = (tempdir(), tempdir());
        let mut store_a = bound(&a);
        let mut store_b = bound(&b);
        assert_ne!(store_a.id(), store_b.id());
        store_a.save_snapshot(9, &mut state(1)).unwrap();
        std::fs::copy(a.join("camp.db.snapshot"), b.join("camp.db.snapshot")).unwrap();
        assert!(unusable(&mut store_b).contains("another store"));
    }

    #[test]
    fn a_snapshot_past_the_log_or_of_a_rewritten_log_is_set_aside() {
        let dir = tempdir();
        let mut store = bound(&dir);
        store.save_snapshot(9, &mut state(1)).unwrap();
        store
            .conn
            .execute("DELETE FROM inputs WHERE seq > 4", [])
            .unwrap();
        assert!(unusable(&mut store).contains("does not have"));
        let mut other = input(9);
        other.body = r#"{"id":"another"}"#.into();
        store
            .commit(&Batch {
                inputs: (5..=8).map(input).chain([other]).collect(),
                ..Batch::default()
            })
            .unwrap();
        assert!(unusable(&mut store).contains("written again"));
    }

    #[test]
    fn a_damaged_page_is_found_at_the_start() {
        let dir = tempdir();
        let path = dir.join("camp.db");
        let mut store = bound(&dir);
        store
            .commit(&Batch {
                inputs: (10..=400).map(input).collect(),
                ..Batch::default()
            })
            .unwrap();
        store.checkpoint().unwrap();
        store.check(&path).unwrap();
        drop(store);
        let mut bytes = std::fs::read(&path).unwrap();
        let page = 4096;
        assert!(bytes.len() > 4 * page);
        for b in &mut bytes[2 * page + 8..3 * page] {
            *b = 0x55;
        }
        std::fs::write(&path, bytes).unwrap();
        let store = SqliteStore::open(&path).unwrap();
        let refused = store.check(&path).unwrap_err().to_string();
        assert!(refused.contains("is damaged"), "{refused}");
    }

    #[test]
    fn the_lock_is_on_the_file_whatever_its_name() {
        let dir = tempdir();
        let path = dir.join("camp.db");
        let held = SqliteStore::lock(&path).unwrap();
        std::os::unix::fs::symlink(&path, dir.join("sym.db")).unwrap();
        std::fs::hard_link(&path, dir.join("hard.db")).unwrap();
        for other in ["camp.db", "sym.db", "hard.db"] {
            let refused = SqliteStore::lock(&dir.join(other)).unwrap_err().to_string();
            assert!(refused.contains("another camp serve"), "{other}: {refused}");
        }
        drop(held);
        SqliteStore::lock(&dir.join("hard.db")).unwrap();
    }

    #[test]
    fn the_seed_is_read_back_without_the_lock() {
        let dir = tempdir();
        let path = dir.join("camp.db");
        let _held = SqliteStore::lock(&path).unwrap();
        let given = Seed::from_bytes([3; 32]);
        let seed = SqliteStore::open(&path)
            .unwrap()
            .bind("abc", "c", Some(&given))
            .unwrap();
        assert_eq!(seed, given);
        assert_eq!(read_seed(&path).unwrap(), given);
        assert!(read_seed(&dir.join("none.db")).is_err());
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
