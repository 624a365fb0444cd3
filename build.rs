use std::fmt::Write as _;
use std::path::Path;

fn main() {
    slint_build::compile_with_config(
        "ui/app.slint",
        slint_build::CompilerConfiguration::new()
            .with_style("fluent".into())
            .embed_resources(slint_build::EmbedResourcesKind::EmbedFiles)
            // zh and en .po files are compiled into the binary; the UI switches at run time.
            .with_bundled_translations("ui/translations")
            .with_default_translation_context(slint_build::DefaultTranslationContext::None)
            // Element debug info: the UI tests find elements by accessible label.
            .with_debug_info(true),
    )
    .expect("ui/app.slint must compile");
    embed_replay_frames();
}

/// Lists `assets/frames/demo/*.jpg` into `$OUT_DIR/builtin_frames.rs`, so the default
/// camera (`replay:builtin`) works with no camera and no files beside the binary.
fn embed_replay_frames() {
    // The manifest dir at run time: `env!` would bake in where this script was compiled,
    // and a build script shared between checkouts (one target dir) then lists another
    // tree's frames, or none once that tree is gone.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("assets/frames/demo");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "jpg"));
    // The default camera would deliver nothing: fail the build, not every session.
    assert!(!files.is_empty(), "no replay frames in {}", dir.display());
    files.sort();
    let mut out = String::from("&[\n");
    for f in files {
        writeln!(out, "    include_bytes!({:?}),", f.display().to_string()).unwrap();
    }
    out.push(']');
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin_frames.rs");
    std::fs::write(dest, out).unwrap();
}
