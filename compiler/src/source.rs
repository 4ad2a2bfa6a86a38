//! The source files of one check: their text, display names and line indexes, and the
//! loader through which they are read (the compiler itself does no I/O).

use camp_dsl::span::{FileId, Span};
use std::path::{Path, PathBuf};

/// Reads source files. The compiler only sees files through this trait, so tests can
/// check campaigns held in memory.
pub trait SourceLoader {
    /// The text of the file at `path`.
    fn load(&self, path: &Path) -> std::io::Result<String>;

    /// A canonical key for `path`, so one file imported twice by different relative
    /// paths is recognised. Defaults to the path itself.
    fn canonical(&self, path: &Path) -> PathBuf {
        path.to_path_buf()
    }
}

/// Loads files from the file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsLoader;

impl SourceLoader for FsLoader {
    fn load(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn canonical(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }
}

/// Serves files held in memory: for tests, fuzzing, benchmarks, and tools that already
/// have the text. Paths are normalised (`a/./b/../c` is `a/c`) without touching the
/// file system, so relative imports resolve as they would on disk.
#[derive(Debug, Default, Clone)]
pub struct MemoryLoader {
    files: std::collections::HashMap<PathBuf, String>,
}

impl MemoryLoader {
    /// An empty loader.
    pub fn new() -> Self {
        Self::default()
    }

    /// A loader holding `files` as (path, text).
    pub fn with(files: &[(&str, &str)]) -> Self {
        let mut loader = MemoryLoader::new();
        for (path, text) in files {
            loader.insert(path, *text);
        }
        loader
    }

    /// Adds or replaces one file.
    pub fn insert(&mut self, path: impl AsRef<Path>, text: impl Into<String>) {
        self.files.insert(normalise(path.as_ref()), text.into());
    }
}

/// `a/./b/../c` → `a/c`, lexically.
fn normalise(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl SourceLoader for MemoryLoader {
    fn load(&self, path: &Path) -> std::io::Result<String> {
        self.files
            .get(&normalise(path))
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }

    fn canonical(&self, path: &Path) -> PathBuf {
        normalise(path)
    }
}

/// One loaded source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as it should be shown to the user.
    pub name: String,
    /// The path used to load it.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    line_starts: Vec<u32>,
}

impl SourceFile {
    /// A file with its line index.
    pub fn new(name: String, path: PathBuf, text: String) -> Self {
        let mut line_starts = vec![0u32];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
            }
        }
        SourceFile {
            name,
            path,
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset. A byte-order mark at
    /// the start of the file is not a column: editors do not show it.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let mut start = self.line_starts.get(line - 1).copied().unwrap_or(0) as usize;
        let end = (offset as usize).min(self.text.len());
        if line == 1 && self.text.starts_with(BOM) && end >= BOM.len_utf8() {
            start = BOM.len_utf8();
        }
        let col = self
            .text
            .get(start..end)
            .map_or(end.saturating_sub(start), |s| s.chars().count());
        (line, col + 1)
    }

    /// The text of a span (empty when out of range).
    pub fn slice(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }
}

/// The byte-order mark some editors write at the start of a UTF-8 file.
const BOM: char = '\u{FEFF}';

/// Every file of one check, indexed by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Adds a file and returns its id.
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX))
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// All files with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }

    /// The display name of a file.
    pub fn name(&self, id: FileId) -> &str {
        self.get(id).map_or("<unknown>", |f| f.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let f = SourceFile::new("a".into(), "a".into(), "ab\n新春x\n".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(9), (2, 3));
        assert_eq!(f.line_col(11), (3, 1));
    }

    #[test]
    fn a_byte_order_mark_is_not_a_column() {
        let f = SourceFile::new("a".into(), "a".into(), "\u{FEFF}ab\ncd".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (1, 1));
        assert_eq!(f.line_col(4), (1, 2));
        assert_eq!(f.line_col(6), (2, 1));
        let plain = SourceFile::new("a".into(), "a".into(), "x\u{FEFF}b".into());
        assert_eq!(plain.line_col(4), (1, 3));
    }
}
