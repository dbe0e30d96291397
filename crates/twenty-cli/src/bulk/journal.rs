//! The import journal: what a killed import had done, so that `--resume`
//! finishes it with every row created exactly once.
//!
//! The journal is a JSON-lines file next to the input (`<FILE>.journal`),
//! only ever appended to. Before a batch is sent, a line records its rows
//! and the record ids chosen for them; when its answer has come back, a
//! second line records which rows were created and which the server
//! refused. A process killed at any moment leaves at worst a torn last
//! line, which is ignored: the write that tore never finished, so the
//! request it announced was never sent. On resume, finished batches are
//! skipped and unfinished ones are settled by reading their ids back,
//! because the same ids are sent again and the server refuses an id it
//! already holds. That reading needs every journaled id to be the job's
//! own: an id a row brought is looked up before its batch is journaled, and
//! a row whose id exists is only named in the batch's outcome, as rejected.
//!
//! A job holds an exclusive lock on its journal from the moment it opens it
//! until it ends, so a second run on a live journal is refused instead of
//! sending the same batches again beside it. The operating system drops the
//! lock of a process that dies, however it dies, so a killed job's journal
//! can be resumed at once.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Identifies the job a journal belongs to, so that a resume against a
/// changed file or another object is refused instead of mixing rows up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `twenty-import`, to recognise the file.
    pub journal: String,
    /// Plural name of the object imported into.
    pub object: String,
    /// Size of the input file in bytes.
    pub bytes: u64,
    /// FNV-1a hash of the input file, in hex.
    pub hash: String,
    /// The `--update-by` path, if any, since it changes which rows are
    /// created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_by: Option<String>,
}

impl Header {
    /// The header for importing `input` into `object`.
    pub fn new(object: &str, input: &[u8], update_by: Option<&str>) -> Header {
        Header {
            journal: "twenty-import".to_owned(),
            object: object.to_owned(),
            bytes: input.len() as u64,
            hash: format!("{:016x}", fnv1a(input)),
            update_by: update_by.map(str::to_owned),
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// One journal line after the header.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Entry {
    /// A batch about to be sent.
    Sending {
        batch: u64,
        rows: Vec<u64>,
        ids: Vec<String>,
    },
    /// A batch whose answer came back.
    Done {
        done: u64,
        created: Vec<u64>,
        rejected: Vec<Rejection>,
    },
    /// The process that holds the journal now, for a second run to name.
    Owner { pid: u32 },
}

/// A row the server refused, with its message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// Line of the input file.
    pub row: u64,
    /// The server's message.
    pub reason: String,
}

/// A batch as the journal remembers it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRecord {
    /// Input lines of the batch's rows.
    pub rows: Vec<u64>,
    /// The id sent for each row, in the same order.
    pub ids: Vec<String>,
    /// What came of it, when the answer arrived before the process
    /// stopped.
    pub outcome: Option<Outcome>,
}

/// How a finished batch ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// Lines of the rows created.
    pub created: Vec<u64>,
    /// Rows the server refused.
    pub rejected: Vec<Rejection>,
}

/// Everything an earlier run recorded, by batch number.
pub type History = BTreeMap<u64, BatchRecord>;

/// An open journal, appended to from several tasks at once.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

/// Why a journal cannot be used.
#[derive(Debug)]
pub enum JournalError {
    /// The journal could not be read or written.
    Io {
        /// The journal's path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Another process holds the journal: its job is still running.
    Busy {
        /// The journal's path.
        path: PathBuf,
        /// That process, when the journal names it.
        pid: Option<u32>,
    },
    /// A journal exists and `--resume` was not given.
    Exists {
        /// The journal's path.
        path: PathBuf,
    },
    /// `--resume` was given and there is no journal.
    Missing {
        /// The journal's path.
        path: PathBuf,
    },
    /// The journal belongs to another file, object or key.
    Mismatch {
        /// The journal's path.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => {
                write!(
                    f,
                    "failed to use the journal `{}`: {source}",
                    path.display()
                )
            }
            Self::Busy { path, pid } => {
                let pid = pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default();
                write!(
                    f,
                    "another import of `{}` is running{pid}",
                    input_of(path).display()
                )
            }
            Self::Exists { path } => write!(
                f,
                "an unfinished import left the journal `{}`",
                path.display()
            ),
            Self::Missing { path } => {
                write!(
                    f,
                    "nothing to resume: there is no journal `{}`",
                    path.display()
                )
            }
            Self::Mismatch { path, reason } => write!(
                f,
                "the journal `{}` was written for another job ({reason})",
                path.display()
            ),
        }
    }
}

