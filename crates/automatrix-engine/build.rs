//! Embeds the built-in templates (`templates/*.json` at the workspace root) in the engine:
//! generates `BUILTIN_TEMPLATES`, one `(file name, text)` per file, sorted by name.

use std::path::Path;
use std::{env, fs};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from(
        "/// The built-in templates: `(file name, JSON text)`, by file name.\n\
         pub const BUILTIN_TEMPLATES: &[crate::TemplateFile] = &[\n",
    );
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 file name");
        let full = path.canonicalize().expect("a readable template file");
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            full.display().to_string()
        ));
    }
    out.push_str("];\n");
    let target = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("builtin_templates.rs");
    fs::write(target, out).expect("writing builtin_templates.rs");
}
