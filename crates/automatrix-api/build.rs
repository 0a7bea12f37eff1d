//! Embeds the built web UI (`web/dist`, made by `make web`) into the binary: a table of every
//! file with its content type, an ETag (a SHA-256 prefix), and a gzip copy of text files worth
//! compressing. Without a build (a checkout where npm never ran) the table is empty and the
//! server explains how to build the UI; `web/dist` is created empty so that cargo notices when
//! the UI is built later.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let dist = manifest.join("../../web/dist");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    // A missing path would make cargo rerun this script on every build.
    if !dist.exists() {
        let _ = fs::create_dir_all(&dist);
    }
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed=build.rs");

    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    files.sort();

    let gz_dir = out.join("ui-gz");
    let _ = fs::remove_dir_all(&gz_dir);
    fs::create_dir_all(&gz_dir).expect("create OUT_DIR/ui-gz");

    let mut table = String::from("&[\n");
    for (i, rel) in files.iter().enumerate() {
        let abs = dist.join(rel);
        let body = fs::read(&abs).expect("read a web/dist file");
        let etag = hex(&Sha256::digest(&body)[..12]);
        let ctype = content_type(rel);
        let gzip = if compressible(ctype) && body.len() > 1024 {
            let mut enc = GzEncoder::new(Vec::new(), Compression::best());
            enc.write_all(&body).expect("gzip");
            let gz = enc.finish().expect("gzip");
            (gz.len() < body.len() * 9 / 10).then(|| {
                let p = gz_dir.join(format!("{i}.gz"));
                fs::write(&p, gz).expect("write a gzip copy");
                p
            })
        } else {
            None
        };
        let gzip = match gzip {
            Some(p) => format!("Some(include_bytes!({:?}))", p.display().to_string()),
            None => "None".into(),
        };
        writeln!(
            table,
            "    Asset {{ path: {rel:?}, content_type: {ctype:?}, etag: \"\\\"{etag}\\\"\", body: include_bytes!({:?}), gzip: {gzip} }},",
            abs.display().to_string()
        )
        .expect("write to a String");
    }
    table.push(']');
    fs::write(out.join("ui_assets.rs"), table).expect("write ui_assets.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            // Dot files (editor droppings) are not part of the UI.
            if !rel.split('/').any(|s| s.starts_with('.')) {
                files.push(rel);
            }
        }
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

fn compressible(ctype: &str) -> bool {
    ctype.starts_with("text/") || ctype.starts_with("application/json") || ctype == "image/svg+xml"
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