impl JournalError {
    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::Io { .. } => return None,
            Self::Busy { path, .. } => format!(
                "let it finish, or stop it (Ctrl-C) and run the same command with --resume; \
                 its journal is `{}`",
                path.display()
            ),
            Self::Exists { .. } => "run the same command with --resume to finish it, or \
                 delete the journal to start over"
                .to_owned(),
            Self::Missing { .. } => "run the same command without --resume to start".to_owned(),
            Self::Mismatch { .. } => "delete the journal to start over".to_owned(),
        })
    }
}

impl std::error::Error for JournalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `<FILE>.journal`.
pub fn path_for(input: &Path) -> PathBuf {
    let mut name = input.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// The input file a journal at `path` belongs to: [`path_for`] undone.
fn input_of(path: &Path) -> PathBuf {
    let name = path.as_os_str().to_string_lossy();
    PathBuf::from(name.strip_suffix(".journal").unwrap_or(&name))
}

/// How many times a journal is opened again when its owner removed it
/// between our open and our lock, before giving up.
const LOCK_ATTEMPTS: u32 = 3;

/// Opens the journal at `path` (creating it when `create` is set) and
/// takes its lock; returns the file and what it holds.
fn open_locked(path: &Path, create: bool) -> Result<(File, String), JournalError> {
    let io_err = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    for _ in 0..LOCK_ATTEMPTS {
        let opened = OpenOptions::new()
            .read(true)
            .append(true)
            .create(create)
            .open(path);
        let mut file = match opened {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !create => {
                return Err(JournalError::Missing {
                    path: path.to_owned(),
                });
            }
            Err(e) => return Err(io_err(e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(JournalError::Busy {
                    path: path.to_owned(),
                    pid: owner(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        // A job that finishes removes its journal and then lets the lock
        // go: a lock taken in between holds a file nobody else will open,
        // and the path is free for a fresh one.
        if !still_at(&file, path).map_err(io_err)? {
            continue;
        }
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io_err)?;
        return Ok((file, text));
    }
    Err(JournalError::Busy {
        path: path.to_owned(),
        pid: None,
    })
}

/// The process a held journal names as its owner, when it can be read:
/// the owner writes its line just after taking the lock, and some systems
/// (Windows) refuse to read a locked file at all.
fn owner(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.lines()
        .rev()
        .find_map(|line| match serde_json::from_str(line) {
            Ok(Entry::Owner { pid }) => Some(pid),
            _ => None,
        })
}

/// Whether `path` still names the open `file`.
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(named) => Ok(named.dev() == open.dev() && named.ino() == open.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether `path` still names the open `file`. Without inode numbers to
/// compare, a journal still there is taken for ours.
#[cfg(not(unix))]
fn still_at(_file: &File, path: &Path) -> io::Result<bool> {
    path.try_exists()
}

/// Whether `text` holds a whole header line. The header is the first
/// thing a job writes, before any batch: a journal without one was left by
/// a job that died before it sent anything, and counts as no journal.
fn has_header(text: &str) -> bool {
    text.contains('\n')
}

impl Journal {
    /// Starts a new journal at `path`, locked until the journal is
    /// dropped; refuses when another job holds it or left it.
    pub fn create(path: &Path, header: &Header) -> Result<Journal, JournalError> {
        let (file, text) = open_locked(path, true)?;
        if has_header(&text) {
            return Err(JournalError::Exists {
                path: path.to_owned(),
            });
        }
        Journal::start(path, file, header)
    }

    /// Opens the journal an earlier run left, locked until the journal is
    /// dropped, checks it belongs to this job and returns what it
    /// recorded.
    pub fn resume(path: &Path, header: &Header) -> Result<(Journal, History), JournalError> {
        let io_err = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let (file, text) = open_locked(path, false)?;
        if !has_header(&text) {
            return Ok((Journal::start(path, file, header)?, History::new()));
        }
        let mismatch = |reason: String| JournalError::Mismatch {
            path: path.to_owned(),
            reason,
        };

        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        let found: Header = serde_json::from_str(first)
            .map_err(|_| mismatch("its first line is not a journal header".to_owned()))?;
        if found.object != header.object {
            return Err(mismatch(format!("object `{}`", found.object)));
        }
        if found.bytes != header.bytes || found.hash != header.hash {
            return Err(mismatch("the input file has changed since".to_owned()));
        }
        if found.update_by != header.update_by {
            return Err(mismatch("another --update-by".to_owned()));
        }

        let mut history = History::new();
        for line in lines {
            // A torn last line is the only kind a kill leaves; skipping it is
            // right because its request was never sent.
            let Ok(entry) = serde_json::from_str::<Entry>(line) else {
                continue;
            };
            match entry {
                Entry::Sending { batch, rows, ids } if rows.len() == ids.len() => {
                    history.insert(
                        batch,
                        BatchRecord {
                            rows,
                            ids,
                            outcome: None,
                        },
                    );
                }
                Entry::Sending { .. } | Entry::Owner { .. } => {}
                Entry::Done {
                    done,
                    created,
                    rejected,
                } => {
                    if let Some(record) = history.get_mut(&done) {
                        record.outcome = Some(Outcome { created, rejected });
                    }
                }
            }
        }

        let journal = Journal {
            path: path.to_owned(),
            file: Mutex::new(file),
        };
        // A torn last line without a newline would glue itself to the next
        // entry; start on a fresh line.
        if !text.ends_with('\n') {
            journal.write_raw(b"\n").map_err(io_err)?;
        }
        journal.claim().map_err(io_err)?;
        Ok((journal, history))
    }

    /// Writes the header into the locked, header-less `file`.
    fn start(path: &Path, file: File, header: &Header) -> Result<Journal, JournalError> {
        let io_err = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        // What a job that died before its header left is of no use.
        file.set_len(0).map_err(io_err)?;
        let journal = Journal {
            path: path.to_owned(),
            file: Mutex::new(file),
        };
        journal.append(header).map_err(io_err)?;
        journal.claim().map_err(io_err)?;
        Ok(journal)
    }

    /// Names this process as the journal's owner.
    fn claim(&self) -> io::Result<()> {
        self.append(&Entry::Owner {
            pid: std::process::id(),
        })
    }

    /// Records that `rows` are about to be sent with `ids`. Must return
    /// before the request goes out.
    pub fn sending(&self, batch: u64, rows: &[u64], ids: &[String]) -> Result<(), JournalError> {
        self.append(&Entry::Sending {
            batch,
            rows: rows.to_vec(),
            ids: ids.to_vec(),
        })
        .map_err(|source| self.io_error(source))
    }

    /// Records how a batch ended.
    pub fn done(&self, batch: u64, outcome: &Outcome) -> Result<(), JournalError> {
        self.append(&Entry::Done {
            done: batch,
            created: outcome.created.clone(),
            rejected: outcome.rejected.clone(),
        })
        .map_err(|source| self.io_error(source))
    }

    /// Removes the journal once the job is finished. The lock is kept
    /// until the journal is dropped, so no other job takes the file over
    /// before it is gone.
    pub fn finish(&self) -> Result<(), JournalError> {
        std::fs::remove_file(&self.path).map_err(|source| self.io_error(source))
    }

    fn io_error(&self, source: io::Error) -> JournalError {
        JournalError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn append(&self, entry: &impl Serialize) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        self.write_raw(&line)
    }

    /// Writes a whole line in one call, so a kill leaves either the line
    /// or a prefix of it. The page cache keeps the bytes when the process
    /// dies; no fsync, since surviving a power cut is not the goal.
    fn write_raw(&self, bytes: &[u8]) -> io::Result<()> {
        let mut file = self
            .file
            .lock()
            .map_err(|_| io::Error::other("journal lock poisoned"))?;
        file.write_all(bytes)?;
        file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal path for `people.csv` in a folder removed with the guard.
    fn temp() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("people.csv"));
        (dir, path)
    }

    #[test]
    fn resume_reads_batches_and_skips_a_torn_line() {
        let (_dir, path) = temp();
        let header = Header::new("people", b"a,b\n1,2\n", None);
        let journal = Journal::create(&path, &header).unwrap();
        journal
            .sending(0, &[2, 3], &["a".into(), "b".into()])
            .unwrap();
        journal.sending(1, &[4], &["c".into()]).unwrap();
        let outcome = Outcome {
            created: vec![2],
            rejected: vec![Rejection {
                row: 3,
                reason: "Record already exists".into(),
            }],
        };
        journal.done(0, &outcome).unwrap();
        drop(journal);
        // A kill in the middle of a write.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"batch":2,"rows":[5],"id"#).unwrap();
        drop(file);

        let (journal, history) = Journal::resume(&path, &header).unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[&0].outcome.as_ref(), Some(&outcome));
        assert_eq!(history[&1].ids, vec!["c".to_owned()]);
        assert_eq!(history[&1].outcome, None);
        journal.sending(2, &[5], &["d".into()]).unwrap();
        drop(journal);
        let (journal, history) = Journal::resume(&path, &header).unwrap();
        assert_eq!(history[&2].rows, vec![5]);
        journal.finish().unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn a_second_job_is_refused_and_a_changed_file_is_detected() {
        let (_dir, path) = temp();
        let header = Header::new("people", b"x", None);
        let journal = Journal::create(&path, &header).unwrap();
        drop(journal);
        assert!(matches!(
            Journal::create(&path, &header),
            Err(JournalError::Exists { .. })
        ));
        let changed = Header::new("people", b"y", None);
        let err = Journal::resume(&path, &changed).unwrap_err();
        assert!(err.to_string().contains("input file has changed"), "{err}");
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            Journal::resume(&path, &header),
            Err(JournalError::Missing { .. })
        ));
    }

    #[test]
    fn a_held_journal_is_refused_until_its_owner_lets_go() {
        let (dir, path) = temp();
        let header = Header::new("people", b"x", None);
        let journal = Journal::create(&path, &header).unwrap();
        journal.sending(0, &[2], &["a".into()]).unwrap();

        // The lock belongs to the open file, so a second open in this
        // process is refused as one in another process would be.
        let me = std::process::id();
        for err in [
            Journal::create(&path, &header).unwrap_err(),
            Journal::resume(&path, &header).unwrap_err(),
        ] {
            assert!(
                matches!(err, JournalError::Busy { pid: Some(pid), .. } if pid == me),
                "{err:?}"
            );
            let input = dir.path().join("people.csv");
            assert_eq!(
                err.to_string(),
                format!(
                    "another import of `{}` is running (pid {me})",
                    input.display()
                )
            );
            assert!(err.hint().unwrap().contains("--resume"));
        }

        drop(journal);
        let (journal, history) = Journal::resume(&path, &header).unwrap();
        assert_eq!(history[&0].ids, vec!["a".to_owned()]);
        // Finished but not yet dropped: still held.
        journal.finish().unwrap();
        assert!(!path.exists());
        drop(journal);
        assert!(Journal::create(&path, &header).is_ok());
    }

    #[test]
    fn a_journal_without_a_whole_header_counts_as_none() {
        let (_dir, path) = temp();
        let header = Header::new("people", b"x", None);
        // A job killed while it wrote its header had sent nothing.
        for left in ["", r#"{"journal":"twenty-imp"#] {
            std::fs::write(&path, left).unwrap();
            drop(Journal::create(&path, &header).unwrap());
            let (journal, history) = Journal::resume(&path, &header).unwrap();
            assert!(history.is_empty());
            drop(journal);

            std::fs::write(&path, left).unwrap();
            let (journal, history) = Journal::resume(&path, &header).unwrap();
            assert!(history.is_empty());
            journal.sending(0, &[2], &["a".into()]).unwrap();
            drop(journal);
            let (_, history) = Journal::resume(&path, &header).unwrap();
            assert_eq!(history[&0].rows, vec![2], "{left:?}");
        }
    }
}
