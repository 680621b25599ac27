//! The wire reference the code cites (`§ 2.1`, `Q21`) is in the repository, and nothing points
//! outside it for it.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" {
                sources(&p, out);
            }
        } else if [".rs", ".md", ".toml", ".sh"]
            .iter()
            .any(|x| name.ends_with(x))
        {
            out.push(p);
        }
    }
}

#[test]
fn the_wire_reference_is_in_the_repository_and_cited_there() {
    let root = workspace();
    let doc =
        std::fs::read_to_string(root.join("docs/wire-protocol.md")).expect("docs/wire-protocol.md");
    assert!(
        doc.contains("Q21"),
        "the reference holds the Q&A the code cites"
    );
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(
        files.len() > 50,
        "the scan saw the workspace ({} files)",
        files.len()
    );
    let outside = ["/work/shared", "shared/messagepro-api", "../shared/"];
    let offenders: Vec<String> = files
        .iter()
        .filter(|p| !p.ends_with("wire_reference.rs"))
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            outside
                .iter()
                .any(|o| text.contains(o))
                .then(|| p.strip_prefix(&root).unwrap_or(p).display().to_string())
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "files citing a path outside the repository: {offenders:?}"
    );
}
