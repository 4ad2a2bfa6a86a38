//! Loading a campaign file and everything it imports, parsing each once.
//! Reports imports that are missing or form a cycle (E0105).

use crate::error::CompileError;
use crate::source::{SourceFile, SourceLoader, SourceMap};
use camp_dsl::ast::{File, ItemKind};
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A campaign file and its imports, parsed.
#[derive(Debug, Clone)]
pub struct Program {
    /// Every file's text.
    pub sources: SourceMap,
    /// The AST of each file, by [`FileId`] index.
    pub files: Vec<File>,
    /// The file named on the command line.
    pub root: FileId,
    /// For each file, the file each of its items imports (by item index).
    pub imports: HashMap<(FileId, usize), FileId>,
    /// Diagnostics from parsing and loading.
    pub diagnostics: Vec<Diagnostic>,
}

impl Program {
    /// The AST of a file.
    pub fn file(&self, id: FileId) -> Option<&File> {
        self.files.get(id.0 as usize)
    }
}

struct Loading<'l> {
    loader: &'l dyn SourceLoader,
    sources: SourceMap,
    files: Vec<File>,
    by_key: HashMap<PathBuf, FileId>,
    stack: Vec<(PathBuf, String)>,
    imports: HashMap<(FileId, usize), FileId>,
    diagnostics: Vec<Diagnostic>,
}

/// Loads `path` and its imports through `loader`. Only an unreadable root file is an
/// error; everything else becomes a diagnostic.
pub fn load(loader: &dyn SourceLoader, path: &Path) -> Result<Program, CompileError> {
    let text = loader.load(path).map_err(|source| CompileError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mut l = Loading {
        loader,
        sources: SourceMap::default(),
        files: Vec::new(),
        by_key: HashMap::new(),
        stack: Vec::new(),
        imports: HashMap::new(),
        diagnostics: Vec::new(),
    };
    let root = l.add(path, path.display().to_string(), text);
    Ok(Program {
        sources: l.sources,
        files: l.files,
        root,
        imports: l.imports,
        diagnostics: l.diagnostics,
    })
}

impl Loading<'_> {
    fn add(&mut self, path: &Path, name: String, text: String) -> FileId {
        let key = self.loader.canonical(path);
        let parsed = camp_dsl::parse(
            &text,
            FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX)),
        );
        let id = self
            .sources
            .add(SourceFile::new(name.clone(), path.to_path_buf(), text));
        self.diagnostics.extend(parsed.diagnostics);
        self.by_key.insert(key.clone(), id);
        let requests: Vec<(usize, String, Loc)> = parsed
            .file
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match &item.kind {
                ItemKind::Import(imp) => {
                    Some((i, imp.path.value.clone(), Loc::new(id, imp.path.span)))
                }
                _ => None,
            })
            .collect();
        self.files.push(parsed.file);
        self.stack.push((key, name.clone()));
        for (index, rel, loc) in requests {
            if let Some(target) = self.import(path, &name, &rel, loc) {
                self.imports.insert((id, index), target);
            }
        }
        self.stack.pop();
        id
    }

    fn import(&mut self, from: &Path, from_name: &str, rel: &str, loc: Loc) -> Option<FileId> {
        let dir = from.parent().unwrap_or(Path::new(""));
        let path = dir.join(rel);
        let name_dir = Path::new(from_name).parent().unwrap_or(Path::new(""));
        let name = name_dir.join(rel).display().to_string();
        let key = self.loader.canonical(&path);
        if let Some(pos) = self.stack.iter().position(|(k, _)| *k == key) {
            let mut chain: Vec<&str> = self
                .stack
                .iter()
                .skip(pos)
                .map(|(_, n)| n.as_str())
                .collect();
            let first = chain.first().copied().unwrap_or(rel);
            chain.push(first);
            let d = Diagnostic::new(
                Code::E0105,
                loc,
                format!("import cycle: {}", chain.join(" → ")),
                "this import closes the cycle",
            )
            .with_help("move the shared definitions into a file that imports neither");
            self.diagnostics.push(d);
            return None;
        }
        if let Some(id) = self.by_key.get(&key) {
            return Some(*id);
        }
        match self.loader.load(&path) {
            Ok(text) => Some(self.add(&path, name, text)),
            Err(e) => {
                let d = Diagnostic::new(
                    Code::E0105,
                    loc,
                    format!("cannot import `{rel}`: {e}"),
                    "imported here",
                )
                .with_help(format!(
                    "the path is relative to this file, so it points at `{}`",
                    path.display()
                ));
                self.diagnostics.push(d);
                None
            }
        }
    }
}
