//! `baton-vectors`: writes `clients/vectors/*.json` (or the directory given
//! as the first argument) from the scenarios of `baton-conformance`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(baton_conformance::vectors_dir, std::path::PathBuf::from);
    match write(&dir) {
        Ok(n) => {
            println!("wrote {n} vectors to {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("baton-vectors: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(dir: &std::path::Path) -> Result<usize, baton_conformance::GenError> {
    let io = |e: std::io::Error| baton_conformance::GenError::Io(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let all = baton_conformance::generate()?;
    for (v, _) in &all {
        std::fs::write(dir.join(format!("{}.json", v.name)), v.to_text()?).map_err(io)?;
    }
    Ok(all.len())
}
